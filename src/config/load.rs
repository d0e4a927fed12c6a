//! Reading `.llm-team.yml`: size and encoding checks, YAML with a parse budget (so an anchor bomb
//! or a huge file is refused, not expanded), errors naming file, line and key, and unknown keys
//! turned into warnings with a "did you mean".

use std::path::{Path, PathBuf};

use super::locate::locate;
use super::schema::Config;
use super::suggest::did_you_mean;

/// A configuration file is a few hundred bytes; anything over 1 MiB is a mistake or an attack.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// One problem with the configuration, located where we can.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file, or the environment variable / flag the value came from.
    pub origin: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// Dotted key path (`roles.reviewer.temperature`).
    pub key: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.origin)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        if let Some(key) = &self.key {
            write!(f, ": {key}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// The configuration could not be used. Lists every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "invalid configuration:")?;
        for p in &self.problems {
            writeln!(f, "  {p}")?;
        }
        write!(
            f,
            "fix the lines above; `codex-orchestrator config check` shows the effective settings"
        )
    }
}

impl ConfigError {
    pub fn one(origin: impl Into<String>, key: Option<&str>, message: impl Into<String>) -> Self {
        ConfigError {
            problems: vec![Problem {
                origin: origin.into(),
                line: None,
                column: None,
                key: key.map(str::to_string),
                message: message.into(),
            }],
        }
    }
}

/// A parsed file: its configuration and the warnings (unknown keys) it produced.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub config: Config,
    pub warnings: Vec<Problem>,
    /// The file's text, kept to locate keys for later validation messages.
    pub text: String,
    pub path: Option<PathBuf>,
}

/// Reads a configuration file. A missing file means defaults, unless `required`
/// (the user named it with `--config`).
pub fn load_file(path: &Path, shown: &str, required: bool) -> Result<Parsed, ConfigError> {
    let origin = shown.to_string();
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
            return Ok(Parsed {
                config: Config::default(),
                warnings: Vec::new(),
                text: String::new(),
                path: None,
            });
        }
        Err(e) => {
            return Err(ConfigError::one(
                origin,
                None,
                format!("cannot read the configuration file: {e}"),
            ));
        }
    };
    if !meta.is_file() {
        return Err(ConfigError::one(origin, None, "is not a regular file"));
    }
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(ConfigError::one(
            origin,
            None,
            format!(
                "the file is {} bytes; a configuration must be under 1 MiB (is this the right file?)",
                meta.len()
            ),
        ));
    }
    let bytes = std::fs::read(path)
        .map_err(|e| ConfigError::one(&origin, None, format!("cannot read: {e}")))?;
    let mut parsed = parse_bytes(&bytes, &origin)?;
    parsed.path = Some(path.to_path_buf());
    Ok(parsed)
}

/// Parses configuration bytes; `origin` names the source in messages.
pub fn parse_bytes(bytes: &[u8], origin: &str) -> Result<Parsed, ConfigError> {
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(ConfigError::one(
            origin,
            None,
            "a configuration must be under 1 MiB",
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        ConfigError::one(
            origin,
            None,
            format!(
                "not UTF-8 text (first bad byte at offset {})",
                e.valid_up_to()
            ),
        )
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);

    let mut ignored = Vec::new();
    let mut failed_path = None;
    let result = serde_saphyr::with_deserializer_from_str_with_options(text, options(), |de| {
        let mut note = |p: serde_ignored::Path| ignored.push(clean_path(&p.to_string()));
        let de = serde_ignored::Deserializer::new(de, &mut note);
        serde_path_to_error::deserialize::<_, Option<Config>>(de).map_err(|e| {
            failed_path = Some(e.path().to_string());
            e.into_inner()
        })
    });
    let config = match result {
        Ok(config) => config.unwrap_or_default(),
        Err(e) => {
            let location = e.location();
            let key = failed_path
                .map(|p| clean_path(&p))
                .filter(|p| !p.is_empty());
            let message = e.without_snippet().to_string();
            // saphyr appends " at line L, column C"; we print the location up front instead.
            let message = message
                .rsplit_once(" at line ")
                .map_or(message.clone(), |(m, _)| m.to_string());
            return Err(ConfigError {
                problems: vec![Problem {
                    origin: origin.to_string(),
                    line: location.map(|l| l.line() as usize),
                    column: location.map(|l| l.column() as usize),
                    key,
                    message: explain(&message),
                }],
            });
        }
    };
    let warnings = ignored
        .into_iter()
        .map(|key| unknown_key_warning(text, origin, &key))
        .collect();
    Ok(Parsed {
        config,
        warnings,
        text: text.to_string(),
        path: None,
    })
}

/// Drops the `?` (Option) and `.` (root) segments serde's path helpers add.
fn clean_path(path: &str) -> String {
    path.split('.')
        .filter(|s| !s.is_empty() && *s != "?")
        .collect::<Vec<_>>()
        .join(".")
}

/// Tighter limits than the library's defaults: a real configuration has a few hundred nodes.
fn options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = 50_000;
    budget.max_aliases = 1_000;
    budget.max_anchors = 1_000;
    budget.max_depth = 64;
    budget.max_total_scalar_bytes = MAX_CONFIG_BYTES as usize;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options
}

/// Adds what to do to the parser's terser messages.
fn explain(message: &str) -> String {
    if message.starts_with("budget breached") {
        format!(
            "{message}: the file expands to too many nodes (an alias/anchor bomb?); write the values out"
        )
    } else if message.contains("duplicate mapping key") {
        message
            .split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or(message)
            .to_string()
            + ": each key may appear once"
    } else {
        message.to_string()
    }
}

fn unknown_key_warning(text: &str, origin: &str, key: &str) -> Problem {
    let (parent, leaf) = key.rsplit_once('.').unwrap_or(("", key));
    let known = known_keys(parent);
    let mut message = format!("unknown key {leaf:?} is ignored");
    if let Some(best) = did_you_mean(leaf, known.iter().map(String::as_str)) {
        let full = if parent.is_empty() {
            best.to_string()
        } else {
            format!("{parent}.{best}")
        };
        message.push_str(&format!("; did you mean `{full}`?"));
    } else if !known.is_empty() {
        message.push_str(&format!("; known keys here: {}", known.join(", ")));
    }
    Problem {
        origin: origin.to_string(),
        line: locate(text, key),
        column: None,
        key: Some(key.to_string()),
        message,
    }
}

/// The keys a mapping at `parent` accepts, read off the default configuration's shape.
fn known_keys(parent: &str) -> Vec<String> {
    let Ok(mut node) = serde_json::to_value(Config::default()) else {
        return Vec::new();
    };
    for seg in parent.split('.').filter(|s| !s.is_empty()) {
        node = match node.get(seg) {
            Some(v) => v.clone(),
            None => return Vec::new(),
        };
    }
    match node {
        serde_json::Value::Object(map) => map.keys().filter(|k| *k != "github").cloned().collect(),
        _ => Vec::new(),
    }
}
