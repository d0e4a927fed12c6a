//! Running the repository's own tests on the developer's edits: `sh -c <command>` in the
//! checkout (inside the operator's sandbox command when one is set), in its own process group
//! with a timeout, with credentials removed from the environment (test code is as untrusted as
//! the model that may have written it), and the output trimmed to what a model can use.

use std::io::{Read as _, Seek as _};
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
    let log = match tempfile_in_temp() {
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
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if start.elapsed() >= timeout => {
                timed_out = true;
                // The whole process group (the test runner and what it started), never pid 0/1.
                if let Ok(pgid) = libc::pid_t::try_from(pgid)
                    && pgid > 1
                {
                    // SAFETY: killpg only sends a signal; the group is the child's own (process_group(0)).
                    unsafe {
                        libc::killpg(pgid, libc::SIGKILL);
                    }
                }
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(25)),
            Err(_) => break None,
        }
    };
    RUNNING.store(0, std::sync::atomic::Ordering::SeqCst);
    let mut log = log;
    let mut bytes = Vec::new();
    let _ = log
        .seek(std::io::SeekFrom::Start(0))
        .and_then(|_| log.read_to_end(&mut bytes));
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

fn tempfile_in_temp() -> std::io::Result<std::fs::File> {
    let dir = std::env::var_os("RUNNER_TEMP")
        .filter(|d| !d.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let mut name = [0u8; 8];
    let _ = getrandom::fill(&mut name);
    let path = dir.join(format!(
        "codex-tests-{}.log",
        name.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ));
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    // Unlinked at once: the file lives as long as the handle, and nothing is left behind.
    let _ = std::fs::remove_file(&path);
    Ok(f)
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

    #[test]
    fn trims_to_the_end() {
        let text: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        let t = trim(&text, 100);
        assert!(t.starts_with("[… earlier output cut …]\n"));
        assert!(t.ends_with("line 999\n"));
        assert!(t.len() < 140);
    }
}
