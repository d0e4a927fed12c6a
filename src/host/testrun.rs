//! Running the repository's own tests on the developer's edits: `sh -c <command>` in the
//! checkout (inside the operator's sandbox command when one is set), in its own process group
//! with a timeout, with credentials removed from the environment (test code is as untrusted as
//! the model that may have written it), and the output trimmed to what a model can use.
//! Output goes to an unlinked temporary file (only its end is read back); the exit is awaited on
//! a thread, not with tokio::process, because the `TestRunner` port is synchronous and is called
//! from current-thread runtimes, where a nested `block_on` would panic.

use std::io::{Read as _, Seek as _, SeekFrom};
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What one test run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRun {
    pub command: String,
    pub passed: bool,
    /// Exit code; `None` when killed (timeout) or ended by a signal.
    pub code: Option<i32>,
    pub timed_out: bool,
    pub duration: Duration,
    /// The end of stdout and stderr (merged), trimmed and with secrets redacted.
    pub output: String,
}

/// At most this much of the output goes back to the model.
pub const OUTPUT_CHARS: usize = 6000;

/// Whether an environment variable may carry a credential. Such variables never reach tests.
pub fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    const WORDS: [&str; 9] = [
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "PRIVATE",
        "CREDENTIAL",
        "API_KEY",
        "ACCESS_KEY",
        "AUTH",
    ];
    WORDS.iter().any(|w| n.contains(w))
        || n.ends_with("_KEY")
        || n.starts_with("ACTIONS_")
        || n.starts_with("CODEX_")
        || n.starts_with("GH_")
        || n.starts_with("INPUT_")
        || n == "OPENAI_API_KEY"
}

/// The process group of the test run under way (0: none), so a cancelled run (SIGINT/SIGTERM)
/// can stop it before it exits.
static RUNNING: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// Kills the test run under way, if any (the whole process group).
pub fn kill_running() {
    let pgid = RUNNING.swap(0, std::sync::atomic::Ordering::SeqCst);
    if pgid > 1 {
        // SAFETY: killpg only sends a signal to the test run's own process group.
        unsafe {
            libc::killpg(pgid, libc::SIGKILL);
        }
    }
}

/// Runs `command` in `dir` with a timeout, inside `sandbox` (words put before `sh -c`) when it
/// is not empty. `secrets` are redacted from the output.
pub fn run(
    command: &str,
    dir: &Path,
    timeout: Duration,
    secrets: &[String],
    sandbox: &[String],
) -> TestRun {
    let start = Instant::now();
    let failed = |why: String| TestRun {
        command: command.to_string(),
        passed: false,
        code: None,
        timed_out: false,
        duration: start.elapsed(),
        output: why,
    };
    // Unlinked from the start: it lives as long as its handles, and nothing is left behind.
    let temp = std::env::var_os("RUNNER_TEMP")
        .filter(|d| !d.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let log = match tempfile::tempfile_in(temp) {
        Ok(f) => f,
        Err(e) => return failed(format!("cannot create a file for the test output: {e}")),
    };
    let (Ok(out), Ok(err)) = (log.try_clone(), log.try_clone()) else {
        return failed("cannot share the test output file".into());
    };
    let mut cmd = match sandbox.split_first() {
        Some((program, args)) => {
            let mut c = Command::new(program);
            c.args(args).arg("sh");
            c
        }
        None => Command::new("sh"),
    };
    cmd.arg("-c")
        .arg(command)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .env_clear();
    for (k, v) in std::env::vars_os() {
        let Some(name) = k.to_str() else { continue };
        let value = v.to_string_lossy();
        if is_secret_name(name) || secrets.iter().any(|s| s.len() >= 8 && value.contains(s)) {
            continue;
        }
        cmd.env(&k, &v);
    }
    cmd.env("CI", "true");
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return failed(format!("cannot start `sh -c {command}`: {e}")),
    };
    let pgid = child.id();
    RUNNING.store(
        libc::pid_t::try_from(pgid).unwrap_or(0),
        std::sync::atomic::Ordering::SeqCst,
    );
    // A thread waits for the exit; the run waits for that thread at most `timeout`.
    let (done, exited) = std::sync::mpsc::channel();
    std::thread::spawn(move || done.send(child.wait()));
    let (status, timed_out) = match exited.recv_timeout(timeout) {
        Ok(status) => (status.ok(), false),
        Err(_) => {
            // The whole process group (the test runner and what it started), and the child
            // itself should it have left the group; never pid 0/1.
            if let Ok(pid) = libc::pid_t::try_from(pgid)
                && pid > 1
            {
                // SAFETY: these only send signals, to the child and its own group (process_group(0)).
                unsafe {
                    libc::killpg(pid, libc::SIGKILL);
                    libc::kill(pid, libc::SIGKILL);
                }
            }
            let _ = exited.recv();
            (None, true)
        }
    };
    RUNNING.store(0, std::sync::atomic::Ordering::SeqCst);
    let bytes = tail_bytes(log, 4 * OUTPUT_CHARS + 4);
    let text = String::from_utf8_lossy(&bytes);
    let mut output = crate::llm::redact(&trim(&text, OUTPUT_CHARS), secrets);
    if timed_out {
        output.push_str(&format!(
            "\n[the tests did not finish within {} s (developer.test_timeout_secs) and were stopped]\n",
            timeout.as_secs()
        ));
    }
    let code = status.and_then(|s| s.code());
    TestRun {
        command: command.to_string(),
        passed: code == Some(0),
        code,
        timed_out,
        duration: start.elapsed(),
        output,
    }
}

