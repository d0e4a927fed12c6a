//! The unattended loop's fixtures, shared by the Actions run of it (`loop_e2e`) and the serve
//! run of it (`serve_loop`): the sample repository on the fake GitHub, the scripted model's two
//! answers, the `pull_request` payloads GitHub would deliver, a git copy of the fake's history
//! (checkouts, and the bare repository serve clones from), and the end state both compare.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde_json::{Value, json};

use super::fake_github::{FakeGitHub, State};

pub const MODEL: &str = "qwen3-coder:latest";

/// The sample repository (what `demo` uses), read from `examples/sample-python-app/`.
pub fn sample_files() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sample-python-app");
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                let mut text = std::fs::read_to_string(&p).unwrap();
                if rel == ".llm-team.yml" {
                    // The runner has no pytest: the sample's pytest-style tests run through a
                    // tiny runner instead (the only change to the sample).
                    text = text.replace(
                        "checks:\n",
                        "checks:\n  test_command: \"python3 -c 'import glob, importlib, sys; sys.path.insert(0, \\\".\\\"); [getattr(m, n)() for m in [importlib.import_module(p[:-3].replace(\\\"/\\\", \\\".\\\")) for p in sorted(glob.glob(\\\"tests/test_*.py\\\"))] for n in dir(m) if n.startswith(\\\"test_\\\")]'\"\n",
                    );
                    assert!(text.contains("test_command"), "{text}");
                }
                out.push((rel, text));
            }
        }
    }
    out.sort();
    out
}

/// The planner's scripted answer: one task from the PRD.
pub fn plan_reply() -> String {
    json!({"tasks": [{"title": "Add a farewell function", "type": "feature", "priority": "P1",
        "depends_on": [], "acceptance": ["farewell(name) returns 'Goodbye, <name>!'", "a test covers farewell"],
        "files": ["src/app.py"], "estimate": "1h"}]})
    .to_string()
}

/// The developer's scripted answer for the planned task.
pub fn farewell_reply() -> String {
    "Here is the change.\n\nsrc/app.py\n```python\n<<<<<<< SEARCH\n    return f\"Hello, {name.strip() or 'world'}!\"\n=======\n    return f\"Hello, {name.strip() or 'world'}!\"\n\n\ndef farewell(name: str = \"\") -> str:\n    \"\"\"Return a farewell for `name`.\"\"\"\n    return f\"Goodbye, {name.strip() or 'world'}!\"\n>>>>>>> REPLACE\n```\n\ntests/test_app.py\n```python\n<<<<<<< SEARCH\nfrom src.app import greet\n=======\nfrom src.app import farewell, greet\n\n\ndef test_farewell():\n    assert farewell(\"Ada\") == \"Goodbye, Ada!\"\n>>>>>>> REPLACE\n```\n".to_string()
}

/// The `repository` object of every payload.
pub fn repository() -> Value {
    json!({"full_name": "octo/app", "name": "app", "owner": {"login": "octo"}, "default_branch": "main"})
}

/// Starts the sample repository's history on `s` with `extra` files beside it: the fake's own
/// first commit is dropped (it predates git ids).
pub fn seed_sample(s: &mut State, extra: &[(String, String)]) {
    s.git_ids = true;
    s.refs.clear();
    s.commits.clear();
    s.trees.clear();
    s.blobs.clear();
    let files = sample_files();
    let all: Vec<(&str, &str)> = files
        .iter()
        .chain(extra)
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    s.commit_files("main", &all, "Initial commit: sample-python-app");
}

/// The `pull_request` delivery for `action` on PR `number`, sent by `sender`.
pub fn pull_event(github: &FakeGitHub, action: &str, number: u64, sender: &str) -> Value {
    let pr = github.with(|s| {
        let p = s.pulls.iter().find(|p| p.number == number).unwrap().clone();
        let mut v = s.pull_json(&p);
        if !p.open && p.merged {
            // The head sha GitHub reports for a merged PR is the head at the merge.
            v["head"]["sha"] = json!(s.refs.get(&p.head).cloned().unwrap_or_default());
        }
        v
    });
    json!({"action": action, "number": number, "pull_request": pr, "sender": {"login": sender},
           "repository": repository()})
}

