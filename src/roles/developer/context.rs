//! Choosing what the model sees for a task: the files the task names, files whose paths or
//! top-level definitions match the task's words, their tests, and a compact repository map
//! (paths with their definitions), all fitted to the token budget. Read from the checkout's
//! tree with gix (so `.gitignore`d files never appear); the definition index is cached per tree.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::git::Checkout;
use crate::llm::estimate_tokens;
use crate::vocab::{FileKind, classify};

/// Files larger than this are never scanned for definitions nor shown whole.
const MAX_SCAN_BYTES: u64 = 100 * 1024;
/// At most this many files are scanned for definitions (shallowest paths first).
const MAX_SCANNED: usize = 4000;
const MAX_SYMBOLS: usize = 24;

/// One tracked file of the tree, with its top-level definitions when it was scanned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Indexed {
    pub path: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub symbols: Vec<String>,
}

/// Every regular tracked file of one tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    pub tree: String,
    pub files: Vec<Indexed>,
}

/// Builds (or loads from the checkout's cache, `.git/codex-orchestrator/`) the index of
/// `commit`'s tree. Returns whether it came from the cache.
pub fn index(checkout: &dyn Checkout, commit: &str) -> anyhow::Result<(Index, bool)> {
    let tree = checkout.tree_id(commit)?;
    let cache: Option<PathBuf> = checkout
        .cache_dir()
        .map(|d| d.join(format!("index-{tree}.json")));
    if let Some(cache) = &cache
        && let Ok(bytes) = std::fs::read(cache)
        && let Ok(index) = serde_json::from_slice::<Index>(&bytes)
        && index.tree == tree
    {
        return Ok((index, true));
    }
    let entries = checkout.list_files(commit)?;
    let mut files: Vec<Indexed> = entries
        .iter()
        .filter(|e| e.mode.is_regular() && e.path_is_utf8())
        .map(|e| Indexed {
            path: e.path.clone(),
            size: e.size.unwrap_or(0),
            symbols: Vec::new(),
        })
        .collect();
    let mut scan: Vec<usize> = (0..files.len())
        .filter(|&i| {
            let f = &files[i];
            f.size <= MAX_SCAN_BYTES
                && matches!(classify(&f.path), FileKind::Source | FileKind::Test)
        })
        .collect();
    scan.sort_by_key(|&i| (files[i].path.matches('/').count(), files[i].path.clone()));
    scan.truncate(MAX_SCANNED);
    for i in scan {
        if let Ok(Some(bytes)) = checkout.read_file(commit, &files[i].path)
            && let Ok(text) = std::str::from_utf8(&bytes)
        {
            files[i].symbols = symbols(text);
        }
    }
    let index = Index { tree, files };
    if let Some(cache) = &cache
        && let Some(dir) = cache.parent()
        && std::fs::create_dir_all(dir).is_ok()
        && let Ok(json) = serde_json::to_vec(&index)
    {
        // Written aside and renamed: a concurrent reader sees the old cache or the new one.
        let tmp = cache.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, json).is_ok() {
            let _ = std::fs::rename(&tmp, cache);
        }
    }
    Ok((index, false))
}

const KEYWORDS: &[&str] = &[
    "def",
    "async def",
    "class",
    "fn",
    "pub fn",
    "pub(crate) fn",
    "async fn",
    "pub async fn",
    "struct",
    "pub struct",
    "enum",
    "pub enum",
    "trait",
    "pub trait",
    "impl",
    "mod",
    "pub mod",
    "type",
    "pub type",
    "function",
    "export function",
    "export default function",
    "export async function",
    "export class",
    "export default class",
    "export const",
    "export interface",
    "export type",
    "interface",
    "func",
    "module",
    "const",
    "pub const",
    "public class",
    "public interface",
    "public enum",
    "object",
    "data class",
];

/// Top-level definitions (lines starting at column 0 with a definition keyword).
pub fn symbols(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with([' ', '\t']) || line.is_empty() {
            continue;
        }
        let mut name = None;
        for kw in KEYWORDS {
            if let Some(rest) = line.strip_prefix(kw).and_then(|r| r.strip_prefix(' ')) {
                // Go methods: `func (r *T) Name(`.
                let rest = if *kw == "func" && rest.starts_with('(') {
                    rest.split_once(") ").map_or(rest, |(_, r)| r)
                } else {
                    rest
                };
                let ident: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !ident.is_empty() {
                    name = Some(ident);
                    break;
                }
            }
        }
        if let Some(n) = name
            && !out.contains(&n)
        {
            out.push(n);
            if out.len() >= MAX_SYMBOLS {
                break;
            }
        }
    }
    out
}

