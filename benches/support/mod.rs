//! What the benches share: one way to time (`timed`, `samples`, `Spread`), git without user or
//! system configuration, and a big repository generated in one `git fast-import` stream (seconds
//! for 100k files, where commits would take minutes).
#![allow(dead_code)]

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

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

/// Runs `f` once: its result and how long it took.
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = std::hint::black_box(f());
    (out, start.elapsed())
}

/// How long each of `runs` calls of `f` took, in order.
pub fn samples<T>(runs: usize, mut f: impl FnMut() -> T) -> Vec<Duration> {
    (0..runs).map(|_| timed(&mut f).1).collect()
}

/// The spread of measured times.
#[derive(Debug, Clone, Copy)]
pub struct Spread {
    pub n: usize,
    pub min: Duration,
    pub median: Duration,
    pub mean: Duration,
    pub max: Duration,
}

impl Spread {
    /// Panics on no samples (a bench that measured nothing is broken).
    pub fn of(mut samples: Vec<Duration>) -> Spread {
        assert!(!samples.is_empty(), "no samples to summarise");
        samples.sort();
        let total: Duration = samples.iter().sum();
        Spread {
            n: samples.len(),
            min: samples[0],
            median: samples[samples.len() / 2],
            mean: total / samples.len() as u32,
            max: samples[samples.len() - 1],
        }
    }
}

/// The median of the measured times.
pub fn median(v: Vec<Duration>) -> Duration {
    Spread::of(v).median
}

/// A duration in milliseconds, for printing.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
