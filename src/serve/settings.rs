//! The server's settings, read once at start from its environment (the seed's names where it has
//! them: `POLLING_ENABLED`, `POLL_INTERVAL_ACTIVE`, `POLL_INTERVAL_IDLE`, `MIN_REMAINING_BUDGET`,
//! `WORKDIR_ROOT`). A missing or empty webhook secret or admin token stops the start.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::config::Secret;

/// Reads one environment variable; tests pass their own.
pub type Env = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The process environment as an `Env`: credentials from the vault `main` sealed them into
/// (`config::secret::seal`), everything else from the environment.
pub fn process_env() -> Env {
    Arc::new(crate::config::secret::vault)
}

#[derive(Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub db: PathBuf,
    pub webhook_secret: Secret,
    pub admin_token: Secret,
    /// `GITHUB_API_URL` [https://api.github.com].
    pub api_url: String,
    /// `GITHUB_SERVER_URL` [https://github.com]: default clone URLs.
    pub server_url: String,
    /// `OLLAMA_BASE_URL`, handed to every role (a repository's setting overrides it).
    pub ollama_base_url: Option<String>,
    /// `WORKDIR_ROOT` [/tmp/codex-work]: mirrors and per-job checkouts.
    pub workdir_root: PathBuf,
    pub polling_enabled: bool,
    pub poll_active: Duration,
    pub poll_idle: Duration,
    pub min_remaining_budget: u64,
    /// `CODEX_RECONCILE_INTERVAL` [1h]: a poll cycle even with polling off (missed webhooks).
    pub reconcile_interval: Duration,
    /// `CODEX_TASKMASTER_INTERVAL` [1h]: how often each repository's Taskmaster runs (the
    /// Actions example's hourly `schedule`); the first run is due at registration. `0` or `off`:
    /// never on its own.
    pub taskmaster_interval: Option<Duration>,
    /// `CODEX_SERVE_WORKERS` [2]: jobs running at once, over all repositories.
    pub workers: usize,
    /// `CODEX_SERVE_EXE` [this binary]: the program a job runs.
    pub exe: PathBuf,
    /// `CODEX_JOB_LEASE` [60s]: how long a worker holds a job between heartbeats.
    pub lease: Duration,
    /// `CODEX_JOB_TIMEOUT` [1h]: the work phase's limit.
    pub job_timeout: Duration,
    /// `CODEX_PUBLISH_TIMEOUT` [10m]: the publish phase's limit.
    pub publish_timeout: Duration,
    /// `CODEX_RETRY_BACKOFF` [30s]: the first retry's delay; it doubles per attempt.
    pub retry_backoff: Duration,
    /// `CODEX_MAX_ATTEMPTS` [3].
    pub max_attempts: u32,
    /// `CODEX_SHUTDOWN_GRACE` [20s]: how long SIGTERM waits for running jobs before re-queueing them.
    pub shutdown_grace: Duration,
    /// `CODEX_TEST_SANDBOX`: the command the Developer runs tests inside (else tests are off).
    pub test_sandbox: Option<String>,
    /// `PATH` for jobs (the server's own).
    pub path: String,
    pub env: Env,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("db", &self.db)
            .field("api_url", &self.api_url)
            .field("workdir_root", &self.workdir_root)
            .field("polling_enabled", &self.polling_enabled)
            .field("workers", &self.workers)
            .finish_non_exhaustive()
    }
}

/// A setting that cannot be used, with what to do.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SettingsError(pub String);

/// Parses `90`, `90s`, `250ms`, `5m` or `1h`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let (num, unit) = match t.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => (&t[..i], &t[i..]),
        None => (t, "s"),
    };
    let n: f64 = num
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite() && *n >= 0.0)?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(secs))
}

