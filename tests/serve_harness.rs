//! Helpers for the serve-mode tests: a server in this process (settings from a map, so a test
//! can rotate a token) or the real binary (for kill -9 and SIGTERM), a fake `codex-orchestrator`
//! standing in for the roles (a script that records its argv and environment and writes a
//! change set), a bare repository to clone from, and signed webhook deliveries.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use codex_orchestrator::serve::{self, Settings, signature};
use serde_json::{Value, json};

use crate::support::{BIN, git};

pub const ADMIN: &str = "admin-token-0123456789abcdef";
pub const SECRET: &str = "webhook-secret-fedcba9876543210";
pub const READ_TOKEN: &str = "ghp_readtoken00000000000000000000000000";
pub const WRITE_TOKEN: &str = "ghp_writetoken0000000000000000000000000";

/// A test's folder: the fake binary, its records, a bare repository and the server's state.
pub struct Workbench {
    pub dir: tempfile::TempDir,
    pub exe: PathBuf,
    pub records: PathBuf,
    pub bare: PathBuf,
    pub db: PathBuf,
    pub workdir: PathBuf,
}

/// The fake binary: records `work` and `publish` invocations (argv, then `---`, then env) in
/// `records/`, writes a change set for `--changes-out`, and prints a JSON answer for `publish`.
/// `control/work-exit` and `control/publish-exit` set exit codes; `control/sleep-once` makes
/// the first work phase sleep that many seconds (then the file is removed); `control/changes`,
/// when present, is the change set every work phase writes.
fn fake_exe_script(records: &Path, control: &Path) -> String {
    format!(
        r#"#!/bin/bash
rec='{records}'
ctl='{control}'
phase=work
out=''
prev=''
for a in "$@"; do
  [ "$a" = publish ] && phase=publish
  [ "$prev" = --changes-out ] && out="$a"
  prev="$a"
done
f="$rec/$phase-$GITHUB_RUN_ID-$$"
{{ printf '%s\n' "$@"; echo ---; export -p; }} > "$f"
if [ "$phase" = work ]; then
  if [ -f "$ctl/sleep-once" ]; then s=$(<"$ctl/sleep-once"); rm -f "$ctl/sleep-once"; sleep "$s"; fi
  if [ -f "$ctl/sleep" ]; then sleep "$(<"$ctl/sleep")"; fi
  code=0; [ -f "$ctl/work-exit" ] && code=$(<"$ctl/work-exit")
  if [ "$code" = 0 ] && [ -n "$out" ] && [ -f "$ctl/changes" ]; then
    cp "$ctl/changes" "$out"
  elif [ "$code" = 0 ] && [ -n "$out" ]; then
    printf '{{"version": 1, "run_id": "%s", "writes": [{{"comment": "hello"}}]}}' "$GITHUB_RUN_ID" > "$out"
  fi
  [ "$code" != 0 ] && echo "fake role failed on purpose (token $GH_TOKEN)" >&2
  exit "$code"
else
  code=0; [ -f "$ctl/publish-exit" ] && code=$(<"$ctl/publish-exit")
  printf '{{"written": ["comment"], "run_id": "%s"}}\n' "$GITHUB_RUN_ID"
  exit "$code"
fi
"#,
        records = records.display(),
        control = control.display()
    )
}

