//! What the benches share: git without user or system configuration, and a big repository
//! generated in one `git fast-import` stream (seconds for 100k files, where commits would take
//! minutes).
#![allow(dead_code)]

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{ChildStdin, Command, Stdio};
use std::time::Duration;

/// git in `dir` with no user or system configuration.
pub fn git(dir: &Path) -> Command {
    let mut c = Command::new("git");
    c.current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null");
    c
}

/// Runs git in `dir`; panics with git's message on failure. Returns stdout.
pub fn run(dir: &Path, args: &[&str]) -> String {
    let out = git(dir).args(args).output().expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// `git init -b main` in `dir`, then `write` feeds one `git fast-import` stream.
pub fn fast_import(dir: &Path, write: impl FnOnce(&mut BufWriter<ChildStdin>)) {
    run(dir, &["init", "-q", "-b", "main", "."]);
    let mut child = git(dir)
        .args(["fast-import", "--quiet"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("fast-import");
    let mut s = BufWriter::new(child.stdin.take().expect("stdin"));
    write(&mut s);
    s.flush().expect("fast-import input");
    drop(s);
    assert!(child.wait().expect("fast-import").success());
}

/// Writes one blob with mark `mark`.
pub fn blob(s: &mut impl Write, mark: usize, data: &str) {
    write!(s, "blob\nmark :{mark}\ndata {}\n{data}\n", data.len()).expect("fast-import input");
}

/// The median of the measured times.
pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}