/// Writes the fake's git objects (those not in `seen`) into the repository at `dir`, checking
/// that git computes the same ids.
pub fn import_objects(
    dir: &Path,
    objects: &[(&'static str, String, Vec<u8>)],
    seen: &mut HashSet<String>,
) {
    let staging = dir.join("fake-objects");
    for kind in ["blob", "tree", "commit"] {
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging).unwrap();
        let mut paths = Vec::new();
        let mut ids = Vec::new();
        for (k, id, bytes) in objects {
            if *k == kind && !seen.contains(id) {
                let p = staging.join(id);
                std::fs::write(&p, bytes).unwrap();
                paths.push(p.display().to_string());
                ids.push(id.clone());
            }
        }
        if ids.is_empty() {
            continue;
        }
        let mut c = std::process::Command::new("git");
        c.args([
            "hash-object",
            "-w",
            "-t",
            kind,
            "--literally",
            "--stdin-paths",
        ])
        .current_dir(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
        let mut child = c.spawn().unwrap();
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().unwrap();
            stdin
                .write_all((paths.join("\n") + "\n").as_bytes())
                .unwrap();
        }
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "git hash-object {kind}");
        let written: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(String::from)
            .collect();
        assert_eq!(written, ids, "the fake's {kind} ids are git's");
        seen.extend(ids);
    }
    let _ = std::fs::remove_dir_all(&staging);
}

/// A bare git repository that follows the fake: its objects, its branches and
/// `refs/pull/N/head`, as a clone URL for serve.
pub struct GitMirror {
    pub dir: std::path::PathBuf,
    seen: HashSet<String>,
}

impl GitMirror {
    pub fn new(dir: &Path) -> GitMirror {
        std::fs::create_dir_all(dir).unwrap();
        super::git(dir, &["init", "-q", "--bare", "-b", "main"]);
        GitMirror {
            dir: dir.to_path_buf(),
            seen: HashSet::new(),
        }
    }

    pub fn url(&self) -> String {
        format!("file://{}", self.dir.display())
    }

    /// Brings the mirror to the fake's state.
    pub fn sync(&mut self, s: &State) {
        import_objects(&self.dir, &s.git_objects(), &mut self.seen);
        let mut want: BTreeMap<String, String> = s
            .refs
            .iter()
            .map(|(b, sha)| (format!("refs/heads/{b}"), sha.clone()))
            .collect();
        for p in &s.pulls {
            if let Some(sha) = s.refs.get(&p.head) {
                want.insert(format!("refs/pull/{}/head", p.number), sha.clone());
            }
        }
        let have = super::git(
            &self.dir,
            &["for-each-ref", "--format=%(refname) %(objectname)"],
        );
        let mut script = String::new();
        for line in have.lines() {
            if let Some((name, _)) = line.split_once(' ')
                && !want.contains_key(name)
            {
                script.push_str(&format!("delete {name}\n"));
            }
        }
        for (name, sha) in &want {
            if !have.lines().any(|l| l == format!("{name} {sha}")) {
                script.push_str(&format!("update {name} {sha}\n"));
            }
        }
        if script.is_empty() {
            return;
        }
        let mut c = std::process::Command::new("git");
        c.args(["update-ref", "--stdin"])
            .current_dir(&self.dir)
            .stdin(std::process::Stdio::piped());
        let mut child = c.spawn().unwrap();
        {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(script.as_bytes())
                .unwrap();
        }
        assert!(child.wait().unwrap().success(), "git update-ref: {script}");
    }
}

/// `T-0001`-style ids as `T-n`.
pub fn mask_ids(v: &Value) -> String {
    let text = v.to_string();
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("T-") {
        out.push_str(&rest[..i]);
        let digits = rest[i + 2..].bytes().take_while(u8::is_ascii_digit).count();
        if digits == 4 {
            out.push_str("T-n");
            rest = &rest[i + 6..];
        } else {
            out.push_str("T-");
            rest = &rest[i + 2..];
        }
    }
    out.push_str(rest);
    out
}

/// The tasks on the default branch as (title, status), sorted.
pub fn tasks(s: &State) -> Vec<Value> {
    let mut tasks: Vec<Value> = s
        .files_at(&s.refs["main"])
        .keys()
        .filter(|p| p.starts_with("tasks/T-"))
        .filter_map(|p| s.file("main", p))
        .map(|t| {
            let field = |k: &str| {
                t.lines()
                    .find_map(|l| l.strip_prefix(k).map(|v| v.trim().to_string()))
                    .unwrap_or_default()
            };
            json!([field("title: "), field("status: ")])
        })
        .collect();
    tasks.sort_by_key(|v| v.to_string());
    tasks
}

/// The end state as either runner leaves it, whoever wrote what: each pull request by title
/// (ids masked) with whether it was merged and how many comments it has, and the tasks.
pub fn end_state(s: &State) -> Value {
    let mut pulls: Vec<Value> = s
        .pulls
        .iter()
        .map(|p| {
            let comments = s.comments.iter().filter(|c| c.1 == p.number).count();
            json!({"title": p.title, "merged": p.merged, "open": p.open, "comments": comments})
        })
        .collect();
    pulls.sort_by_key(|v| mask_ids(&v["title"]));
    let mut out: Value = serde_json::from_str(&mask_ids(&json!({"pulls": pulls}))).unwrap();
    out["tasks"] = json!(tasks(s));
    out
}