impl Workbench {
    pub fn new() -> Workbench {
        let dir = tempfile::tempdir().unwrap();
        let records = dir.path().join("records");
        let control = dir.path().join("control");
        std::fs::create_dir_all(&records).unwrap();
        std::fs::create_dir_all(&control).unwrap();
        let exe = dir.path().join("fake-codex-orchestrator");
        std::fs::write(&exe, fake_exe_script(&records, &control)).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();

        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("tasks")).unwrap();
        std::fs::write(src.join("README.md"), "# app\n").unwrap();
        std::fs::write(
            src.join("tasks/T-0001-ci.md"),
            "---\nid: T-0001\ntitle: Set up CI\ntype: chore\npriority: P0\ndepends_on: []\nstatus: queued\nacceptance:\n  - CI runs\n---\n\nSet up CI.\n",
        )
        .unwrap();
        git(&src, &["init", "-q", "-b", "main"]);
        git(&src, &["add", "-A"]);
        git(&src, &["commit", "-q", "-m", "initial"]);
        let bare = dir.path().join("app.git");
        git(
            dir.path(),
            &[
                "clone",
                "-q",
                "--bare",
                src.to_str().unwrap(),
                bare.to_str().unwrap(),
            ],
        );
        Workbench {
            db: dir.path().join("state/serve.db"),
            workdir: dir.path().join("work"),
            exe,
            records,
            bare,
            dir,
        }
    }

    pub fn control(&self, name: &str, value: &str) {
        std::fs::write(self.dir.path().join("control").join(name), value).unwrap();
    }

    /// The environment the server starts with.
    pub fn env(&self, github: &str) -> HashMap<String, String> {
        let mut env = HashMap::new();
        for (k, v) in [
            ("GITHUB_WEBHOOK_SECRET", SECRET),
            ("CODEX_ADMIN_TOKEN", ADMIN),
            ("OCTO_READ_TOKEN", READ_TOKEN),
            ("OCTO_WRITE_TOKEN", WRITE_TOKEN),
            ("CODEX_SERVE_WORKERS", "4"),
            ("CODEX_RETRY_BACKOFF", "50ms"),
            ("CODEX_JOB_LEASE", "10s"),
            ("CODEX_SHUTDOWN_GRACE", "3s"),
            // No taskmaster of its own: these tests count the jobs they cause.
            ("CODEX_TASKMASTER_INTERVAL", "off"),
            ("SERVER_ONLY_CANARY", "canary-value-must-not-reach-jobs"),
        ] {
            env.insert(k.to_string(), v.to_string());
        }
        env.insert("GITHUB_API_URL".into(), github.to_string());
        env.insert("CODEX_SERVE_EXE".into(), self.exe.display().to_string());
        env.insert("WORKDIR_ROOT".into(), self.workdir.display().to_string());
        env.insert(
            "PATH".into(),
            std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into()),
        );
        env
    }

    /// The recorded invocations of one phase: (argv, env).
    pub fn records(&self, phase: &str) -> Vec<(Vec<String>, HashMap<String, String>)> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.records).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.starts_with(&format!("{phase}-")) || name.ends_with(".tmp") {
                continue;
            }
            let text = std::fs::read_to_string(entry.path()).unwrap();
            let (argv, env) = text.split_once("\n---\n").unwrap_or((&text, ""));
            let argv = argv.lines().map(str::to_string).collect();
            // `export -p` lines: declare -x NAME="VALUE" (values here have no quotes or newlines).
            let env = env
                .lines()
                .filter_map(|l| l.strip_prefix("declare -x "))
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
                .collect();
            out.push((argv, env));
        }
        out
    }

    /// The registration body for `octo/app`, cloning from the bare repository.
    pub fn repo_body(&self, mode: &str) -> Value {
        json!({
            "full_name": "octo/app",
            "mode": mode,
            "token_env": "OCTO_WRITE_TOKEN",
            "read_token_env": "OCTO_READ_TOKEN",
            "clone_url": format!("file://{}", self.bare.display()),
        })
    }
}