const STOPWORDS: &[&str] = &[
    "the", "and", "for", "with", "that", "this", "from", "into", "when", "should", "must", "add",
    "adds", "use", "uses", "are", "not", "its", "all", "any", "can", "has", "have", "new", "one",
    "out", "per", "via", "was", "will", "each", "only", "also", "but", "more", "than", "then",
    "test", "tests", "file", "files", "make", "makes", "return", "returns", "work", "works",
];

/// The words of a text that can match paths and definitions.
pub fn words(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for raw in text.split(|c: char| !c.is_alphanumeric() && c != '_') {
        for w in split_ident(raw) {
            if w.len() >= 3
                && !STOPWORDS.contains(&w.as_str())
                && !w.chars().all(|c| c.is_ascii_digit())
            {
                out.insert(w);
            }
        }
    }
    out
}

/// `parse_config`, `ParseConfig` → `parse`, `config` (and the whole, lowercased).
fn split_ident(raw: &str) -> Vec<String> {
    let mut parts = vec![raw.to_lowercase()];
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in raw.chars() {
        if c == '_' || c == '-' {
            if !cur.is_empty() {
                parts.push(std::mem::take(&mut cur).to_lowercase());
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            parts.push(std::mem::take(&mut cur).to_lowercase());
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.push(c);
    }
    if !cur.is_empty() {
        parts.push(cur.to_lowercase());
    }
    parts.sort();
    parts.dedup();
    parts
}

/// The tokens of a path (components, stems, their identifier parts).
fn path_tokens(path: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for comp in path.split('/') {
        let stem = comp.rsplit_once('.').map_or(comp, |(s, _)| s);
        out.extend(split_ident(stem));
    }
    out
}

/// What the task asks about, as selection input.
pub struct Want<'a> {
    /// Title, acceptance criteria and body, joined.
    pub text: String,
    /// Paths (or folders) the task names in `files:`.
    pub named: &'a [String],
    /// The task folder (`tasks.dir`): its files other than `own_task` describe other tasks and
    /// are never shown nor listed, whatever words they share with this one.
    pub tasks_dir: &'a str,
    /// This task's own file: listed in the map, shown only when the task names it (the prompt
    /// holds its text already).
    pub own_task: &'a str,
}

impl Want<'_> {
    /// Whether `path` is another task's file.
    fn other_task(&self, path: &str) -> bool {
        let dir = self
            .tasks_dir
            .trim()
            .trim_start_matches("./")
            .trim_end_matches('/');
        !dir.is_empty() && path.starts_with(&format!("{dir}/")) && path != self.own_task
    }
}

/// A file shown to the model whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    pub path: String,
    pub content: String,
    pub why: String,
}

/// The context for one prompt.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub files: Vec<Shown>,
    /// Paths with their definitions, one per line.
    pub map: String,
    /// Files that matched but did not fit (for the summary).
    pub left_out: Vec<String>,
    pub from_cache: bool,
}

/// Scores every file for the task (higher first; 0 = unrelated).
fn score(f: &Indexed, want_words: &BTreeSet<String>, named: &[String]) -> u32 {
    if named
        .iter()
        .map(|n| n.trim().trim_start_matches("./").trim_end_matches('/'))
        .any(|n| !n.is_empty() && (f.path == n || f.path.starts_with(&format!("{n}/"))))
    {
        return 1000;
    }
    let tokens = path_tokens(&f.path);
    let mut s = 0;
    for w in want_words {
        if tokens.contains(w) {
            s += 6;
        }
        if f.symbols.iter().any(|sym| split_ident(sym).contains(w)) {
            s += 4;
        }
    }
    match classify(&f.path) {
        FileKind::Source | FileKind::Test => s,
        FileKind::Config | FileKind::Docs | FileKind::Other => s / 2,
        FileKind::Generated => 0,
    }
}

/// Whether `test` looks like the test file of `source` (`app.py` → `test_app.py`, `app_test.go`,
/// `app.test.ts`, `tests/app.rs`).
fn tests_of(source: &str, test: &str) -> bool {
    let name = |p: &str| {
        let file = p.rsplit('/').next().unwrap_or(p);
        file.split('.').next().unwrap_or(file).to_lowercase()
    };
    let stem = name(source);
    let t = name(test);
    stem.len() >= 2
        && (t == stem
            || t == format!("test_{stem}")
            || t == format!("{stem}_test")
            || t == format!("{stem}_spec")
            || t == format!("{stem}test"))
}

