//! A secret value (a token) that never prints: Debug, Display and Serialize all show `***`,
//! so effective-settings dumps, logs and run reports cannot leak it; and the vault that takes
//! every credential out of the process environment at start-up, so nothing the run starts (and
//! no same-user process reading `/proc`) finds it there.

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use serde::{Serialize, Serializer};

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that sends it (an Authorization header) and masking.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

/// Credentials taken out of the environment by [`seal`].
static VAULT: OnceLock<HashMap<String, String>> = OnceLock::new();

/// Whether an environment variable holds a credential the vault keeps (and removes from the
/// environment): tokens, secrets, passwords, private and API keys, the runner's own tokens.
/// The `CODEX_*` flags stay where clap reads them, except the admin token.
pub fn is_credential_name(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    if n.starts_with("CODEX_") && n != "CODEX_ADMIN_TOKEN" {
        return false;
    }
    const WORDS: [&str; 8] = [
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "PRIVATE_KEY",
        "CREDENTIAL",
        "API_KEY",
        "ACCESS_KEY",
    ];
    WORDS.iter().any(|w| n.contains(w)) || n.starts_with("ACTIONS_ID_TOKEN_REQUEST")
}

/// Moves every credential out of the process environment into the vault, once, first thing in
/// `main` (before any thread starts), and makes the process non-dumpable so a same-user process
/// cannot read what is left of its memory or its original environment block through `/proc`.
pub fn seal() {
    let taken: HashMap<String, String> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| is_credential_name(k))
        .collect();
    for k in taken.keys() {
        // SAFETY: called first thing in `main`, before this process starts any other thread.
        unsafe { std::env::remove_var(k) };
    }
    let _ = VAULT.set(taken);
    #[cfg(target_os = "linux")]
    // SAFETY: prctl(PR_SET_DUMPABLE) changes only this process's dumpable flag.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

/// A credential by variable name: from the vault once sealed, else from the environment (for
/// library callers that never sealed).
pub fn vault(name: &str) -> Option<String> {
    match VAULT.get() {
        Some(v) => v.get(name).cloned().or_else(|| {
            (!is_credential_name(name))
                .then(|| std::env::var(name).ok())
                .flatten()
        }),
        None => std::env::var(name).ok(),
    }
    .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_names() {
        for n in [
            "GITHUB_TOKEN",
            "GH_TOKEN",
            "ACTIONS_RUNTIME_TOKEN",
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "OPENAI_API_KEY",
            "GITHUB_WEBHOOK_SECRET",
            "CODEX_ADMIN_TOKEN",
            "APP_PRIVATE_KEY",
        ] {
            assert!(is_credential_name(n), "{n}");
        }
        for n in [
            "PATH",
            "CODEX_DRY_RUN",
            "CODEX_TOKENIZER",
            "GITHUB_REPOSITORY",
            "HOME",
        ] {
            assert!(!is_credential_name(n), "{n}");
        }
    }

    #[test]
    fn never_prints_the_value() {
        let s = Secret::new("ghp_abcdefghijklmnopqrstuvwxyz0123456789");
        assert_eq!(format!("{s} {s:?}"), "*** ***");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"***\"");
        assert!(s.expose().starts_with("ghp_"));
    }
}
