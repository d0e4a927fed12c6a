//! Finds the line of a dotted key path (`roles.reviewer.model`) in YAML text, so errors and
//! warnings about a key point at the line to edit. Block-style mappings are located exactly;
//! flow style (`{a: 1}`) falls back to the nearest enclosing key found.

/// 1-based line of `path` (segments separated by `.`; `[n]` indexes are ignored).
pub fn locate(text: &str, path: &str) -> Option<usize> {
    let segments: Vec<&str> = path
        .split('.')
        .map(|s| s.split('[').next().unwrap_or(s))
        .filter(|s| !s.is_empty() && *s != "?")
        .collect();
    let lines: Vec<&str> = text.lines().collect();
    let mut start = 0usize;
    let mut parent_indent: isize = -1;
    let mut found = None;
    for seg in segments {
        let mut hit = None;
        for (i, line) in lines.iter().enumerate().skip(start) {
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("---") {
                continue;
            }
            let indent = (line.len() - trimmed.len()) as isize;
            if i > start && indent <= parent_indent {
                break;
            }
            if key_of(trimmed) == Some(seg) {
                hit = Some((i, indent));
                break;
            }
        }
        let Some((i, indent)) = hit else { break };
        found = Some(i + 1);
        start = i + 1;
        parent_indent = indent;
    }
    found
}

/// The key of a `key: value` line, unquoted.
fn key_of(line: &str) -> Option<&str> {
    let line = line.strip_prefix("- ").unwrap_or(line);
    let colon = line.find(':')?;
    let key = line[..colon].trim();
    Some(key.trim_matches(|c| c == '"' || c == '\''))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_keys() {
        let text = "# top\nproject:\n  name: x\nroles:\n  planner:\n    model: a\n  reviewer:\n    enabled: true\n    model: b\n";
        assert_eq!(locate(text, "roles.reviewer.model"), Some(9));
        assert_eq!(locate(text, "roles.planner.model"), Some(6));
        assert_eq!(locate(text, "project.name"), Some(3));
        assert_eq!(locate(text, "roles.reviewer.temperature"), Some(7));
        assert_eq!(locate(text, "nothing"), None);
    }
}
