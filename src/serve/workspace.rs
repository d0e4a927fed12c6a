//! Workspaces under `WORKDIR_ROOT`: one bare mirror per repository, fetched with the read
//! credential, and one fresh checkout per job that borrows the mirror's objects (`--shared`:
//! the mirror lies outside the job's folder, so a sandbox that binds only that folder cannot
//! change it). The token travels to git in its environment only, never in a URL, an argument
//! or a `.git/config`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use tokio::process::Command;

use crate::config::Secret;

use super::store::Repo;

/// Git's answers are bounded like every other wait.
const GIT_TIMEOUT: Duration = Duration::from_secs(600);

pub struct Workspaces {
    root: PathBuf,
    server_url: String,
    path: String,
    /// One fetch per mirror at a time; the lock holds when the last fetch finished and the
    /// default branch it found.
    locks: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<Fetched>>>>,
}

/// What the last fetch of a mirror left.
#[derive(Default)]
struct Fetched {
    at: Option<Instant>,
    default_branch: Option<String>,
}

/// A mirror fetched for a job.
pub struct Mirror {
    pub default_branch: String,
    /// The repository's own URL (pull request heads are fetched from it).
    url: String,
}

/// A checkout ready for a job.
pub struct Checkout {
    pub dir: PathBuf,
    pub default_branch: String,
    pub head: String,
}

impl Workspaces {
    pub fn new(root: &Path, server_url: &str, path: &str) -> Self {
        Workspaces {
            root: root.to_path_buf(),
            server_url: server_url.to_string(),
            path: path.to_string(),
            locks: Mutex::new(HashMap::new()),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder of one job: its checkout, change set, reports and logs.
    pub fn job_dir(&self, job_id: i64) -> PathBuf {
        self.root.join("jobs").join(job_id.to_string())
    }

    fn mirror(&self, repo: &Repo) -> PathBuf {
        self.root
            .join("repos")
            .join(format!("{}-{}", repo.id, repo.full_name.replace('/', "-")))
            .join("mirror.git")
    }

    pub fn clone_url(&self, repo: &Repo) -> String {
        repo.clone_url
            .clone()
            .unwrap_or_else(|| format!("{}/{}.git", self.server_url, repo.full_name))
    }

    fn git(&self, token: Option<&Secret>, url: &str) -> Command {
        let mut cmd = Command::new("git");
        cmd.env_clear()
            .env("PATH", &self.path)
            .env("HOME", &self.root)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("LC_ALL", "C")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        if let Some(t) = token
            && url.starts_with("https://")
        {
            let basic = base64::engine::general_purpose::STANDARD
                .encode(format!("x-access-token:{}", t.expose()));
            cmd.env("GIT_CONFIG_COUNT", "1")
                .env("GIT_CONFIG_KEY_0", "http.extraHeader")
                .env(
                    "GIT_CONFIG_VALUE_0",
                    format!("Authorization: Basic {basic}"),
                );
        }
        cmd
    }

    async fn run(&self, mut cmd: Command, what: &str) -> Result<String, String> {
        let out = tokio::time::timeout(GIT_TIMEOUT, cmd.output())
            .await
            .map_err(|_| format!("{what}: git did not finish within {GIT_TIMEOUT:?}"))?
            .map_err(|e| format!("{what}: cannot run git ({e}); serve mode needs git on PATH"))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let tail: String = err.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
            return Err(format!("{what}: git failed ({}): {tail}", out.status));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Fetches the repository's branches into its mirror. A fetch that finished after `since`
    /// (the job's start) serves the job as it is: jobs that start together share one fetch.
    pub async fn fetch(
        &self,
        repo: &Repo,
        token: Option<&Secret>,
        since: Instant,
    ) -> Result<Mirror, String> {
        let lock = {
            let mut m = self.locks.lock().map_err(|_| "workspace lock poisoned")?;
            m.entry(repo.id).or_default().clone()
        };
        let mut fetched = lock.lock().await;
        let mirror = self.mirror(repo);
        let url = self.clone_url(repo);
        if !mirror.join("HEAD").exists() {
            std::fs::create_dir_all(&mirror)
                .map_err(|e| format!("cannot create {}: {e}", mirror.display()))?;
            let mut init = self.git(None, &url);
            init.arg("init").arg("--quiet").arg("--bare").arg(&mirror);
            self.run(init, "creating the mirror").await?;
            *fetched = Fetched::default();
        }
        let fresh = fetched.at.is_some_and(|at| at >= since);
        let default_branch = match (&repo.default_branch, &fetched.default_branch) {
            (Some(b), _) => b.clone(),
            (None, Some(b)) if fresh => b.clone(),
            (None, _) => {
                let mut ls = self.git(token, &url);
                ls.arg("ls-remote").arg("--symref").arg(&url).arg("HEAD");
                let out = self.run(ls, "reading the default branch").await?;
                out.lines()
                    .find_map(|l| l.strip_prefix("ref: refs/heads/"))
                    .and_then(|l| l.split('\t').next())
                    .map(str::to_string)
                    .ok_or_else(|| {
                        format!("cannot tell the default branch of {url}; set default_branch on the repository")
                    })?
            }
        };
        if !fresh {
            let mut cmd = self.git(token, &url);
            cmd.arg("-C")
                .arg(&mirror)
                .args(["fetch", "--quiet", "--prune", "--no-tags", "--"])
                .arg(&url)
                .arg("+refs/heads/*:refs/heads/*");
            self.run(cmd, &format!("fetching {}", repo.full_name))
                .await?;
            fetched.at = Some(Instant::now());
        }
        fetched.default_branch = Some(default_branch.clone());
        Ok(Mirror {
            default_branch,
            url,
        })
    }

    /// A fresh checkout of the default branch in `dest`, plus the pull request's head objects
    /// (fetched from the repository, best effort: the reviewer falls back to the API's diff).
    /// `origin` points at the mirror, which holds no credential.
    pub async fn checkout(
        &self,
        repo: &Repo,
        fetched: &Mirror,
        pr: Option<(u64, Option<&Secret>)>,
        dest: &Path,
    ) -> Result<Checkout, String> {
        if dest.exists() {
            std::fs::remove_dir_all(dest)
                .map_err(|e| format!("cannot clear {}: {e}", dest.display()))?;
        }
        let mirror = self.mirror(repo);
        let mut clone = self.git(None, "");
        clone
            .args(["clone", "--quiet", "--shared", "--branch"])
            .arg(&fetched.default_branch)
            .arg("--")
            .arg(&mirror)
            .arg(dest);
        self.run(clone, "checking out").await?;
        if let Some((n, token)) = pr {
            let mut fetch = self.git(token, &fetched.url);
            fetch
                .arg("-C")
                .arg(dest)
                .args(["fetch", "--quiet", "--no-tags", "--"])
                .arg(&fetched.url)
                .arg(format!("+refs/pull/{n}/head:refs/pull/{n}/head"));
            if let Err(e) = self.run(fetch, &format!("fetching the head of #{n}")).await {
                tracing::debug!("{e}");
            }
        }
        let mut head = self.git(None, "");
        head.arg("-C").arg(dest).args(["rev-parse", "HEAD"]);
        let head = self.run(head, "reading the checkout").await?;
        Ok(Checkout {
            dir: dest.to_path_buf(),
            default_branch: fetched.default_branch.clone(),
            head: head.trim().to_string(),
        })
    }
}
