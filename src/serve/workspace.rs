//! Workspaces under `WORKDIR_ROOT`: one bare mirror per repository, fetched with the read
//! credential, and one fresh checkout per job copied from it (no hard links, so nothing a job
//! does can reach the mirror). The token travels to git in its environment only, never in a
//! URL, an argument or a `.git/config`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    /// One fetch per mirror at a time.
    locks: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>,
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

    /// Fetches the repository's branches (and `refs/pull/N/head` when given) into its mirror;
    /// returns the default branch.
    pub async fn fetch(
        &self,
        repo: &Repo,
        token: Option<&Secret>,
        pr: Option<u64>,
    ) -> Result<String, String> {
        let lock = {
            let mut m = self.locks.lock().map_err(|_| "workspace lock poisoned")?;
            m.entry(repo.id).or_default().clone()
        };
        let _held = lock.lock().await;
        let mirror = self.mirror(repo);
        let url = self.clone_url(repo);
        if !mirror.join("HEAD").exists() {
            std::fs::create_dir_all(&mirror)
                .map_err(|e| format!("cannot create {}: {e}", mirror.display()))?;
            let mut init = self.git(None, &url);
            init.arg("init").arg("--quiet").arg("--bare").arg(&mirror);
            self.run(init, "creating the mirror").await?;
        }
        let default_branch = match &repo.default_branch {
            Some(b) => b.clone(),
            None => {
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
        let mut fetch = self.git(token, &url);
        fetch
            .arg("-C")
            .arg(&mirror)
            .args(["fetch", "--quiet", "--prune", "--no-tags", "--"])
            .arg(&url)
            .arg("+refs/heads/*:refs/heads/*");
        self.run(fetch, &format!("fetching {}", repo.full_name))
            .await?;
        if let Some(n) = pr {
            let mut fetch = self.git(token, &url);
            fetch
                .arg("-C")
                .arg(&mirror)
                .args(["fetch", "--quiet", "--no-tags", "--"])
                .arg(&url)
                .arg(format!("+refs/pull/{n}/head:refs/pull/{n}/head"));
            // The reviewer falls back to the API's diff when the head is not in the checkout.
            if let Err(e) = self
                .run(fetch, &format!("fetching pull request #{n}"))
                .await
            {
                tracing::warn!("{e}");
            }
        }
        Ok(default_branch)
    }

    /// A fresh checkout of the default branch in `dest`, with the pull request's head objects
    /// when the mirror has them. `origin` points at the mirror, which holds no credential.
    pub async fn checkout(
        &self,
        repo: &Repo,
        default_branch: &str,
        pr: Option<u64>,
        dest: &Path,
    ) -> Result<Checkout, String> {
        if dest.exists() {
            std::fs::remove_dir_all(dest)
                .map_err(|e| format!("cannot clear {}: {e}", dest.display()))?;
        }
        let mirror = self.mirror(repo);
        let source = format!("file://{}", mirror.display());
        let mut clone = self.git(None, &source);
        clone
            .args([
                "clone",
                "--quiet",
                "--no-hardlinks",
                "--branch",
                default_branch,
                "--",
            ])
            .arg(&source)
            .arg(dest);
        self.run(clone, "checking out").await?;
        if let Some(n) = pr {
            let mut fetch = self.git(None, &source);
            fetch
                .arg("-C")
                .arg(dest)
                .args(["fetch", "--quiet", "--no-tags", "origin"])
                .arg(format!("+refs/pull/{n}/head:refs/pull/{n}/head"));
            let _ = self.run(fetch, "copying the pull request head").await;
        }
        let mut head = self.git(None, &source);
        head.arg("-C").arg(dest).args(["rev-parse", "HEAD"]);
        let head = self.run(head, "reading the checkout").await?;
        Ok(Checkout {
            dir: dest.to_path_buf(),
            default_branch: default_branch.to_string(),
            head: head.trim().to_string(),
        })
    }
}
