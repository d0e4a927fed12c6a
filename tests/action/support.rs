//! Helpers shared by the `tests/action_*.rs` tests (included with `#[path]`): where the repository
//! is, how to find the external tools (actionlint, zizmor, act) that `.ci/actions.sh install`
//! puts in `.ci/cache/actions-tools/bin`, and the rule for a missing tool: a loud `SKIP:` on a
//! developer's machine, a failure under CI (`CI=true`), where `.ci/run` installs them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (where action.yml lives).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Finds `tool`: `$<ENV_VAR>` if set, else `.ci/cache/actions-tools/bin/<tool>`, else `PATH`.
pub fn find_tool(tool: &str, env_var: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env_var).filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return executable(&p).then_some(p);
    }
    let cached = repo().join(".ci/cache/actions-tools/bin").join(tool);
    if executable(&cached) {
        return Some(cached);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(tool))
            .find(|p| executable(p))
    })
}

/// The tool, or `None` after a loud SKIP message. Under CI (`CI=true`) a missing tool fails the
/// test instead, so a CI run can never pass by skipping.
pub fn tool_or_skip(tool: &str, env_var: &str, test: &str) -> Option<PathBuf> {
    if let Some(p) = find_tool(tool, env_var) {
        return Some(p);
    }
    let message = format!(
        "SKIP: {test}: `{tool}` not found (set {env_var}, run `bash .ci/actions.sh install`, or put it on PATH)"
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{message}; CI=true, so a missing tool is a failure");
    }
    // Straight to the stderr handle: libtest captures eprintln!, and a skip must be seen.
    let bang = "!".repeat(100);
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!("\n{bang}\n{message}\n{bang}\n").as_bytes(),
    );
    None
}

/// Runs a command, returning (exit code, stdout, stderr).
pub fn output(cmd: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// The workflow files this repository ships: `.github/workflows/*` and `examples/workflows/*`.
pub fn workflow_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [".github/workflows", "examples/workflows"] {
        let Ok(entries) = std::fs::read_dir(repo().join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yml" | "yaml")
            ) {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}
