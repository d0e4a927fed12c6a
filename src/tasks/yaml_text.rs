//! The YAML text helpers the tasks engine needs: parsing with tight budgets (a hostile task file
//! cannot blow memory), quoting strings so YAML reads them back unchanged, and finding a top-level
//! key's line so edits touch exactly that line.

use serde_json::Value;

/// Largest front matter we parse; task front matter is a few hundred bytes.
pub const MAX_FRONT_MATTER_BYTES: usize = 256 * 1024;

/// A YAML syntax or structure error with its 1-based line inside the YAML text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub line: Option<usize>,
    pub message: String,
}

fn options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_reader_input_bytes = Some(MAX_FRONT_MATTER_BYTES);
    budget.max_events = 50_000;
    budget.max_aliases = 64;
    budget.max_anchors = 64;
    budget.max_depth = 32;
    budget.max_documents = 1;
    budget.max_nodes = 20_000;
    budget.max_total_scalar_bytes = MAX_FRONT_MATTER_BYTES;
    budget.max_merge_keys = 16;
    budget.max_recorded_anchor_events = 10_000;
    budget.max_recorded_anchor_bytes = MAX_FRONT_MATTER_BYTES;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.alias_limits.max_total_replayed_events = 10_000;
    options.alias_limits.max_replay_stack_depth = 16;
    options.alias_limits.max_alias_expansions_per_anchor = 64;
    options.with_snippet = false;
    options
}

/// Parses one YAML document into a JSON-like value under the budget above.
pub fn parse_value(yaml: &str) -> Result<Value, YamlError> {
    if yaml.len() > MAX_FRONT_MATTER_BYTES {
        return Err(YamlError {
            line: None,
            message: format!(
                "front matter is {} bytes, more than the {} allowed; move long text into the Markdown body",
                yaml.len(),
                MAX_FRONT_MATTER_BYTES
            ),
        });
    }
    serde_saphyr::from_str_with_options::<Value>(yaml, options()).map_err(|e| {
        let line = e.location().map(|l| l.line() as usize).filter(|&l| l > 0);
        let column = e.location().map(|l| l.column()).filter(|&c| c > 0);
        YamlError {
            line,
            message: clean_message(&e.to_string(), column),
        }
    })
}

/// The parser's message without its YAML-relative position (callers add the file line) and
/// without advice about parser options, plus the column when known.
fn clean_message(raw: &str, column: Option<u64>) -> String {
    let first = raw.lines().next().unwrap_or("invalid YAML").trim();
    let mut msg = match first.find(" at line ") {
        Some(i) => first[..i].to_string(),
        None => first.to_string(),
    };
    if let Some(rest) = msg.strip_prefix("duplicate mapping key: ") {
        let key = rest
            .split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or(rest);
        msg = format!("duplicate key `{key}`; keep only one");
    }
    if msg.starts_with("budget breached") || msg.starts_with("recursion limit") {
        msg = format!(
            "{msg}: the YAML is too large or too deeply nested for a task; use plain keys and lists"
        );
    }
    if let Some(c) = column {
        msg.push_str(&format!(" (column {c})"));
    }
    msg
}

const RESERVED_WORDS: [&str; 22] = [
    "true", "false", "yes", "no", "on", "off", "y", "n", "null", "none", "nan", "inf", "~", ".nan",
    ".inf", "-.inf", "+.inf", "<<", "=", "true.", "-", "?",
];

/// Whether `s` may be written as a plain (unquoted) scalar: a conservative character check plus
/// an actual parse confirming YAML reads back the same string.
pub fn plain_is_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if s != s.trim() || s.len() > 200 {
        return false;
    }
    if !(first.is_alphanumeric() || first == '_' || first == '/' || first == '(') {
        return false;
    }
    let allowed = |c: char| c.is_alphanumeric() || " _-./()+=@,".contains(c);
    if !s.chars().all(allowed) || s.contains("  ") {
        return false;
    }
    if RESERVED_WORDS.iter().any(|w| s.eq_ignore_ascii_case(w)) {
        return false;
    }
    // YAML 1.1 readers see `1_000`, `1:20`, `0x1F`, `2001-12-14` etc. as non-strings; when it
    // starts with a digit we also require a letter at the end (like `2h`, `3 days`, `1.5d`).
    if first.is_ascii_digit() && !s.ends_with(|c: char| c.is_ascii_alphabetic()) {
        return false;
    }
    matches!(parse_value(&format!("k: {s}\n")), Ok(Value::Object(m)) if m.get("k") == Some(&Value::String(s.to_string())))
}

