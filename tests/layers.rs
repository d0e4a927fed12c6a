//! The layer rule, kept true by a check: a module imports only modules of lower layers (the
//! ranks below, from the crate docs), and a role never imports another role. It reads every
//! `src/**/*.rs` file's code (comments left out) for `crate::<module>` paths, and a planted
//! violation proves the check can fail.

use std::collections::BTreeMap;
use std::path::Path;

/// Each top-level module's layer, lowest first. A module may name modules of lower rank only.
const RANKS: &[(&str, u8)] = &[
    ("vocab", 0),
    ("crypto", 0),
    ("git", 1),
    ("llm", 1),
    ("tasks", 1),
    ("actions", 1),
    ("config", 2),
    ("forge", 3),
    ("host", 3),
    ("changes", 4),
    ("policy", 5),
    ("roles", 6),
    ("publish", 6),
    ("event", 6),
    ("report", 7),
    // Serve mode is started by the command line (`cli/serve_cmd.rs`), so it sits below it.
    ("serve", 7),
    // `eval` runs the roles on local forges for the command line (`cli/eval_cmd.rs`).
    ("eval", 7),
    ("cli", 8),
];

/// The roles' folders, which never import one another (their shared parts are not roles).
const ROLES: &[&str] = &[
    "developer",
    "integrator",
    "planner",
    "reviewer",
    "taskmaster",
];

fn rank(module: &str) -> Option<u8> {
    RANKS.iter().find(|(m, _)| *m == module).map(|(_, r)| *r)
}

/// The file's code without `//` comments (doc comments included).
fn code(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::a` (and `crate::roles::b`) a piece of code names.
fn named(code: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + 7..];
        let first: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let second = after[first.len()..].strip_prefix("::").map(|s| {
            s.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
        });
        out.push((first, second));
        rest = &after[1..];
    }
    out
}

/// The violations in `files` (path relative to the crate, e.g. `src/llm/ollama.rs`, → text).
fn violations(files: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    for (path, text) in files {
        let parts: Vec<&str> = path
            .trim_start_matches("src/")
            .trim_end_matches(".rs")
            .split('/')
            .collect();
        let module = parts[0];
        if matches!(module, "lib" | "main") {
            continue;
        }
        let Some(own) = rank(module) else {
            out.push(format!("{path}: module `{module}` has no layer in RANKS"));
            continue;
        };
        let own_role = (module == "roles")
            .then(|| parts.get(1).copied())
            .flatten()
            .filter(|r| ROLES.contains(r));
        for (first, second) in named(&code(text)) {
            if first == module {
                if let (Some(me), Some(other)) = (own_role, second.as_deref())
                    && ROLES.contains(&other)
                    && other != me
                {
                    out.push(format!("{path}: the {me} role imports the {other} role"));
                }
                continue;
            }
            match rank(&first) {
                Some(r) if r < own => {}
                Some(_) => out.push(format!(
                    "{path}: `{module}` imports `{first}`, which is not a lower layer"
                )),
                None => out.push(format!("{path}: names unknown module `crate::{first}`")),
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn read_tree(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            read_tree(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            out.insert(rel, std::fs::read_to_string(&path).unwrap());
        }
    }
}

#[test]
fn lower_layers_never_import_higher_ones_and_roles_never_import_roles() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = BTreeMap::new();
    read_tree(root, &root.join("src"), &mut files);
    assert!(files.len() > 50, "read the sources");
    let found = violations(&files);
    assert!(found.is_empty(), "layer violations:\n{}", found.join("\n"));
}

#[test]
fn a_planted_violation_is_caught() {
    let planted = |path: &str, text: &str| {
        let files: BTreeMap<String, String> = [(path.to_string(), text.to_string())].into();
        violations(&files)
    };
    assert_eq!(
        planted("src/llm/x.rs", "use crate::roles::Role;\n"),
        ["src/llm/x.rs: `llm` imports `roles`, which is not a lower layer"]
    );
    assert_eq!(
        planted(
            "src/roles/developer/x.rs",
            "use crate::roles::reviewer::classify;\n"
        ),
        ["src/roles/developer/x.rs: the developer role imports the reviewer role"]
    );
    assert_eq!(
        planted(
            "src/forge/github/auth.rs",
            "fn f(r: &crate::actions::Runner) {}\n"
        ),
        Vec::<String>::new(),
        "actions sits below forge by rank; the issue's rule for runner I/O is the next test"
    );
    assert!(
        planted(
            "src/config/x.rs",
            "// crate::cli is only mentioned\nuse crate::vocab::Role;\n"
        )
        .is_empty(),
        "comments do not count"
    );
}

/// `config`, `llm`, `forge`, `git` and `tasks` import no role and no runner I/O (`actions`).
#[test]
fn the_ports_and_the_engine_do_no_runner_io() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = BTreeMap::new();
    read_tree(root, &root.join("src"), &mut files);
    let mut found = Vec::new();
    for (path, text) in &files {
        let module = path
            .trim_start_matches("src/")
            .split('/')
            .next()
            .unwrap_or("");
        if !["config", "llm", "forge", "git", "tasks"].contains(&module.trim_end_matches(".rs")) {
            continue;
        }
        for (first, _) in named(&code(text)) {
            if first == "actions" || first == "roles" {
                found.push(format!("{path}: imports crate::{first}"));
            }
        }
    }
    found.sort();
    found.dedup();
    assert!(found.is_empty(), "{}", found.join("\n"));
}
