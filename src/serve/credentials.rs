//! Credentials by name: a repository names the variable (or the GitHub App's variables) holding
//! its token, and the server reads the value only when it needs it. Every value read is added to
//! the redactor, so it can be scrubbed from anything stored, answered or logged.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::config::Secret;
use crate::forge::RepoId;

use super::settings::Settings;
use super::store::{Credential, Repo};

/// Which phase the token is for: the work phase reads, the publish phase writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Read,
    Write,
}

/// Replaces every secret value the server knows with `***`.
#[derive(Default)]
pub struct Redactor {
    secrets: RwLock<BTreeSet<String>>,
}

impl Redactor {
    pub fn add(&self, secret: &str) {
        // Short values would redact ordinary words; no real token is this short.
        if secret.len() >= 8
            && let Ok(mut s) = self.secrets.write()
        {
            s.insert(secret.to_string());
        }
    }

    pub fn redact(&self, text: &str) -> String {
        let Ok(secrets) = self.secrets.read() else {
            return "(redaction failed)".into();
        };
        let mut out = text.to_string();
        for s in secrets.iter().rev() {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "***");
            }
        }
        out
    }
}

/// Is `name` usable as an environment variable name (`[A-Z_][A-Z0-9_]*`)?
pub fn valid_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_uppercase() || c == '_')
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 128
}

/// Names the server itself uses: a repository may not point its credential at them.
const RESERVED: [&str; 2] = ["GITHUB_WEBHOOK_SECRET", "CODEX_ADMIN_TOKEN"];

/// Checks that a credential names variables that are set, without reading more than that.
pub fn check(credential: &Credential, settings: &Settings) -> Result<(), String> {
    let set = |name: &str, what: &str| -> Result<(), String> {
        if !valid_env_name(name) {
            return Err(format!(
                "{what} must name an environment variable (A-Z, 0-9, _), got {name:?}"
            ));
        }
        if RESERVED.contains(&name) {
            return Err(format!(
                "{what} may not name {name}: that variable is the server's own secret"
            ));
        }
        if settings.var(name).is_none() {
            return Err(format!(
                "{what} names {name}, which is not set in the server's environment: set it (e.g. in the \
                 systemd EnvironmentFile) and restart the server, then register the repository"
            ));
        }
        Ok(())
    };
    match (&credential.token_env, &credential.github_app) {
        (Some(_), Some(_)) => {
            return Err("give either token_env or github_app, not both".into());
        }
        (None, None) => {
            return Err(
                "name the credential to use: token_env (the variable holding a token) or github_app \
                 ({\"app_id_env\": …, \"private_key_env\": …})"
                    .into(),
            );
        }
        (Some(t), None) => set(t, "token_env")?,
        (None, Some(app)) => {
            set(&app.app_id_env, "github_app.app_id_env")?;
            set(&app.private_key_env, "github_app.private_key_env")?;
        }
    }
    if let Some(r) = &credential.read_token_env {
        set(r, "read_token_env")?;
    }
    Ok(())
}

/// Hands out tokens, minting (and caching) GitHub App installation tokens.
pub struct Credentials {
    settings: Settings,
    pub redactor: Arc<Redactor>,
    minted: Mutex<HashMap<String, (Secret, Instant)>>,
}

/// Installation tokens live an hour; a cached one is used for 50 minutes.
const MINTED_FOR: Duration = Duration::from_secs(50 * 60);

impl Credentials {
    pub fn new(settings: Settings, redactor: Arc<Redactor>) -> Self {
        redactor.add(settings.webhook_secret.expose());
        redactor.add(settings.admin_token.expose());
        Credentials {
            settings,
            redactor,
            minted: Mutex::new(HashMap::new()),
        }
    }

    fn read_var(&self, name: &str) -> Result<Secret, String> {
        let value = self.settings.var(name).ok_or_else(|| {
            format!("the credential variable {name} is not set in the server's environment")
        })?;
        self.redactor.add(&value);
        Ok(Secret::new(value))
    }

    /// The token `repo` uses for `purpose`.
    pub async fn token(&self, repo: &Repo, purpose: Purpose) -> Result<Secret, String> {
        let c = &repo.credential;
        if purpose == Purpose::Read
            && let Some(name) = &c.read_token_env
        {
            return self.read_var(name);
        }
        if let Some(name) = &c.token_env {
            return self.read_var(name);
        }
        let Some(app) = &c.github_app else {
            return Err(format!("{} names no credential", repo.full_name));
        };
        let key = format!("{}:{}", c.key(), repo.full_name);
        if let Ok(m) = self.minted.lock()
            && let Some((token, at)) = m.get(&key)
            && at.elapsed() < MINTED_FOR
        {
            return Ok(token.clone());
        }
        let id = self.read_var(&app.app_id_env)?;
        let pem = self.read_var(&app.private_key_env)?;
        let repo_id = RepoId::parse(&repo.full_name)
            .ok_or_else(|| format!("{} is not owner/name", repo.full_name))?;
        let api_url = self.settings.api_url.clone();
        let redactor = self.redactor.clone();
        // Minting runs on its own small runtime: the App client is not `Send` across awaits.
        let minted = tokio::task::spawn_blocking(move || {
            let env = move |name: &str| match name {
                "GITHUB_APP_ID" => Some(id.expose().to_string()),
                "GITHUB_APP_PRIVATE_KEY" => Some(pem.expose().to_string()),
                _ => None,
            };
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(crate::forge::github::auth::resolve_token(
                &api_url,
                &repo_id,
                None,
                &env,
                &|secret: &str| redactor.add(secret),
            ))
            .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| format!("minting an installation token failed: {e}"))?;
        let token = minted.map_err(|e| self.redactor.redact(&e))?;
        self.redactor.add(&token);
        let token = Secret::new(token);
        if let Ok(mut m) = self.minted.lock() {
            m.insert(key, (token.clone(), Instant::now()));
        }
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_redactor_scrubs_every_known_secret() {
        let r = Redactor::default();
        r.add("ghp_0123456789abcdef");
        r.add("short");
        assert_eq!(
            r.redact("token ghp_0123456789abcdef and short"),
            "token *** and short"
        );
    }

    #[test]
    fn env_names_are_checked() {
        assert!(valid_env_name("OCTO_TOKEN"));
        assert!(valid_env_name("_X1"));
        assert!(!valid_env_name("octo"));
        assert!(!valid_env_name("A-B"));
        assert!(!valid_env_name(""));
    }
}