/// Picks the files and the map for a prompt with `room` tokens for both. `read` gives a file's
/// text (from the same tree the index came from).
pub fn select(
    index: &Index,
    want: &Want,
    room: u32,
    read: &dyn Fn(&str) -> Option<String>,
) -> Selection {
    let want_words = words(&want.text);
    let mut scored: Vec<(u32, &Indexed)> = index
        .files
        .iter()
        .filter(|f| !want.other_task(&f.path))
        .map(|f| match score(f, &want_words, want.named) {
            // The task's own file repeats what the prompt already says: shown only when named.
            s if f.path == want.own_task && s < 1000 => (0, f),
            s => (s, f),
        })
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.path.cmp(&b.1.path)));

    let map_room = (room / 5).max(200);
    let files_room = room.saturating_sub(map_room);
    let mut out = Selection::default();
    let mut used = 0u32;
    let mut shown: BTreeSet<String> = BTreeSet::new(); // considered, shown or not
    // Each file is considered once (read once, listed as left out at most once).
    let mut try_show = |out: &mut Selection, f: &Indexed, why: String, used: &mut u32| {
        if want.other_task(&f.path) || !shown.insert(f.path.clone()) {
            return;
        }
        if f.size > MAX_SCAN_BYTES {
            out.left_out.push(format!("{} (too large to show)", f.path));
            return;
        }
        let Some(content) = read(&f.path) else { return };
        let need = estimate_tokens(&content) + 24;
        if *used + need > files_room {
            out.left_out
                .push(format!("{} ({why}; did not fit)", f.path));
            return;
        }
        *used += need;
        out.files.push(Shown {
            path: f.path.clone(),
            content,
            why,
        });
    };

    // A small repository is shown whole (source and tests), when it fits in half the room.
    let code: Vec<&Indexed> = index
        .files
        .iter()
        .filter(|f| matches!(classify(&f.path), FileKind::Source | FileKind::Test))
        .collect();
    let code_tokens: u64 = code.iter().map(|f| f.size / 4 + 24).sum();
    let small = code.len() <= 40 && code_tokens <= u64::from(files_room / 2);

    for (s, f) in &scored {
        if *s == 0 {
            break;
        }
        let why = if *s >= 1000 {
            "named by the task".to_string()
        } else {
            "matches the task's words".to_string()
        };
        try_show(&mut out, f, why, &mut used);
        if out.files.len() >= 12 {
            break;
        }
    }
    // Their tests.
    let picked: Vec<String> = out.files.iter().map(|s| s.path.clone()).collect();
    for p in &picked {
        if classify(p) != FileKind::Source {
            continue;
        }
        for f in index
            .files
            .iter()
            .filter(|f| classify(&f.path) == FileKind::Test && tests_of(p, &f.path))
        {
            try_show(&mut out, f, format!("tests of {p}"), &mut used);
        }
    }
    if small {
        for f in &code {
            try_show(&mut out, f, "the repository is small".into(), &mut used);
        }
    }
    let map_room = room.saturating_sub(used).min((room / 2).max(map_room));
    out.map = repo_map(index, &scored, map_room, &|p| want.other_task(p));
    out
}