/// A YAML double-quoted scalar for `s`, escaping `\`, `"` and every non-printable character.
pub fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            '\u{feff}' | '\u{85}' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c if c.is_control() => {
                let n = c as u32;
                if n <= 0xFF {
                    out.push_str(&format!("\\x{n:02X}"));
                } else {
                    out.push_str(&format!("\\u{n:04X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A YAML single-quoted scalar for `s`, or `None` when `s` cannot be single-quoted on one line.
pub fn single_quoted(s: &str) -> Option<String> {
    if s.chars().any(|c| c.is_control() || c == '\u{feff}') {
        return None;
    }
    Some(format!("'{}'", s.replace('\'', "''")))
}

/// `s` as a YAML scalar: plain when that is safe, double-quoted otherwise.
pub fn quote(s: &str) -> String {
    if plain_is_safe(s) {
        s.to_string()
    } else {
        double_quoted(s)
    }
}

/// A line of text with its byte range (without the line ending) and its 1-based number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineSpan {
    pub start: usize,
    pub end: usize,
    pub number: usize,
}

/// Finds the line of a top-level (unindented) mapping key `key` in `yaml`, accepting plain,
/// single- and double-quoted keys. Returns the first match.
pub fn find_top_level_key(yaml: &str, key: &str) -> Option<(LineSpan, usize)> {
    let mut offset = 0;
    for (i, raw) in yaml.split_inclusive('\n').enumerate() {
        let line = raw.trim_end_matches(['\n', '\r']);
        let candidates = [key.to_string(), format!("'{key}'"), format!("\"{key}\"")];
        for c in &candidates {
            if let Some(rest) = line.strip_prefix(c.as_str()) {
                let after = rest.trim_start_matches([' ', '\t']);
                if let Some(value) = after.strip_prefix(':')
                    && (value.is_empty() || value.starts_with([' ', '\t']))
                {
                    let colon = line.len() - after.len();
                    let span = LineSpan {
                        start: offset,
                        end: offset + line.len(),
                        number: i + 1,
                    };
                    return Some((span, colon + 1));
                }
            }
        }
        offset += raw.len();
    }
    None
}

/// How a one-line scalar value was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarStyle {
    Plain,
    SingleQuoted,
    DoubleQuoted,
}

/// Locates a one-line scalar value in `line` starting at byte `from` (just after the `:`):
/// returns its byte range within `line` and its style. `None` for an empty value, block scalars,
/// anchors, aliases, tags, flow collections or unterminated quotes.
pub fn scalar_value_span(line: &str, from: usize) -> Option<(usize, usize, ScalarStyle)> {
    let bytes = line.as_bytes();
    let mut start = from;
    while start < bytes.len() && (bytes[start] == b' ' || bytes[start] == b'\t') {
        start += 1;
    }
    let first = *bytes.get(start)?;
    match first {
        b'"' => {
            let mut i = start + 1;
            while i < bytes.len() {
                match bytes[i] {
                    b'\\' => i += 2,
                    b'"' => return Some((start, i + 1, ScalarStyle::DoubleQuoted)),
                    _ => i += 1,
                }
            }
            None
        }
        b'\'' => {
            let mut i = start + 1;
            while i < bytes.len() {
                if bytes[i] == b'\'' {
                    if bytes.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    return Some((start, i + 1, ScalarStyle::SingleQuoted));
                }
                i += 1;
            }
            None
        }
        b'|' | b'>' | b'&' | b'*' | b'!' | b'[' | b'{' | b'#' => None,
        _ => {
            let mut end = bytes.len();
            for i in start..bytes.len() {
                if bytes[i] == b'#' && (bytes[i - 1] == b' ' || bytes[i - 1] == b'\t') {
                    end = i;
                    break;
                }
            }
            let value = line[start..end].trim_end_matches([' ', '\t']);
            Some((start, start + value.len(), ScalarStyle::Plain))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_reads_back() {
        for s in [
            "queued",
            "2h",
            "3 days",
            "T-0001",
            "Initialize basic CI for Python",
        ] {
            assert_eq!(quote(s), s);
        }
        for s in [
            "yes",
            "No",
            "null",
            "~",
            "12",
            "1e3",
            "0x1F",
            "a: b",
            "a #b",
            "#x",
            "-x",
            "",
            " x",
            "x ",
            "@x",
            "1_000",
            "2001-12-14",
        ] {
            assert!(quote(s).starts_with('"'), "{s} -> {}", quote(s));
        }
    }

    #[test]
    fn scalar_spans() {
        assert_eq!(
            scalar_value_span("status: queued  # c", 7),
            Some((8, 14, ScalarStyle::Plain))
        );
        assert_eq!(
            scalar_value_span("status: 'a''b' # c", 7),
            Some((8, 14, ScalarStyle::SingleQuoted))
        );
        assert_eq!(
            scalar_value_span(r#"status: "a\"b""#, 7),
            Some((8, 14, ScalarStyle::DoubleQuoted))
        );
        assert_eq!(scalar_value_span("status:", 7), None);
        assert_eq!(scalar_value_span("status: |", 7), None);
    }

    #[test]
    fn finds_keys() {
        let y = "id: T-1\n'status' : done\nnested:\n  status: x\n";
        let (span, colon) = find_top_level_key(y, "status").unwrap();
        assert_eq!(span.number, 2);
        assert_eq!(&y[span.start..span.end], "'status' : done");
        assert_eq!(colon, 10);
        assert!(find_top_level_key(y, "statu").is_none());
    }
}