impl Settings {
    /// Reads the environment; `listen` and `db` come from the command line.
    pub fn from_env(listen: SocketAddr, db: PathBuf, env: Env) -> Result<Settings, SettingsError> {
        let get = |name: &str| {
            env(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let webhook_secret = get("GITHUB_WEBHOOK_SECRET").ok_or_else(|| {
            SettingsError(
                "GITHUB_WEBHOOK_SECRET is not set: serve mode verifies every webhook delivery and does not \
                 start without a secret. Set it to the secret you give the GitHub webhook (e.g. \
                 `openssl rand -hex 32`)"
                    .into(),
            )
        })?;
        let admin_token = get("CODEX_ADMIN_TOKEN").ok_or_else(|| {
            SettingsError(
                "CODEX_ADMIN_TOKEN is not set: every mutating endpoint needs it as a bearer token. Set it to a \
                 long random value (e.g. `openssl rand -hex 32`)"
                    .into(),
            )
        })?;
        if admin_token.len() < 16 {
            return Err(SettingsError(
                "CODEX_ADMIN_TOKEN is shorter than 16 characters: use a long random value (e.g. `openssl rand -hex 32`)"
                    .into(),
            ));
        }
        let duration = |name: &str, default: Duration| -> Result<Duration, SettingsError> {
            match get(name) {
                None => Ok(default),
                Some(v) => parse_duration(&v).ok_or_else(|| {
                    SettingsError(format!(
                        "{name} must be a duration in seconds (or with ms, s, m, h), got {v:?}"
                    ))
                }),
            }
        };
        let number = |name: &str, default: u64| -> Result<u64, SettingsError> {
            match get(name) {
                None => Ok(default),
                Some(v) => v.parse().map_err(|_| {
                    SettingsError(format!("{name} must be a whole number, got {v:?}"))
                }),
            }
        };
        let polling_enabled = match get("POLLING_ENABLED").map(|v| v.to_ascii_lowercase()) {
            None => false,
            Some(v) if ["1", "true", "yes", "on"].contains(&v.as_str()) => true,
            Some(v) if ["0", "false", "no", "off"].contains(&v.as_str()) => false,
            Some(v) => {
                return Err(SettingsError(format!(
                    "POLLING_ENABLED must be true or false, got {v:?}"
                )));
            }
        };
        let exe = match get("CODEX_SERVE_EXE") {
            Some(p) => PathBuf::from(p),
            None => std::env::current_exe().map_err(|e| {
                SettingsError(format!(
                    "cannot tell which binary this is ({e}); set CODEX_SERVE_EXE to its path"
                ))
            })?,
        };
        let workers = number("CODEX_SERVE_WORKERS", 2)?;
        if workers == 0 || workers > 64 {
            return Err(SettingsError(
                "CODEX_SERVE_WORKERS must be between 1 and 64".into(),
            ));
        }
        let max_attempts = number("CODEX_MAX_ATTEMPTS", 3)?.clamp(1, 100) as u32;
        let lease = duration("CODEX_JOB_LEASE", Duration::from_secs(60))?;
        if lease < Duration::from_millis(300) {
            return Err(SettingsError(
                "CODEX_JOB_LEASE must be at least 300ms".into(),
            ));
        }
        let taskmaster_interval = match get("CODEX_TASKMASTER_INTERVAL").as_deref() {
            Some("off") => None,
            _ => Some(duration(
                "CODEX_TASKMASTER_INTERVAL",
                Duration::from_secs(3600),
            )?)
            .filter(|d| !d.is_zero()),
        };
        Ok(Settings {
            listen,
            db,
            webhook_secret: Secret::new(webhook_secret),
            admin_token: Secret::new(admin_token),
            api_url: get("GITHUB_API_URL")
                .unwrap_or_else(|| "https://api.github.com".into())
                .trim_end_matches('/')
                .to_string(),
            server_url: get("GITHUB_SERVER_URL")
                .unwrap_or_else(|| "https://github.com".into())
                .trim_end_matches('/')
                .to_string(),
            ollama_base_url: get("OLLAMA_BASE_URL"),
            workdir_root: PathBuf::from(
                get("WORKDIR_ROOT").unwrap_or_else(|| "/tmp/codex-work".into()),
            ),
            polling_enabled,
            poll_active: duration("POLL_INTERVAL_ACTIVE", Duration::from_secs(60))?,
            poll_idle: duration("POLL_INTERVAL_IDLE", Duration::from_secs(300))?,
            min_remaining_budget: number("MIN_REMAINING_BUDGET", 500)?,
            reconcile_interval: duration("CODEX_RECONCILE_INTERVAL", Duration::from_secs(3600))?,
            taskmaster_interval,
            workers: workers as usize,
            exe,
            lease,
            job_timeout: duration("CODEX_JOB_TIMEOUT", Duration::from_secs(3600))?,
            publish_timeout: duration("CODEX_PUBLISH_TIMEOUT", Duration::from_secs(600))?,
            retry_backoff: duration("CODEX_RETRY_BACKOFF", Duration::from_secs(30))?,
            max_attempts,
            shutdown_grace: duration("CODEX_SHUTDOWN_GRACE", Duration::from_secs(20))?,
            test_sandbox: get("CODEX_TEST_SANDBOX"),
            path: get("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into()),
            env,
        })
    }

    /// An environment variable the operator set (trimmed; empty is unset).
    pub fn var(&self, name: &str) -> Option<String> {
        (self.env)(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> Env {
        Arc::new(move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
    }

    /// The settings from these variables (and an ephemeral address, `x.db`).
    fn from_env(pairs: &'static [(&'static str, &'static str)]) -> Result<Settings, SettingsError> {
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        Settings::from_env(addr, "x.db".into(), env(pairs))
    }

    #[test]
    fn durations_parse_in_the_units_operators_write() {
        assert_eq!(parse_duration("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("soon"), None);
        assert_eq!(parse_duration("-1"), None);
    }

    #[test]
    fn the_server_does_not_start_without_a_secret_or_admin_token() {
        const TOKEN: (&str, &str) = ("CODEX_ADMIN_TOKEN", "0123456789abcdef");
        type Vars = &'static [(&'static str, &'static str)];
        let refused: [(Vars, &str); 4] = [
            (&[], "GITHUB_WEBHOOK_SECRET is not set"),
            (
                &[("GITHUB_WEBHOOK_SECRET", "  "), TOKEN],
                "GITHUB_WEBHOOK_SECRET",
            ),
            (
                &[
                    ("GITHUB_WEBHOOK_SECRET", "s"),
                    ("CODEX_ADMIN_TOKEN", "short"),
                ],
                "shorter than 16",
            ),
            (
                &[
                    ("GITHUB_WEBHOOK_SECRET", "s"),
                    TOKEN,
                    ("POLL_INTERVAL_IDLE", "often"),
                ],
                "POLL_INTERVAL_IDLE",
            ),
        ];
        for (vars, says) in refused {
            let e = from_env(vars).unwrap_err();
            assert!(e.0.contains(says), "{vars:?}: {e}");
        }
        let ok = from_env(&[
            ("GITHUB_WEBHOOK_SECRET", "s"),
            TOKEN,
            ("POLLING_ENABLED", "true"),
            ("MIN_REMAINING_BUDGET", "100"),
        ])
        .unwrap();
        assert!(ok.polling_enabled);
        assert_eq!(ok.min_remaining_budget, 100);
        assert_eq!(ok.taskmaster_interval, Some(Duration::from_secs(3600)));
        let off = from_env(&[
            ("GITHUB_WEBHOOK_SECRET", "s"),
            TOKEN,
            ("CODEX_TASKMASTER_INTERVAL", "off"),
        ])
        .unwrap();
        assert_eq!(off.taskmaster_interval, None);
        assert!(!format!("{ok:?}").contains("0123456789abcdef"));
    }
}
