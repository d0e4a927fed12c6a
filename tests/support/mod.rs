//! Shared helpers for tests that run the real binary: a clean environment (nothing from the
//! developer's shell or the CI runner leaks in), captured output, and payload builders.
#![allow(dead_code)]

pub mod fake_github;

use std::path::Path;
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_codex-orchestrator");

/// The binary with an empty environment (only PATH), run in `dir`.
pub fn cmd(dir: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir(dir);
    c
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(c: &mut Command) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = c.output().expect("the binary runs");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// A `pull_request` payload shaped like GitHub's.
pub fn pull_request(action: &str, number: u64, merged: bool, draft: bool) -> serde_json::Value {
    serde_json::json!({
        "action": action,
        "number": number,
        "pull_request": {
            "number": number,
            "title": "Add login",
            "body": null,
            "draft": draft,
            "merged": merged,
            "state": if action == "closed" { "closed" } else { "open" },
            "head": {"ref": "feature/T-0001-x", "sha": "a".repeat(40)},
            "base": {"ref": "main", "sha": "b".repeat(40)},
            "user": {"login": "octocat", "type": "User"}
        },
        "repository": {"full_name": "octo/app", "default_branch": "main"}
    })
}

/// Reads a `GITHUB_OUTPUT` file the way the runner does (`name=value` or heredoc blocks).
pub fn parse_outputs(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut lines = text.split('\n');
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        if let Some((name, delim)) = line.split_once("<<") {
            let mut value = Vec::new();
            for l in lines.by_ref() {
                if l == delim {
                    break;
                }
                value.push(l);
            }
            out.push((name.to_string(), value.join("\n")));
        } else if let Some((name, value)) = line.split_once('=') {
            out.push((name.to_string(), value.to_string()));
        }
    }
    out
}

pub fn output<'a>(outputs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    outputs
        .iter()
        .rev()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Prints a skip notice that cargo test does not capture (it only captures the print macros),
/// so a skipped external-tool test is visible in every run.
pub fn loud_skip(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "\n*** SKIP: {message}\n");
}
