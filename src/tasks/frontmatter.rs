//! Splits a task file into its YAML front matter and Markdown body by `---` lines, keeping byte
//! offsets and line numbers so YAML errors point at the right line of the file and edits can be
//! made in place without touching anything else.

use thiserror::Error;

/// Where the parts of a task file are, as byte ranges into the file text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split {
    /// Byte offset where the YAML starts (just after the opening `---` line).
    pub yaml_start: usize,
    /// Byte offset where the YAML ends (the start of the closing `---` line).
    pub yaml_end: usize,
    /// Byte offset where the body starts (just after the closing `---` line).
    pub body_start: usize,
    /// 1-based file line of the first YAML line.
    pub yaml_first_line: usize,
    /// 1-based file line of the closing `---`.
    pub closing_line: usize,
    /// Whether the file starts with a UTF-8 byte order mark.
    pub bom: bool,
}

/// Why a file has no usable front matter.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SplitError {
    #[error(
        "no front matter: the first line must be `---` followed by YAML and a closing `---` line (see tasks/_template.md)"
    )]
    NoOpening,
    #[error(
        "front matter opened on line {opened_line} is never closed: add a line containing only `---` after the YAML"
    )]
    Unclosed { opened_line: usize },
}

/// A delimiter line is `---` (or `...` to close), optionally followed by spaces/tabs and CR.
fn is_delimiter(line: &str, allow_dots: bool) -> bool {
    let t = line.trim_end_matches(['\n', '\r', ' ', '\t']);
    t == "---" || (allow_dots && t == "...")
}

/// Finds the front matter in `text`.
pub fn split(text: &str) -> Result<Split, SplitError> {
    let bom = text.starts_with('\u{feff}');
    let start = if bom { 3 } else { 0 };
    let mut lines = text[start..].split_inclusive('\n');
    let first = lines.next().ok_or(SplitError::NoOpening)?;
    if !is_delimiter(first, false) || !first.ends_with('\n') {
        return Err(SplitError::NoOpening);
    }
    let yaml_start = start + first.len();
    let mut offset = yaml_start;
    for (line_no, line) in (2..).zip(lines) {
        if is_delimiter(line, true) {
            return Ok(Split {
                yaml_start,
                yaml_end: offset,
                body_start: offset + line.len(),
                yaml_first_line: 2,
                closing_line: line_no,
                bom,
            });
        }
        offset += line.len();
    }
    Err(SplitError::Unclosed { opened_line: 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lf_crlf_bom() {
        let t = "---\nid: T-0001\n---\nbody\n";
        let s = split(t).unwrap();
        assert_eq!(&t[s.yaml_start..s.yaml_end], "id: T-0001\n");
        assert_eq!(&t[s.body_start..], "body\n");
        assert_eq!(s.closing_line, 3);
        let t = "\u{feff}---\r\nid: x\r\n--- \r\n";
        let s = split(t).unwrap();
        assert!(s.bom);
        assert_eq!(&t[s.yaml_start..s.yaml_end], "id: x\r\n");
        assert_eq!(&t[s.body_start..], "");
    }

    #[test]
    fn errors() {
        assert_eq!(split(""), Err(SplitError::NoOpening));
        assert_eq!(split("---"), Err(SplitError::NoOpening));
        assert_eq!(split("# title\n---\n"), Err(SplitError::NoOpening));
        assert_eq!(
            split("---\nid: x\n"),
            Err(SplitError::Unclosed { opened_line: 1 })
        );
    }
}
