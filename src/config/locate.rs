//! Finds the line of a dotted key path (`roles.reviewer.model`) in YAML text, so errors and
//! warnings about a key point at the line to edit, and the other way round, the key path of a
//! line the parser complains about. Block-style mappings are located exactly; flow style
//! (`{a: 1}`) falls back to the nearest enclosing key found.

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

/// The dotted key path of the mapping entry on 1-based `line` (or, for a line holding no key of
/// its own, of the entry it continues), found from indentation: `None` outside any mapping.
pub fn key_at(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut path = Vec::new();
    // Entries above `line` whose indentation is below this bound are its parents.
    let mut bound = isize::MAX;
    for i in (0..line.min(lines.len())).rev() {
        let trimmed = lines[i].trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("---") {
            continue;
        }
        let indent = (lines[i].len() - trimmed.len()) as isize;
        let own = i + 1 == line;
        if !own && indent >= bound {
            continue;
        }
        match key_of(trimmed).filter(|k| !k.is_empty() && !k.contains(char::is_whitespace)) {
            Some(key) => {
                path.push(key.to_string());
                bound = indent;
            }
            None => bound = bound.min(indent + own as isize),
        }
        if bound == 0 {
            break;
        }
    }
    path.reverse();
    (!path.is_empty()).then(|| path.join("."))
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

    #[test]
    fn names_the_key_of_a_line() {
        let text = "# top\nproject:\n  name: x\nroles:\n  planner:\n    model: a\n  reviewer:\n    enabled: true\n    model: b\nlist:\n  - 1\n  - 2\n";
        assert_eq!(key_at(text, 9).as_deref(), Some("roles.reviewer.model"));
        assert_eq!(key_at(text, 8).as_deref(), Some("roles.reviewer.enabled"));
        assert_eq!(key_at(text, 7).as_deref(), Some("roles.reviewer"));
        assert_eq!(key_at(text, 3).as_deref(), Some("project.name"));
        assert_eq!(key_at(text, 2).as_deref(), Some("project"));
        assert_eq!(key_at(text, 12).as_deref(), Some("list"));
        assert_eq!(key_at(text, 1), None);
        assert_eq!(key_at("- a\n- b\n", 1), None);
        assert_eq!(key_at("a:\n  b: one\n    two\n", 3).as_deref(), Some("a.b"));
    }
}