/// The repository map: most relevant files first, then the rest by path, until `room` is used.
fn repo_map(
    index: &Index,
    scored: &[(u32, &Indexed)],
    room: u32,
    hidden: &dyn Fn(&str) -> bool,
) -> String {
    let mut lines: BTreeMap<usize, String> = BTreeMap::new();
    let mut used = 0u32;
    let mut listed = 0usize;
    let order: Vec<&Indexed> = scored
        .iter()
        .filter(|(s, _)| *s > 0)
        .map(|(_, f)| *f)
        .chain(index.files.iter().filter(|f| !hidden(&f.path)))
        .collect();
    let mut seen = BTreeSet::new();
    for f in order {
        if !seen.insert(&f.path) {
            continue;
        }
        let line = if f.symbols.is_empty() {
            f.path.clone()
        } else {
            format!("{}: {}", f.path, f.symbols.join(", "))
        };
        let need = estimate_tokens(&line) + 1;
        if used + need > room {
            continue;
        }
        used += need;
        listed += 1;
        let pos = index
            .files
            .binary_search_by(|x| x.path.cmp(&f.path))
            .unwrap_or(usize::MAX - listed);
        lines.insert(pos, line);
    }
    let mut text: String = lines.into_values().map(|l| l + "\n").collect();
    if listed < index.files.len() {
        text.push_str(&format!(
            "… and {} more files not listed\n",
            index.files.len() - listed
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_definitions() {
        let py = "import os\n\ndef greet(name):\n    def inner():\n        pass\nclass Greeter:\n    pass\nasync def fetch():\n    pass\n";
        assert_eq!(symbols(py), ["greet", "Greeter", "fetch"]);
        let rs = "pub fn parse() {}\nstruct Config;\nimpl Config {\n    fn x() {}\n}\npub(crate) fn y() {}\n";
        assert_eq!(symbols(rs), ["parse", "Config", "y"]);
        let go = "func (s *Server) Handle(w) {}\nfunc main() {}\ntype Server struct{}\n";
        assert_eq!(symbols(go), ["Handle", "main", "Server"]);
    }

    #[test]
    fn words_split_identifiers() {
        let w = words("Add a /health endpoint to parseConfig and load_user for the API");
        for x in [
            "health",
            "endpoint",
            "parse",
            "config",
            "parseconfig",
            "load",
            "user",
            "load_user",
            "api",
        ] {
            assert!(w.contains(x), "{x}: {w:?}");
        }
        assert!(!w.contains("the") && !w.contains("add"));
    }

    fn index(files: &[(&str, &[&str])]) -> Index {
        Index {
            tree: "t".into(),
            files: files
                .iter()
                .map(|(p, s)| Indexed {
                    path: p.to_string(),
                    size: 100,
                    symbols: s.iter().map(|x| x.to_string()).collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn selects_named_matching_and_their_tests() {
        let mut files: Vec<(String, Vec<&str>)> = (0..200)
            .map(|i| (format!("pkg/mod{i:03}.py"), vec!["helper"]))
            .collect();
        files.push(("src/app.py".into(), vec!["create_app", "health"]));
        files.push(("src/users.py".into(), vec!["load_user"]));
        files.push(("tests/test_app.py".into(), vec!["test_smoke"]));
        files.push(("docs/notes.md".into(), vec![]));
        files.sort();
        let refs: Vec<(&str, &[&str])> = files
            .iter()
            .map(|(p, s)| (p.as_str(), s.as_slice()))
            .collect();
        let idx = index(&refs);
        let named = vec!["docs/notes.md".to_string()];
        let want = Want {
            text: "Add a health endpoint".into(),
            named: &named,
            tasks_dir: "tasks",
            own_task: "",
        };
        let sel = select(&idx, &want, 4000, &|p| Some(format!("content of {p}\n")));
        let shown: Vec<&str> = sel.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(shown[0], "docs/notes.md");
        assert!(shown.contains(&"src/app.py"), "{shown:?}");
        assert!(shown.contains(&"tests/test_app.py"), "{shown:?}");
        assert!(!shown.contains(&"src/users.py"), "{shown:?}");
        assert!(
            sel.map.contains("src/app.py: create_app, health"),
            "{}",
            sel.map
        );
        assert!(estimate_tokens(&sel.map) <= 4000);
    }

    #[test]
    fn other_tasks_files_are_never_shown_nor_listed() {
        let idx = index(&[
            ("src/farewell.py", &["farewell"]),
            ("tasks/T-0002-add-a-farewell-function.md", &[]),
            ("tasks/T-0003-farewell-in-french.md", &[]),
            ("tasks/T-0005-farewell-docs.md", &[]),
            ("tasks/sub/T-0009-farewell.md", &[]),
        ]);
        let want = Want {
            text: "Add a farewell function".into(),
            named: &[],
            tasks_dir: "tasks/",
            own_task: "tasks/T-0002-add-a-farewell-function.md",
        };
        let sel = select(&idx, &want, 4000, &|p| Some(format!("farewell {p}\n")));
        let shown: Vec<&str> = sel.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(shown, ["src/farewell.py"], "{:?}", sel.files);
        assert!(sel.left_out.is_empty(), "{:?}", sel.left_out);
        assert!(
            !sel.map.contains("T-0003")
                && !sel.map.contains("T-0005")
                && !sel.map.contains("T-0009"),
            "{}",
            sel.map
        );
        assert!(
            sel.map.contains("tasks/T-0002-add-a-farewell-function.md"),
            "{}",
            sel.map
        );
        // Named by the task, its own file is shown.
        let named = vec!["tasks/T-0002-add-a-farewell-function.md".to_string()];
        let sel = select(
            &idx,
            &Want {
                named: &named,
                ..want
            },
            4000,
            &|p| Some(format!("{p}\n")),
        );
        assert_eq!(sel.files[0].path, "tasks/T-0002-add-a-farewell-function.md");
    }
}