/// A server running in this process.
pub struct InProcess {
    pub url: String,
    pub env: Arc<Mutex<HashMap<String, String>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl InProcess {
    pub async fn start(bench: &Workbench, env: HashMap<String, String>) -> InProcess {
        let env = Arc::new(Mutex::new(env));
        let shared = env.clone();
        let settings = Settings::from_env(
            "127.0.0.1:0".parse().unwrap(),
            bench.db.clone(),
            Arc::new(move |k| shared.lock().unwrap().get(k).cloned()),
        )
        .unwrap();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (addr_tx, addr_rx) = tokio::sync::oneshot::channel::<SocketAddr>();
        let done = tokio::spawn(serve::serve(
            settings,
            async move {
                let _ = stop_rx.await;
            },
            Some(addr_tx),
        ));
        let addr = addr_rx.await.expect("the server starts");
        InProcess {
            url: format!("http://{addr}"),
            env,
            stop: Some(stop_tx),
            done: Some(done),
        }
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(d) = self.done.take() {
            d.await.unwrap().unwrap();
        }
    }
}

/// The real binary, `serve --listen 127.0.0.1:0`, with its stderr collected.
pub struct Binary {
    pub child: Child,
    pub url: String,
    pub stderr: Arc<Mutex<String>>,
}

impl Binary {
    pub fn start(bench: &Workbench, env: &HashMap<String, String>) -> Binary {
        let mut child = Command::new(BIN)
            .args(["-vv", "serve", "--listen", "127.0.0.1:0", "--db"])
            .arg(&bench.db)
            .env_clear()
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let pipe = child.stderr.take().unwrap();
        let collected = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if let Some(url) = line.split("listening on ").nth(1) {
                    let _ = tx.send(url.trim().to_string());
                }
                let mut s = collected.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("the server did not start: {}", stderr.lock().unwrap()));
        Binary { child, url, stderr }
    }

    pub fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP client for the API.
pub fn client() -> reqwest::Client {
    codex_orchestrator::crypto::install();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// `(status, JSON body)` of a request; a non-JSON body fails the test.
pub async fn call(req: reqwest::RequestBuilder) -> (u16, Value) {
    let r = req.send().await.expect("the server answers");
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = r.text().await.unwrap();
    assert!(
        ct.starts_with("application/json"),
        "HTTP {status} answered {ct:?}, not JSON: {text}"
    );
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")),
    )
}

pub fn admin(req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    req.bearer_auth(ADMIN)
}

/// Registers `body`; returns the repository id.
pub async fn register(url: &str, body: &Value) -> i64 {
    let (status, repo) = call(admin(client().post(format!("{url}/repos"))).json(body)).await;
    assert_eq!(status, 201, "{repo}");
    repo["id"].as_i64().unwrap()
}

/// A webhook delivery signed with `secret`.
pub fn delivery(
    url: &str,
    event: &str,
    id: &str,
    body: &[u8],
    secret: &str,
) -> reqwest::RequestBuilder {
    client()
        .post(format!("{url}/webhook"))
        .header("x-github-event", event)
        .header("x-github-delivery", id)
        .header("content-type", "application/json")
        .header(
            "x-hub-signature-256",
            signature::sign(secret.as_bytes(), body),
        )
        .body(body.to_vec())
}

/// A `pull_request` payload for `octo/app` PR `number` at head `sha`.
pub fn pr_event(action: &str, number: u64, sha: &str) -> Vec<u8> {
    let mut v = crate::support::pull_request(action, number, false, false);
    v["pull_request"]["head"]["sha"] = json!(sha);
    v.to_string().into_bytes()
}

/// Polls `GET /jobs/{id}` until the job reaches one of `states`.
pub async fn wait_job(url: &str, id: i64, states: &[&str], within: Duration) -> Value {
    let start = Instant::now();
    loop {
        let (status, body) = call(client().get(format!("{url}/jobs/{id}"))).await;
        assert_eq!(status, 200, "{body}");
        let state = body["job"]["state"].as_str().unwrap_or("").to_string();
        if states.contains(&state.as_str()) {
            return body["job"].clone();
        }
        assert!(
            start.elapsed() < within,
            "job {id} is still {state} after {within:?}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `count()` is at least `n`.
pub async fn wait_for(what: &str, within: Duration, mut count: impl FnMut() -> bool) {
    let start = Instant::now();
    while !count() {
        assert!(start.elapsed() < within, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
