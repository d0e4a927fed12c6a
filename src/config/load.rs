//! Reading `.llm-team.yml`: size and encoding checks, YAML with a parse budget (so an anchor bomb
//! or a huge file is refused, not expanded), errors naming file, line and key, and unknown keys
//! turned into warnings with a "did you mean".

use std::path::{Path, PathBuf};

use super::locate::{key_at, locate};
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

    // The key an error names comes from the line saphyr points at (`key_at`), not from a
    // path-tracking wrapper: that wrapper doubled the config deserializer's code (issue 19).
    let result = serde_saphyr::from_str_with_options::<Option<Config>>(text, options());
    let config = match result {
        Ok(config) => config.unwrap_or_default(),
        Err(e) => {
            let location = e.location();
            let key = location.and_then(|l| key_at(text, l.line() as usize));
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
    let shape = serde_json::to_value(Config::default()).unwrap_or_default();
    let mut warnings: Vec<Problem> = unknown_keys(text, &shape)
        .into_iter()
        .map(|key| unknown_key_warning(text, origin, &key, &shape))
        .collect();
    // In the order the file has them (the walk sees keys sorted).
    warnings.sort_by_key(|w| w.line.unwrap_or(usize::MAX));
    Ok(Parsed {
        config,
        warnings,
        text: text.to_string(),
        path: None,
    })
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

fn unknown_key_warning(text: &str, origin: &str, key: &str, shape: &serde_json::Value) -> Problem {
    let (parent, leaf) = key.rsplit_once('.').unwrap_or(("", key));
    let known = known_keys(parent, shape);
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

/// The keys the typed pass ignored (dotted paths), found by walking the parsed YAML against the
/// default configuration's shape. This holds because every section of `.llm-team.yml` is a
/// struct with defaults, none a free-form map (`every_section_of_the_default_is_a_struct` keeps
/// that true). A wrapping deserializer (serde_ignored) did this before and doubled the config
/// deserializer's code in the binary (issue 19's size goal).
fn unknown_keys(text: &str, shape: &serde_json::Value) -> Vec<String> {
    let Ok(serde_json::Value::Object(user)) =
        serde_saphyr::from_str_with_options::<serde_json::Value>(text, options())
    else {
        return Vec::new();
    };
    let serde_json::Value::Object(shape) = shape else {
        return Vec::new();
    };
    let mut out = Vec::new();
    walk_keys(&user, shape, "", &mut out);
    out
}

fn walk_keys(
    user: &serde_json::Map<String, serde_json::Value>,
    shape: &serde_json::Map<String, serde_json::Value>,
    prefix: &str,
    out: &mut Vec<String>,
) {
    for (key, value) in user {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match shape.get(key) {
            // Filled from the environment only: in the file it is ignored.
            Some(_) if prefix.is_empty() && key == "github" => out.push(path),
            None => out.push(path),
            Some(serde_json::Value::Object(inner)) => {
                if let serde_json::Value::Object(value) = value {
                    walk_keys(value, inner, &path, out);
                }
            }
            Some(_) => {}
        }
    }
}

/// The keys a mapping at `parent` accepts, read off the default configuration's shape.
fn known_keys(parent: &str, shape: &serde_json::Value) -> Vec<String> {
    let mut node = shape;
    for seg in parent.split('.').filter(|s| !s.is_empty()) {
        node = match node.get(seg) {
            Some(v) => v,
            None => return Vec::new(),
        };
    }
    match node {
        serde_json::Value::Object(map) => map.keys().filter(|k| *k != "github").cloned().collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The unknown-key walk treats every mapping of the default as a struct; a free-form map
    /// (empty by default) would make each of its keys a false warning.
    #[test]
    fn every_section_of_the_default_is_a_struct() {
        fn objects(v: &serde_json::Value, at: &str, out: &mut Vec<String>) {
            if let serde_json::Value::Object(map) = v {
                if map.is_empty() {
                    out.push(at.to_string());
                }
                for (k, v) in map {
                    objects(v, &format!("{at}.{k}"), out);
                }
            }
        }
        let mut empty = Vec::new();
        objects(
            &serde_json::to_value(Config::default()).unwrap(),
            "",
            &mut empty,
        );
        assert_eq!(
            empty,
            Vec::<String>::new(),
            "empty mappings (maps?) in the default"
        );
    }

    #[test]
    fn every_default_key_is_known_and_unknown_ones_are_found_at_every_depth_in_file_order() {
        let mut every = serde_json::to_value(Config::default()).unwrap();
        every.as_object_mut().unwrap().remove("github");
        let yaml = serde_saphyr::to_string(&every).unwrap();
        let parsed = parse_bytes(yaml.as_bytes(), "every.yml").unwrap();
        assert_eq!(parsed.warnings, Vec::new(), "{yaml}");

        let text = "zeta: 1\nroles:\n  reviewer:\n    enabeld: false\n    model: none\n\
                    llm:\n  base_url: http://x\n  timeout: 3\ngithub:\n  token: x\n\
                    developer:\n  max_rounds: 2\nalpha:\n  nested: {deeper: 1}\n";
        let parsed = parse_bytes(text.as_bytes(), ".llm-team.yml").unwrap();
        let keys: Vec<_> = parsed
            .warnings
            .iter()
            .map(|w| w.key.clone().unwrap())
            .collect();
        assert_eq!(
            keys,
            [
                "zeta",
                "roles.reviewer.enabeld",
                "llm.timeout",
                "github",
                "alpha"
            ],
            "{:?}",
            parsed.warnings
        );
        assert_eq!(parsed.warnings[1].line, Some(4));
        assert!(
            parsed.warnings[1]
                .message
                .contains("did you mean `roles.reviewer.enabled`")
        );
        assert_eq!(parsed.config.developer.max_rounds, 2);
    }
}