/// Why a test run shows that the tests cannot run on this machine at all, and what fixes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unrunnable {
    pub reason: String,
    pub fix: String,
}

/// Whether a failed run failed because the test environment cannot run the tests (not because
/// the code is wrong): the shell found no such command (exit 127, "command not found"), the
/// command is not executable (exit 126), the test runner's own module is missing (`No module
/// named pytest` for `python -m pytest`), or the runner itself fails to import (a traceback
/// ending in an import error inside the installed packages, not in the repository's code).
/// A missing module the repository's code imports is the code's business: `None`.
pub fn unrunnable(run: &TestRun) -> Option<Unrunnable> {
    if run.passed || run.timed_out {
        return None;
    }
    let out = &run.output;
    let set_command = "or set `checks.test_command` in .llm-team.yml to a command this runner has";
    let not_found = out.lines().find_map(missing_command);
    if run.code == Some(127) || not_found.is_some() {
        let what = not_found
            .or_else(|| first_program(&run.command))
            .unwrap_or_else(|| run.command.clone());
        return Some(Unrunnable {
            reason: format!(
                "the command `{what}` is not installed on this runner (exit 127: command not found)"
            ),
            fix: format!(
                "Install it before this step (e.g. a setup step in the workflow), {set_command}."
            ),
        });
    }
    if run.code == Some(126) {
        let what = first_program(&run.command).unwrap_or_else(|| run.command.clone());
        return Some(Unrunnable {
            reason: format!(
                "`{what}` cannot be executed here (exit 126: permission denied or not a program)"
            ),
            fix: format!("Make it executable or call it through its interpreter, {set_command}."),
        });
    }
    let runners = runner_modules(&run.command);
    for line in out.lines() {
        if let Some(module) = missing_module(line)
            && runners
                .iter()
                .any(|r| r == module.split('.').next().unwrap_or(&module))
        {
            return Some(Unrunnable {
                reason: format!(
                    "the test runner's Python module `{module}` is not installed (`No module named {module}`)"
                ),
                fix: format!(
                    "Install it before this step (`python3 -m pip install {module}`, or list it in the repository's \
                     requirements and install them in the workflow), {set_command} (e.g. `python3 -m unittest`)."
                ),
            });
        }
    }
    if let Some(module) = runner_import_error(out) {
        return Some(Unrunnable {
            reason: format!(
                "the test runner itself fails to import (`{module}`, raised inside the installed packages, not in the repository)"
            ),
            fix: format!(
                "Repair the runner's installation (reinstall the test runner and its plugins), {set_command}."
            ),
        });
    }
    None
}

/// `sh: 1: pytest: not found`, `bash: pytest: command not found`, `env: 'pytest': No such file
/// or directory` → `pytest`.
fn missing_command(line: &str) -> Option<String> {
    let l = line.trim();
    let shells = [
        "sh:",
        "bash:",
        "dash:",
        "zsh:",
        "/bin/sh:",
        "/bin/bash:",
        "env:",
        "/usr/bin/env:",
    ];
    if !shells.iter().any(|p| l.starts_with(p)) {
        return None;
    }
    let rest = l
        .strip_suffix(": command not found")
        .or_else(|| l.strip_suffix(": not found"))
        .or_else(|| {
            l.strip_prefix("env: ")
                .and_then(|r| r.strip_suffix(": No such file or directory"))
        })?;
    let name = rest
        .rsplit(": ")
        .next()?
        .trim()
        .trim_matches(|c| c == '\'' || c == '"');
    (!name.is_empty() && !name.contains(char::is_whitespace)).then(|| name.to_string())
}

