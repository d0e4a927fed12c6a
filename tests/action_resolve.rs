//! scripts/resolve-binary.sh, the step of action.yml that finds the binary, run without a runner:
//! against a throwaway copy of the action whose checksums/SHA256SUMS this test writes, a tool
//! cache in a temporary directory, and a small HTTP server on 127.0.0.1 (in this process) that
//! counts the requests it gets. Proves: `binary-path` downloads nothing; a download whose SHA-256
//! matches the committed sum is used and cached; a tampered download or a missing sum is refused;
//! a tampered cache entry is not trusted.

use crate::action_support as support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const VERSION: &str = "9.9.9";
const ASSET: &str = "codex-orchestrator-v9.9.9-x86_64-unknown-linux-musl.tar.gz";

/// Serves `body` for any GET of `/<ASSET>` (404 otherwise) and counts every request.
struct Server {
    base: String,
    hits: Arc<AtomicUsize>,
}

impl Server {
    fn start(body: Vec<u8>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&hits);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                counter.fetch_add(1, Ordering::SeqCst);
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                let _ = reader.read_line(&mut request_line);
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                }
                let wanted = format!("GET /{ASSET} ");
                let (status, content): (&str, &[u8]) = if request_line.starts_with(&wanted) {
                    ("200 OK", &body)
                } else {
                    ("404 Not Found", b"not found")
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    content.len()
                );
                let _ = stream.write_all(content);
            }
        });
        Server { base, hits }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// A throwaway copy of the action: the real script, a Cargo.toml naming VERSION, and sums.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new(sums: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("action");
        std::fs::create_dir_all(root.join("scripts")).unwrap();
        std::fs::create_dir_all(root.join("checksums")).unwrap();
        std::fs::copy(
            support::repo().join("scripts/resolve-binary.sh"),
            root.join("scripts/resolve-binary.sh"),
        )
        .unwrap();
        std::fs::write(
            root.join("Cargo.toml"),
            format!(
                "[package]\nname = \"codex-orchestrator\"\nversion = \"{VERSION}\"\nrepository = \"http://127.0.0.1:9/nowhere\"\n"
            ),
        )
        .unwrap();
        std::fs::write(root.join("checksums/SHA256SUMS"), sums).unwrap();
        for d in ["tool-cache", "temp", "work"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        Fixture { dir }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// Runs the script with a clean environment shaped like a GitHub-hosted Linux x64 runner.
    fn resolve(&self, extra: &[(&str, &str)]) -> Resolved {
        let out_file = self.path("github-output");
        let _ = std::fs::remove_file(&out_file);
        let mut cmd = Command::new("bash");
        cmd.arg(self.path("action/scripts/resolve-binary.sh"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("GITHUB_ACTION_PATH", self.path("action"))
            .env("GITHUB_OUTPUT", &out_file)
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("RUNNER_ENVIRONMENT", "github-hosted")
            .env("RUNNER_TOOL_CACHE", self.path("tool-cache"))
            .env("RUNNER_TEMP", self.path("temp"))
            .current_dir(self.path("work"));
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let (code, stdout, stderr) = support::output(&mut cmd);
        let outputs = std::fs::read_to_string(&out_file).unwrap_or_default();
        let get = |key: &str| {
            outputs
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{key}=")))
                .map(str::to_string)
        };
        Resolved {
            code,
            stdout,
            stderr,
            path: get("path"),
            source: get("source"),
        }
    }
}

#[derive(Debug)]
struct Resolved {
    code: i32,
    stdout: String,
    stderr: String,
    path: Option<String>,
    source: Option<String>,
}

/// A release-shaped archive whose `codex-orchestrator` is a script printing `marker`.
fn archive(marker: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("codex-orchestrator");
    std::fs::write(&bin, format!("#!/bin/sh\necho {marker}\n")).unwrap();
    let (code, _, err) = support::output(Command::new("chmod").arg("0755").arg(&bin));
    assert_eq!(code, 0, "{err}");
    let tgz = dir.path().join("a.tar.gz");
    let (code, _, err) = support::output(
        Command::new("tar")
            .arg("-czf")
            .arg(&tgz)
            .arg("-C")
            .arg(dir.path())
            .arg("codex-orchestrator"),
    );
    assert_eq!(code, 0, "tar failed: {err}");
    std::fs::read(tgz).unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("f");
    std::fs::write(&f, bytes).unwrap();
    let (code, out, err) = support::output(Command::new("sha256sum").arg(&f));
    assert_eq!(code, 0, "sha256sum failed: {err}");
    out.split_whitespace().next().unwrap().to_string()
}

fn sums_for(bytes: &[u8]) -> String {
    format!("# test sums\n{}  {ASSET}\n", sha256(bytes))
}

fn run_binary(path: &str) -> String {
    let (code, out, err) = support::output(&mut Command::new(path));
    assert_eq!(code, 0, "{path} failed: {err}");
    out.trim().to_string()
}

fn cached_archive(fx: &Fixture) -> PathBuf {
    fx.path(&format!(
        "tool-cache/codex-orchestrator/{VERSION}/x64/{ASSET}"
    ))
}

#[test]
fn binary_path_is_used_as_is_and_nothing_is_downloaded() {
    let good = archive("from-the-release");
    let server = Server::start(good.clone());
    let fx = Fixture::new(&sums_for(&good));
    let given = fx.path("work/my-binary");
    std::fs::write(&given, "#!/bin/sh\necho mine\n").unwrap();
    support::output(Command::new("chmod").arg("0755").arg(&given));

    let r = fx.resolve(&[
        ("CO_BINARY_PATH", given.to_str().unwrap()),
        ("CODEX_DOWNLOAD_BASE", &server.base),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.source.as_deref(), Some("binary-path"), "{r:?}");
    assert_eq!(r.path.as_deref(), given.to_str());
    assert_eq!(server.hits(), 0, "binary-path must not download anything");
    assert!(
        !cached_archive(&fx).exists(),
        "binary-path must not fill the tool cache"
    );

    // A relative binary-path is resolved against the working directory.
    let r = fx.resolve(&[
        ("CO_BINARY_PATH", "./my-binary"),
        ("CODEX_DOWNLOAD_BASE", &server.base),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.path.as_deref(), given.to_str());
    assert_eq!(server.hits(), 0);
}

#[test]
fn binary_path_that_is_not_executable_is_an_error_not_a_download() {
    let good = archive("from-the-release");
    let server = Server::start(good.clone());
    let fx = Fixture::new(&sums_for(&good));
    let r = fx.resolve(&[
        ("CO_BINARY_PATH", "/nonexistent/codex-orchestrator"),
        ("CODEX_DOWNLOAD_BASE", &server.base),
    ]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("::error"), "{r:?}");
    assert!(r.path.is_none(), "{r:?}");
    assert_eq!(server.hits(), 0);
}

#[test]
fn a_download_matching_the_committed_sum_is_used_then_served_from_the_tool_cache() {
    let good = archive("from-the-release");
    let server = Server::start(good.clone());
    let fx = Fixture::new(&sums_for(&good));

    let r = fx.resolve(&[("CODEX_DOWNLOAD_BASE", &server.base)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.source.as_deref(), Some("download"), "{r:?}");
    assert_eq!(server.hits(), 1);
    assert_eq!(run_binary(r.path.as_deref().unwrap()), "from-the-release");
    assert_eq!(std::fs::read(cached_archive(&fx)).unwrap(), good);

    // Second job on the same runner: the cache, re-verified, and no request.
    let r = fx.resolve(&[("CODEX_DOWNLOAD_BASE", &server.base)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.source.as_deref(), Some("tool-cache"), "{r:?}");
    assert_eq!(server.hits(), 1, "a cache hit must not download");
    assert_eq!(run_binary(r.path.as_deref().unwrap()), "from-the-release");
}

#[test]
fn a_download_whose_sum_does_not_match_is_refused() {
    let good = archive("from-the-release");
    let tampered = archive("tampered");
    let server = Server::start(tampered);
    let fx = Fixture::new(&sums_for(&good));

    // Even on a self-hosted runner with cargo, a mismatch is a hard stop, not a fallback.
    let r = fx.resolve(&[
        ("CODEX_DOWNLOAD_BASE", &server.base),
        ("RUNNER_ENVIRONMENT", "self-hosted"),
    ]);
    assert_ne!(r.code, 0, "{r:?}");
    assert_eq!(server.hits(), 1);
    assert!(
        r.stderr.contains("::error") && r.stderr.contains("SHA-256 mismatch"),
        "{r:?}"
    );
    assert!(r.path.is_none(), "no path may be output: {r:?}");
    assert!(
        !cached_archive(&fx).exists(),
        "a refused archive must not be cached"
    );
}

#[test]
fn a_tampered_tool_cache_entry_is_discarded_and_downloaded_again() {
    let good = archive("from-the-release");
    let server = Server::start(good.clone());
    let fx = Fixture::new(&sums_for(&good));
    let cached = cached_archive(&fx);
    std::fs::create_dir_all(cached.parent().unwrap()).unwrap();
    std::fs::write(&cached, archive("planted-by-another-job")).unwrap();

    let r = fx.resolve(&[("CODEX_DOWNLOAD_BASE", &server.base)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.source.as_deref(), Some("download"), "{r:?}");
    assert!(r.stdout.contains("::warning"), "{r:?}");
    assert_eq!(server.hits(), 1);
    assert_eq!(run_binary(r.path.as_deref().unwrap()), "from-the-release");
    assert_eq!(std::fs::read(&cached).unwrap(), good);
}

#[test]
fn no_committed_sum_means_no_download() {
    let good = archive("from-the-release");
    let server = Server::start(good);
    let fx = Fixture::new("# no releases yet\n");
    let r = fx.resolve(&[("CODEX_DOWNLOAD_BASE", &server.base)]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("::error") && r.stderr.contains("no entry for"),
        "{r:?}"
    );
    assert_eq!(server.hits(), 0);
    assert!(r.path.is_none());
}

#[test]
fn conflicting_sums_are_refused() {
    let good = archive("from-the-release");
    let server = Server::start(good.clone());
    let sums = format!(
        "{}  {ASSET}\n{}  {ASSET}\n",
        sha256(&good),
        sha256(b"other")
    );
    let fx = Fixture::new(&sums);
    let r = fx.resolve(&[("CODEX_DOWNLOAD_BASE", &server.base)]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("conflicting"), "{r:?}");
    assert_eq!(server.hits(), 0);
}

#[test]
fn a_version_that_is_not_a_release_version_is_refused() {
    let good = archive("from-the-release");
    let server = Server::start(good.clone());
    let fx = Fixture::new(&sums_for(&good));
    for bad in ["../../etc", "1.0", "latest", "1.0.0/../x"] {
        let r = fx.resolve(&[("CO_VERSION", bad), ("CODEX_DOWNLOAD_BASE", &server.base)]);
        assert_ne!(r.code, 0, "{bad}: {r:?}");
        assert!(r.stderr.contains("is not a release version"), "{r:?}");
    }
    assert_eq!(server.hits(), 0);
    // `v9.9.9` names the same release as `9.9.9`.
    let r = fx.resolve(&[
        ("CO_VERSION", "v9.9.9"),
        ("CODEX_DOWNLOAD_BASE", &server.base),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(server.hits(), 1);
}

#[test]
fn an_unsupported_platform_without_cargo_fallback_is_an_error() {
    let fx = Fixture::new("");
    let r = fx.resolve(&[("RUNNER_OS", "Windows"), ("RUNNER_ARCH", "X64")]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("no release binary is published"), "{r:?}");
}

#[test]
fn the_repository_sums_file_lists_only_well_formed_entries() {
    let text = std::fs::read_to_string(support::repo().join("checksums/SHA256SUMS")).unwrap();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let mut parts = line.split_whitespace();
        let sum = parts.next().unwrap_or_default();
        let file = parts.next().unwrap_or_default();
        assert!(
            sum.len() == 64 && sum.chars().all(|c| c.is_ascii_hexdigit()),
            "bad sum in {line:?}"
        );
        assert!(
            file.starts_with("codex-orchestrator-v") && file.ends_with(".tar.gz"),
            "bad file name in {line:?}"
        );
        assert!(parts.next().is_none(), "extra fields in {line:?}");
    }
}

/// A stand-in `cargo` on PATH that records its arguments and "builds" a script.
fn fake_cargo(dir: &std::path::Path) -> PathBuf {
    let bin_dir = dir.join("fake-bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    let cargo = bin_dir.join("cargo");
    std::fs::write(
        &cargo,
        r#"#!/bin/sh
printf '%s\n' "$@" >"$(dirname "$0")/cargo-args"
while [ $# -gt 0 ]; do
  if [ "$1" = --target-dir ]; then dir=$2; fi
  shift
done
mkdir -p "$dir/dist"
printf '#!/bin/sh\necho built-from-source\n' >"$dir/dist/codex-orchestrator"
chmod 0755 "$dir/dist/codex-orchestrator"
"#,
    )
    .unwrap();
    support::output(Command::new("chmod").arg("0755").arg(&cargo));
    bin_dir
}

#[test]
fn self_hosted_runners_with_cargo_build_from_source_when_no_sum_is_committed() {
    let server = Server::start(archive("from-the-release"));
    let fx = Fixture::new("# no releases yet\n");
    let bin_dir = fake_cargo(fx.dir.path());
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let r = fx.resolve(&[
        ("PATH", &path),
        ("RUNNER_ENVIRONMENT", "self-hosted"),
        ("CODEX_DOWNLOAD_BASE", &server.base),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.source.as_deref(), Some("source-build"), "{r:?}");
    assert_eq!(server.hits(), 0, "no sum, no download");
    assert_eq!(run_binary(r.path.as_deref().unwrap()), "built-from-source");
    let args = std::fs::read_to_string(bin_dir.join("cargo-args")).unwrap();
    let args: Vec<&str> = args.lines().collect();
    let manifest = fx.path("action/Cargo.toml");
    assert_eq!(
        args[..6],
        [
            "build",
            "--locked",
            "--profile",
            "dist",
            "--manifest-path",
            manifest.to_str().unwrap()
        ],
        "{args:?}"
    );

    // The same on a GitHub-hosted runner: no build, an error.
    let r = fx.resolve(&[("PATH", &path), ("CODEX_DOWNLOAD_BASE", &server.base)]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("no source build is possible"), "{r:?}");
}

/// The `run:` text of the step called `name` in .github/workflows/release.yml.
fn release_step(name: &str) -> String {
    let text =
        std::fs::read_to_string(support::repo().join(".github/workflows/release.yml")).unwrap();
    let doc: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    doc["jobs"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|job| job["steps"].as_array().cloned().unwrap_or_default())
        .find(|s| s["name"] == name)
        .and_then(|s| s["run"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("release.yml has no step {name:?}"))
}

/// release.yml and resolve-binary.sh agree: the archive and sums the release's own packing and
/// summing steps make (run here with bash, a stand-in binary and a stand-in `file`) are what
/// the action downloads, verifies and runs.
#[test]
fn what_release_yml_publishes_is_what_the_action_accepts() {
    let work = tempfile::tempdir().unwrap();
    let target = "x86_64-unknown-linux-musl";
    let dist = work.path().join(format!("target/{target}/dist"));
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(
        dist.join("codex-orchestrator"),
        format!("#!/bin/sh\necho codex-orchestrator {VERSION}\n"),
    )
    .unwrap();
    support::output(
        Command::new("chmod")
            .arg("0755")
            .arg(dist.join("codex-orchestrator")),
    );
    let stub_dir = work.path().join("stubs");
    std::fs::create_dir_all(&stub_dir).unwrap();
    std::fs::write(
        stub_dir.join("file"),
        "#!/bin/sh\necho \"$1: ELF 64-bit LSB executable, statically linked\"\n",
    )
    .unwrap();
    support::output(Command::new("chmod").arg("0755").arg(stub_dir.join("file")));
    let path = format!(
        "{}:{}",
        stub_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let bash = |script: String, dir: &std::path::Path| {
        let (code, out, err) = support::output(
            Command::new("bash")
                .args(["-eo", "pipefail", "-c"])
                .arg(script)
                .current_dir(dir)
                .env("PATH", &path)
                .env("TARGET", target)
                .env("VERSION", VERSION),
        );
        assert_eq!(code, 0, "release step failed:\n{out}{err}");
    };
    bash(release_step("Check, pack and sum"), work.path());
    bash(
        release_step("Verify the per-archive sums and write SHA256SUMS"),
        &work.path().join("dist"),
    );

    let published = std::fs::read(work.path().join(format!("dist/{ASSET}"))).unwrap();
    let sums = std::fs::read_to_string(work.path().join("dist/SHA256SUMS")).unwrap();
    assert_eq!(sums.lines().count(), 1, "{sums}");
    // The maintainer commits the SHA256SUMS lines; the action then trusts exactly those.
    let server = Server::start(published);
    let fx = Fixture::new(&format!("# committed from the release\n{sums}"));
    let r = fx.resolve(&[("CODEX_DOWNLOAD_BASE", &server.base)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.source.as_deref(), Some("download"), "{r:?}");
    assert_eq!(
        run_binary(r.path.as_deref().unwrap()),
        format!("codex-orchestrator {VERSION}")
    );
}

#[test]
fn an_unusable_tool_cache_costs_only_a_warning() {
    let good = archive("from-the-release");
    let server = Server::start(good.clone());
    let fx = Fixture::new(&sums_for(&good));
    let not_a_dir = fx.path("not-a-dir");
    std::fs::write(&not_a_dir, "a file where the tool cache should be").unwrap();
    let r = fx.resolve(&[
        ("CODEX_DOWNLOAD_BASE", &server.base),
        ("RUNNER_TOOL_CACHE", not_a_dir.to_str().unwrap()),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.source.as_deref(), Some("download"), "{r:?}");
    assert!(r.stdout.contains("could not cache"), "{r:?}");
    assert_eq!(run_binary(r.path.as_deref().unwrap()), "from-the-release");
}

#[test]
fn an_input_cannot_smuggle_a_workflow_command_into_the_log() {
    let fx = Fixture::new("");
    let r = fx.resolve(&[("CO_VERSION", "1.0\n::add-mask::oops\n::error::injected")]);
    assert_ne!(r.code, 0);
    let commands: Vec<&str> = r.stderr.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(commands.len(), 1, "one ::error line expected: {r:?}");
}

/// Another job on the same runner swaps the shared cache entry between a good and an evil
/// archive as fast as it can. The script hashes a private copy and extracts that same copy, so
/// what runs is always what was hashed: no resolve may yield the evil binary.
#[test]
fn a_cache_entry_swapped_during_resolves_never_yields_the_evil_binary() {
    let good = archive("from-the-release");
    let evil = archive("evil");
    let server = Server::start(good.clone());
    let fx = Fixture::new(&sums_for(&good));
    let cached = cached_archive(&fx);
    let dir = cached.parent().unwrap().to_path_buf();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(&cached, &good).unwrap();

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swaps = Arc::new(AtomicUsize::new(0));
    let swapper = {
        let (stop, swaps, cached, dir) = (stop.clone(), swaps.clone(), cached.clone(), dir.clone());
        std::thread::spawn(move || {
            let mut n = 0usize;
            while !stop.load(Ordering::SeqCst) {
                let body = if n.is_multiple_of(2) { &evil } else { &good };
                let tmp = dir.join(format!("swap.{n}"));
                if std::fs::write(&tmp, body).is_ok() && std::fs::rename(&tmp, &cached).is_ok() {
                    swaps.fetch_add(1, Ordering::SeqCst);
                }
                n += 1;
            }
        })
    };

    let mut evil_runs = 0;
    let mut good_runs = 0;
    for _ in 0..60 {
        let r = fx.resolve(&[("CODEX_DOWNLOAD_BASE", &server.base)]);
        assert_eq!(r.code, 0, "{r:?}");
        match run_binary(r.path.as_deref().unwrap()).as_str() {
            "evil" => evil_runs += 1,
            "from-the-release" => good_runs += 1,
            other => panic!("unexpected binary output {other:?}"),
        }
    }
    stop.store(true, Ordering::SeqCst);
    swapper.join().unwrap();
    assert!(
        swaps.load(Ordering::SeqCst) > 60,
        "the swapper must really have raced the resolves"
    );
    assert_eq!((evil_runs, good_runs), (0, 60));
}
