//! Shared helpers for tests that run the real binary: a clean environment (nothing from the
//! developer's shell or the CI runner leaks in), captured output, and payload builders.
#![allow(dead_code)]

pub mod fake_github;
pub mod fake_ollama;
pub mod sample_loop;
pub mod upsert;
pub mod workflows;

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

/// `codex-orchestrator run` started the way the Actions runner starts it, for a job directory
/// `dir` holding `event.json` and the checkout in `dir/repo`; outputs, summary and report land in `dir`.
pub fn runner_cmd(dir: &Path, event_name: &str) -> Command {
    let _ = std::fs::remove_file(dir.join("output"));
    let mut c = cmd(dir);
    c.arg("run")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", event_name)
        .env("GITHUB_EVENT_PATH", dir.join("event.json"))
        .env("GITHUB_WORKSPACE", dir.join("repo"))
        .env("GITHUB_OUTPUT", dir.join("output"))
        .env("GITHUB_STEP_SUMMARY", dir.join("summary"))
        .env("RUNNER_TEMP", dir);
    c
}

/// Points a command at the fake GitHub as repository `octo/app`, with a token.
pub fn with_fake_github<'a>(c: &'a mut Command, url: &str) -> &'a mut Command {
    c.env("GITHUB_REPOSITORY", "octo/app")
        .env("GITHUB_API_URL", url)
        .env("GITHUB_TOKEN", "ghs_faketoken000000000000000000000000000")
}

/// The step outputs a `runner_cmd` run wrote.
pub fn read_outputs(dir: &Path) -> Vec<(String, String)> {
    parse_outputs(&std::fs::read_to_string(dir.join("output")).unwrap_or_default())
}

/// The job summary a `runner_cmd` run wrote.
pub fn read_summary(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("summary")).unwrap_or_default()
}

/// git in `dir` with a fixed identity and no user or system configuration: the one way the
/// tests run git.
pub fn git_command(dir: &Path) -> Command {
    let mut c = Command::new("git");
    c.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "core.autocrlf=false",
            "-c",
            "protocol.file.allow=always",
            "-c",
            "advice.detachedHead=false",
        ])
        .current_dir(dir);
    c
}

/// Runs [`git_command`] with `args`; panics with git's message on failure. Returns stdout as
/// bytes.
pub fn git_bytes(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = git_command(dir).args(args).output().expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// [`git_bytes`] as text, as git printed it (see [`git`] for the trimmed form).
pub fn git_out(dir: &Path, args: &[&str]) -> String {
    String::from_utf8_lossy(&git_bytes(dir, args)).into_owned()
}

/// [`git_out`] with surrounding whitespace trimmed (a sha, a branch name, one line).
pub fn git(dir: &Path, args: &[&str]) -> String {
    git_out(dir, args).trim().to_string()
}