/// `No module named pytest`, `ModuleNotFoundError: No module named 'pytest'` → `pytest`.
fn missing_module(line: &str) -> Option<String> {
    let (_, rest) = line.split_once("No module named ")?;
    let name: String = rest
        .trim()
        .trim_matches(|c| c == '\'' || c == '"')
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// The first program of each `&&`/`;`/`|` part of the command.
fn programs(command: &str) -> Vec<String> {
    command
        .split(['&', ';', '|'])
        .filter_map(|part| {
            part.split_whitespace()
                .find(|w| !w.contains('=')) // skip `VAR=value` prefixes
                .map(|w| w.rsplit('/').next().unwrap_or(w).to_string())
        })
        .collect()
}

fn first_program(command: &str) -> Option<String> {
    programs(command).into_iter().next()
}

/// The Python modules that run the tests: `python -m X` → X, and the program names themselves
/// (`pytest`, `tox`, `nox`) whose scripts import a module of the same name.
fn runner_modules(command: &str) -> Vec<String> {
    let mut out: Vec<String> = programs(command);
    let words: Vec<&str> = command.split_whitespace().collect();
    for w in words.windows(2) {
        if w[0] == "-m" {
            out.push(w[1].trim_matches(|c| c == '\'' || c == '"').to_string());
        }
    }
    out.retain(|m| !m.starts_with("python"));
    out
}

/// A Python traceback ending in `ImportError`/`ModuleNotFoundError` whose innermost frame is in
/// the installed packages (site-packages, dist-packages, the standard library): the runner
/// itself cannot start. Returns the error line.
fn runner_import_error(out: &str) -> Option<String> {
    let lines: Vec<&str> = out.lines().collect();
    let at = lines.iter().rposition(|l| {
        let t = l.trim_start();
        t.starts_with("ImportError") || t.starts_with("ModuleNotFoundError")
    })?;
    let frame = lines[..at]
        .iter()
        .rev()
        .find(|l| l.trim_start().starts_with("File \""))?;
    let installed = ["site-packages/", "dist-packages/", "/lib/python"];
    installed
        .iter()
        .any(|p| frame.contains(p))
        .then(|| lines[at].trim().chars().take(160).collect())
}

/// The last `max` bytes of the output file: enough for `OUTPUT_CHARS` characters (and the mark
/// that earlier output was cut), however much a test printed.
fn tail_bytes(mut log: std::fs::File, max: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    let len = log.seek(SeekFrom::End(0)).unwrap_or(0);
    let from = len.saturating_sub(u64::try_from(max).unwrap_or(u64::MAX));
    let _ = log
        .seek(SeekFrom::Start(from))
        .and_then(|_| log.take(len - from).read_to_end(&mut bytes));
    bytes
}

/// The last `max` characters (whole lines), marked when cut.
pub fn trim(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let tail: String = {
        let chars: Vec<char> = text.chars().collect();
        chars[chars.len() - max..].iter().collect()
    };
    let tail = match tail.find('\n') {
        Some(i) if i + 1 < tail.len() => &tail[i + 1..],
        _ => &tail[..],
    };
    format!("[… earlier output cut …]\n{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for n in [
            "GITHUB_TOKEN",
            "GH_TOKEN",
            "MY_SECRET",
            "DB_PASSWORD",
            "AWS_SECRET_ACCESS_KEY",
            "ACTIONS_RUNTIME_TOKEN",
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "CODEX_TOKEN",
            "INPUT_GITHUB-TOKEN",
            "SSH_KEY",
        ] {
            assert!(is_secret_name(n), "{n}");
        }
        for n in ["PATH", "HOME", "LANG", "VIRTUAL_ENV", "GITHUB_WORKSPACE"] {
            assert!(!is_secret_name(n), "{n}");
        }
    }

    #[test]
    fn runs_with_timeout_and_clean_env() {
        let dir = tempfile::tempdir().unwrap();
        let r = run(
            "echo hi; exit 3",
            dir.path(),
            Duration::from_secs(10),
            &[],
            &[],
        );
        assert!(!r.passed);
        assert_eq!(r.code, Some(3));
        assert!(r.output.contains("hi"));
        let r = run("sleep 5", dir.path(), Duration::from_millis(200), &[], &[]);
        assert!(r.timed_out && !r.passed, "{r:?}");
        assert!(r.duration < Duration::from_secs(4));
    }

    #[test]
    fn a_timeout_kills_the_whole_process_group() {
        let dir = tempfile::tempdir().unwrap();
        // A grandchild in the background writes its pid, then sleeps past the timeout.
        let r = run(
            "sh -c 'echo $$ > pid.tmp && mv pid.tmp pid && exec sleep 60' & sleep 60",
            dir.path(),
            Duration::from_secs(2),
            &[],
            &[],
        );
        assert!(r.timed_out && !r.passed && r.code.is_none(), "{r:?}");
        let pid = std::fs::read_to_string(dir.path().join("pid")).unwrap();
        let stat = format!("/proc/{}/stat", pid.trim());
        // Gone, or dead and waiting to be reaped; a grandchild left running still sleeps.
        let dead = || {
            std::fs::read_to_string(&stat)
                .map(|s| {
                    s.rsplit_once(") ")
                        .is_some_and(|(_, rest)| rest.starts_with('Z'))
                })
                .unwrap_or(true)
        };
        let mut tries = 0;
        while !dead() && tries < 250 {
            std::thread::sleep(Duration::from_millis(20));
            tries += 1;
        }
        assert!(dead(), "the grandchild {} outlived the timeout", pid.trim());
    }

    #[test]
    fn only_the_end_of_a_large_output_comes_back() {
        let dir = tempfile::tempdir().unwrap();
        let r = run(
            "seq 1 200000; echo last >&2",
            dir.path(),
            Duration::from_secs(30),
            &[],
            &[],
        );
        assert!(r.passed, "{r:?}");
        assert!(
            r.output.starts_with("[… earlier output cut …]\n"),
            "{}",
            r.output
        );
        assert!(r.output.ends_with("199999\n200000\nlast\n"), "{}", r.output);
        assert!(r.output.chars().count() <= OUTPUT_CHARS + 30);
    }

    #[test]
    fn runs_inside_the_sandbox_words() {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = vec!["env".to_string(), "SANDBOXED=yes".to_string()];
        let r = run(
            "echo in=$SANDBOXED",
            dir.path(),
            Duration::from_secs(10),
            &[],
            &sandbox,
        );
        assert!(r.passed && r.output.contains("in=yes"), "{r:?}");
    }

    fn failed(command: &str, code: i32, output: &str) -> TestRun {
        TestRun {
            command: command.into(),
            passed: false,
            code: Some(code),
            timed_out: false,
            duration: Duration::from_secs(1),
            output: output.into(),
        }
    }

    #[test]
    fn an_environment_that_cannot_run_the_tests_is_recognised() {
        let missing = failed(
            "python3 -m pytest -q",
            1,
            "/usr/bin/python3: No module named pytest\n",
        );
        let u = unrunnable(&missing).unwrap();
        assert!(u.reason.contains("`pytest` is not installed"), "{u:?}");
        assert!(u.fix.contains("pip install pytest"), "{u:?}");
        let not_found = failed("pytest -q", 127, "sh: 1: pytest: not found\n");
        assert!(unrunnable(&not_found).unwrap().reason.contains("`pytest`"));
        let bash = failed("make test", 2, "bash: cargo: command not found\n");
        assert!(unrunnable(&bash).unwrap().reason.contains("`cargo`"));
        let runner = failed(
            "pytest",
            1,
            "Traceback (most recent call last):\n  File \"/usr/lib/python3/dist-packages/_pytest/config/__init__.py\", line 5, in <module>\n    import pluggy\nModuleNotFoundError: No module named 'pluggy'\n",
        );
        assert!(
            unrunnable(&runner)
                .unwrap()
                .reason
                .contains("fails to import")
        );
    }

    #[test]
    fn wrong_code_is_not_an_environment_problem() {
        // The repository's code imports a missing module: the code's business.
        let code = failed(
            "python3 -m unittest",
            1,
            "ImportError: Failed to import test module: test_app\nTraceback (most recent call last):\n  File \"/usr/lib/python3.11/unittest/loader.py\", line 407, in _find_test_path\n  File \"/work/repo/src/app.py\", line 1, in <module>\n    import requests\nModuleNotFoundError: No module named 'requests'\n",
        );
        assert_eq!(unrunnable(&code), None);
        let assertion = failed(
            "python3 -m unittest",
            1,
            "FAIL: test_user\nAssertionError: user: not found\n",
        );
        assert_eq!(unrunnable(&assertion), None);
        let mut passed = failed("true", 0, "");
        passed.passed = true;
        assert_eq!(unrunnable(&passed), None);
    }

    #[test]
    fn trims_to_the_end() {
        let text: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        let t = trim(&text, 100);
        assert!(t.starts_with("[… earlier output cut …]\n"));
        assert!(t.ends_with("line 999\n"));
        assert!(t.len() < 140);
    }
}
