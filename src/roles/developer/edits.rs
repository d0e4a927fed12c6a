//! The edit protocol: the model answers in SEARCH/REPLACE blocks, never code inside JSON.
//!
//! ```text
//! src/lib.rs
//! <<<<<<< SEARCH
//! fn old() {}
//! =======
//! fn new() {}
//! >>>>>>> REPLACE
//! ```
//!
//! An empty SEARCH creates a file. A fenced block preceded by a path line and holding no markers
//! is a whole-file answer, accepted for new or small files only.
//!
//! [`parse_blocks`] turns a reply into [`EditBlock`]s, tolerating prose, code fences, `<think>`
//! text and decorated path lines. [`apply`] applies one block to one file's text, trying in order:
//! an exact line match; recognising an edit that is already applied; a match ignoring trailing
//! whitespace and `\r`; a match whose indentation differs by a constant prefix (REPLACE is then
//! re-indented by the same prefix); a match ignoring blank lines the model added or dropped. Every
//! tier must match exactly one place; several places or none are rejected with the real lines
//! quoted back ([`feedback`]). Nothing fuzzier than those normalisations is ever applied.
//! [`apply_all`] applies a whole answer all-or-nothing.
//!
//! Pure: no I/O, no panics on any input.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One edit the model asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditBlock {
    /// The path as the model wrote it, with decoration (backticks, quotes, `File:`, `###`, a
    /// leading `./`) removed. Not checked for safety here: the policy layer checks the final tree.
    pub path: String,
    /// The lines to find, each ending in `\n`; empty for a new file or a whole-file answer.
    pub search: String,
    /// The lines to put in their place, each ending in `\n`; for a whole-file answer, the file.
    pub replace: String,
    /// A fenced whole-file answer rather than a SEARCH/REPLACE block.
    pub whole_file: bool,
}

impl EditBlock {
    /// A SEARCH/REPLACE block (not whole-file).
    pub fn new(
        path: impl Into<String>,
        search: impl Into<String>,
        replace: impl Into<String>,
    ) -> Self {
        EditBlock {
            path: path.into(),
            search: search.into(),
            replace: replace.into(),
            whole_file: false,
        }
    }

    /// A whole-file answer.
    pub fn whole_file(path: impl Into<String>, content: impl Into<String>) -> Self {
        EditBlock {
            path: path.into(),
            search: String::new(),
            replace: content.into(),
            whole_file: true,
        }
    }
}

/// How to write edits, for the "answer with blocks" retry messages that know no file: the
/// path line is a placeholder that is not a path (copied as is it is refused as a missing path,
/// never taken for a file). Prompts use [`format_help`] with a real path of the task.
pub const FORMAT_HELP: &str = "Answer with SEARCH/REPLACE blocks, one per change, in exactly this shape:

<the path of the file, as in the repository map>
<<<<<<< SEARCH
<the lines to change, copied exactly from the file>
=======
<the new lines>
>>>>>>> REPLACE

Rules:
- The path line comes first, alone on its line, before every block.
- SEARCH holds lines copied exactly from the file (with their indentation), enough of them to be unique; leave it empty to create a new file.
- The <<<UNTRUSTED-...>>> and <<<END-UNTRUSTED-...>>> lines around the files shown to you are not part of the files: never copy them.
- No code inside JSON.";

/// [`FORMAT_HELP`] with `example` (a real path of the task, e.g. the file it names) on the
/// path line, so a model that copies the example copies a path that exists.
pub fn format_help(example: Option<&str>) -> String {
    match example.map(str::trim).filter(|p| path_from_line(p).as_deref() == Some(*p)) {
        Some(path) => FORMAT_HELP
            .replacen("<the path of the file, as in the repository map>", path, 1)
            .replacen(
                "- The path line comes first",
                &format!("- The path line (here `{path}`; use the path of the file you change) comes first"),
                1,
            ),
        None => FORMAT_HELP.to_string(),
    }
}

/// Why a reply could not be read as edits. Block numbers count from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The reply holds no SEARCH/REPLACE block and no whole-file answer.
    #[error("the answer contains no SEARCH/REPLACE blocks")]
    NoBlocks,
    /// A block is cut short or has its markers out of order.
    #[error("block {block}{}: missing {missing}", path_note(.path.as_deref()))]
    Malformed {
        block: usize,
        path: Option<String>,
        missing: &'static str,
    },
    /// The first block has no path line before it.
    #[error(
        "block {block}: no file path before `<<<<<<< SEARCH`; put the path alone on the line \
         just before the block"
    )]
    MissingPath { block: usize },
    /// SEARCH or REPLACE holds one of our `<<<UNTRUSTED-…>>>` marker lines: the model copied
    /// the frame of a shown file, which is not in the file (and must never be written to one).
    #[error(
        "block {block} ({path}): {part} holds the marker line `{line}`; those lines only mark where \
         a file shown to you starts and ends, they are not in the file. Copy only the file's own lines"
    )]
    UntrustedMarker {
        block: usize,
        path: String,
        part: &'static str,
        line: String,
    },
}

fn path_note(path: Option<&str>) -> String {
    path.map(|p| format!(" ({p})")).unwrap_or_default()
}

/// The message to send back to the model for a reply that could not be parsed.
pub fn parse_feedback(error: &ParseError) -> String {
    parse_feedback_with(error, FORMAT_HELP)
}

/// [`parse_feedback`] with the format instructions `help` (see [`format_help`]).
pub fn parse_feedback_with(error: &ParseError, help: &str) -> String {
    format!("Your answer could not be used: {error}. Nothing was applied.\n\n{help}")
}

const MISSING_DIVIDER: &str = "the `=======` line between SEARCH and REPLACE";
const MISSING_END: &str = "the `>>>>>>> REPLACE` line (the answer may be cut off)";
const MISSING_START: &str = "the `<<<<<<< SEARCH` line before `=======` / `>>>>>>> REPLACE`";
const MISSING_FENCE: &str =
    "the closing ``` fence of a whole-file answer (the answer may be cut off)";

fn marker(line: &str, ch: char, word: &str) -> bool {
    let t = line.trim();
    let n = t.chars().take_while(|&c| c == ch).count();
    if !(5..=9).contains(&n) {
        return false;
    }
    let rest = t[n..].trim_start();
    rest.get(..word.len())
        .is_some_and(|w| w.eq_ignore_ascii_case(word))
        && !rest[word.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric())
}

fn is_search(line: &str) -> bool {
    marker(line, '<', "SEARCH")
}

fn is_replace(line: &str) -> bool {
    marker(line, '>', "REPLACE")
}

/// One of the lines [`crate::llm::untrusted_block`] frames data with
/// (`<<<UNTRUSTED-<code> label>>>`, `<<<END-UNTRUSTED-<code>>>>`), possibly mangled a little.
fn is_untrusted_marker(line: &str) -> bool {
    let t = line.trim();
    let upper = t.to_ascii_uppercase();
    (upper.starts_with("<<<UNTRUSTED-") || upper.starts_with("<<<END-UNTRUSTED-"))
        && t.ends_with(">>>")
}

/// The first marker line in SEARCH or REPLACE of `block`, as a refusal.
fn marker_refusal(number: usize, block: &EditBlock) -> Option<ParseError> {
    let parts = [("SEARCH", &block.search), ("REPLACE", &block.replace)];
    parts.into_iter().find_map(|(part, text)| {
        text.lines()
            .find(|l| is_untrusted_marker(l))
            .map(|l| ParseError::UntrustedMarker {
                block: number,
                path: block.path.clone(),
                part: if block.whole_file {
                    "the whole-file answer"
                } else {
                    part
                },
                line: l.trim().chars().take(80).collect(),
            })
    })
}

fn is_divider(line: &str) -> bool {
    let t = line.trim();
    (5..=9).contains(&t.len()) && t.bytes().all(|b| b == b'=')
}

/// A fence line: its character, length and info string.
fn fence(line: &str) -> Option<(char, usize, &str)> {
    let t = line.trim();
    let ch = t.chars().next().filter(|&c| c == '`' || c == '~')?;
    let n = t.chars().take_while(|&c| c == ch).count();
    (n >= 3).then(|| (ch, n, t[n..].trim()))
}

fn closes(line: &str, ch: char, len: usize) -> bool {
    let t = line.trim();
    t.chars().count() >= len && t.chars().all(|c| c == ch)
}

/// The path on a path line, or `None` when the line is prose.
fn path_from_line(line: &str) -> Option<String> {
    let raw = line.trim();
    let unwrap = |t: &str| {
        t.trim_matches(|c| matches!(c, '*' | '`' | '"' | '\''))
            .trim()
            .to_string()
    };
    let mut decorated = raw.starts_with(['#', '*', '`', '"', '\'']);
    let mut t = unwrap(raw.trim_start_matches('#').trim_start());
    for prefix in ["file path:", "filename:", "file:", "path:"] {
        if t.get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
        {
            t = unwrap(&t[prefix.len()..]);
            decorated = true;
            break;
        }
    }
    let t = unwrap(t.trim_end_matches(':'));
    let t = t.strip_prefix("./").unwrap_or(&t);
    if t.is_empty() || t.len() > 300 || t.chars().any(char::is_whitespace) {
        return None;
    }
    let clean = t
        .chars()
        .all(|c| c.is_alphanumeric() || "._-/+@".contains(c));
    if !clean {
        return None;
    }
    let pathy = t.contains('.') || t.contains('/');
    (pathy || decorated || !raw.ends_with(':')).then(|| t.to_string())
}

/// A path in a fence's info string (```` ```rust src/lib.rs ```` or ```` ```src/lib.rs ````).
/// Also ```` ```python:src/app.py ```` and ```` ```title="src/app.py" ````.
fn path_from_info(info: &str) -> Option<String> {
    info.split_whitespace()
        .flat_map(|w| {
            let w = w.split_once('=').map_or(w, |(_, v)| v);
            [Some(w), w.split_once(':').map(|(_, p)| p)]
        })
        .flatten()
        .filter(|w| w.contains('.') || w.contains('/'))
        .find_map(path_from_line)
}

/// The path line for a block starting at `at`: the nearest line above that is not blank and not
/// a fence, no further back than `floor` (the end of the previous block).
fn path_before(lines: &[&str], floor: usize, at: usize) -> Option<String> {
    let mut i = at;
    let mut looked = 0;
    while i > floor && looked < 4 {
        i -= 1;
        let line = lines[i];
        if line.trim().is_empty() {
            continue;
        }
        looked += 1;
        if let Some((_, _, info)) = fence(line) {
            if let Some(p) = path_from_info(info) {
                return Some(p);
            }
            continue;
        }
        return path_from_line(line);
    }
    None
}

fn push_line(buf: &mut String, line: &str) {
    buf.push_str(line);
    buf.push('\n');
}

/// The text of `lines[from..]` up to the first line `end` matches, and that line's index;
/// `None` when a line `bad` matches comes first or no line ends the section.
fn section(
    lines: &[&str],
    from: usize,
    end: fn(&str) -> bool,
    bad: impl Fn(&str) -> bool,
) -> Option<(String, usize)> {
    let mut text = String::new();
    for (j, &l) in lines.iter().enumerate().skip(from) {
        if end(l) {
            return Some((text, j));
        }
        if bad(l) {
            return None;
        }
        push_line(&mut text, l);
    }
    None
}

/// Reads SEARCH/REPLACE blocks (and whole-file answers) out of a model reply.
///
/// A block without a path line reuses the previous block's path. A fenced whole-file answer is
/// ignored when the same reply also has SEARCH/REPLACE blocks for that path (it is then most
/// likely the model quoting the file, not replacing it).
pub fn parse_blocks(reply: &str) -> Result<Vec<EditBlock>, ParseError> {
    let (text, _) = crate::llm::strip_think(reply);
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let mut blocks: Vec<EditBlock> = Vec::new();
    let mut floor = 0;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if is_search(line) {
            let block = blocks.len() + 1;
            let path = path_before(&lines, floor, i)
                .or_else(|| blocks.last().map(|b| b.path.clone()))
                .ok_or(ParseError::MissingPath { block })?;
            let malformed = |missing| ParseError::Malformed {
                block,
                path: Some(path.clone()),
                missing,
            };
            let (search, j) = section(&lines, i + 1, is_divider, |l| is_search(l) || is_replace(l))
                .ok_or_else(|| malformed(MISSING_DIVIDER))?;
            let (replace, j) = section(&lines, j + 1, is_replace, is_search)
                .ok_or_else(|| malformed(MISSING_END))?;
            blocks.push(EditBlock {
                path,
                search,
                replace,
                whole_file: false,
            });
            i = j + 1;
            floor = i;
            continue;
        }
        if is_replace(line) {
            return Err(ParseError::Malformed {
                block: blocks.len() + 1,
                path: None,
                missing: MISSING_START,
            });
        }
        if let Some((ch, len, info)) = fence(line) {
            let close = (i + 1..lines.len()).find(|&k| closes(lines[k], ch, len));
            let body_end = close.unwrap_or(lines.len());
            let body = &lines[i + 1..body_end];
            if body.iter().any(|l| is_search(l) || is_replace(l)) {
                // A fence around SEARCH/REPLACE blocks: read on inside it.
                i += 1;
                continue;
            }
            let mut body = body;
            let mut path = path_from_info(info).or_else(|| whole_file_path(&lines, floor, i));
            // ```python
            // # src/app.py        <- the path as a comment on the first line (small models)
            if path.is_none()
                && !info.is_empty()
                && let Some(p) = body.first().and_then(|l| path_from_comment(l))
            {
                path = Some(p);
                body = &body[1..];
            }
            match (path, close) {
                (Some(path), Some(_)) => {
                    let mut content = String::new();
                    for l in body {
                        push_line(&mut content, l);
                    }
                    blocks.push(EditBlock::whole_file(path, content));
                    i = body_end + 1;
                    floor = i;
                }
                (Some(path), None) => {
                    return Err(ParseError::Malformed {
                        block: blocks.len() + 1,
                        path: Some(path),
                        missing: MISSING_FENCE,
                    });
                }
                // A snippet, or the closing fence of an earlier one: read on line by line, it
                // holds no markers.
                (None, _) => i += 1,
            }
            continue;
        }
        i += 1;
    }
    let edited: Vec<String> = blocks
        .iter()
        .filter(|b| !b.whole_file)
        .map(|b| b.path.clone())
        .collect();
    blocks.retain(|b| !b.whole_file || !edited.contains(&b.path));
    if blocks.is_empty() {
        return Err(ParseError::NoBlocks);
    }
    for (i, b) in blocks.iter_mut().enumerate() {
        if !b.whole_file {
            unfence_bodies(b);
        }
        if let Some(refusal) = marker_refusal(i + 1, b) {
            return Err(refusal);
        }
    }
    Ok(blocks)
}

/// The inside of `text` when its first line opens a code fence and its last line closes it.
fn fenced_inside(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let (first, last) = (lines.first()?, lines.last()?);
    let (ch, len, _) = fence(first)?;
    (lines.len() >= 2 && closes(last, ch, len)).then(|| {
        let mut out = String::new();
        for l in &lines[1..lines.len() - 1] {
            push_line(&mut out, l);
        }
        out
    })
}

/// Small models often wrap SEARCH and REPLACE bodies in code fences (```` ```python ````); the
/// fence lines are not in the file. In a document (Markdown, text) a fenced body may be meant,
/// so there both bodies must be fenced (the fences then cancel out); in code one is enough.
fn unfence_bodies(block: &mut EditBlock) {
    let doc = {
        let p = block.path.to_ascii_lowercase();
        [".md", ".markdown", ".rst", ".txt", ".adoc", ".mdx"]
            .iter()
            .any(|e| p.ends_with(e))
    };
    let (search, replace) = (fenced_inside(&block.search), fenced_inside(&block.replace));
    match (search, replace) {
        (Some(s), Some(r)) => {
            block.search = s;
            block.replace = r;
        }
        (Some(s), None) if !doc => block.search = s,
        (None, Some(r)) if !doc => block.replace = r,
        _ => {}
    }
}

/// A comment line that only names a file (`# src/app.py`, `// src/lib.rs`, `<!-- a.md -->`):
/// the label small models put on the first line of a fenced whole file. Needs a `/` or an
/// extension, so `# Setup` or `// TODO` are never taken for paths.
fn path_from_comment(line: &str) -> Option<String> {
    let t = line.trim();
    let (body, close) = [
        ("<!--", "-->"),
        ("/*", "*/"),
        ("//", ""),
        ("#", ""),
        ("--", ""),
    ]
    .into_iter()
    .find_map(|(open, close)| t.strip_prefix(open).map(|b| (b, close)))?;
    let body = body
        .trim()
        .strip_suffix(close)
        .unwrap_or(body.trim())
        .trim();
    let p = path_from_line(body)?;
    let pathy = p.contains('/')
        || p.rsplit_once('.')
            .is_some_and(|(stem, ext)| !stem.is_empty() && !ext.is_empty());
    pathy.then_some(p)
}

/// The path line directly above a fence (one blank line allowed in between).
fn whole_file_path(lines: &[&str], floor: usize, at: usize) -> Option<String> {
    let mut i = at;
    let mut blanks = 0;
    while i > floor {
        i -= 1;
        if lines[i].trim().is_empty() {
            blanks += 1;
            if blanks > 1 {
                return None;
            }
            continue;
        }
        if fence(lines[i]).is_some() {
            return None;
        }
        return path_from_line(lines[i]);
    }
    None
}

/// Knobs for [`apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyOptions {
    /// An empty SEARCH on an existing, non-empty file appends REPLACE instead of failing.
    pub allow_append: bool,
    /// Whole-file answers are accepted for new files and files of at most this many lines.
    pub whole_file_max_lines: usize,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            allow_append: false,
            whole_file_max_lines: 200,
        }
    }
}

/// How a block matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matched {
    /// Empty SEARCH (or a whole-file answer) on a missing or empty file.
    Created,
    /// Empty SEARCH on an existing file, with `allow_append`.
    Appended,
    /// A whole-file answer replaced a small file.
    WholeFile,
    /// SEARCH matched line for line.
    Exact,
    /// SEARCH matched once trailing whitespace and `\r` were ignored.
    TrailingWhitespace,
    /// SEARCH matched with a constant indentation difference; REPLACE was re-indented.
    Indentation,
    /// SEARCH matched once blank lines were ignored.
    BlankLines,
}

/// What [`apply`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The file's new text.
    Changed { text: String, how: Matched },
    /// The file already holds the edit (SEARCH gone and REPLACE there once, or REPLACE there
    /// around the only SEARCH match); nothing changes.
    AlreadyApplied,
}

/// Why a block was not applied. The messages are written for the model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    #[error("the block has no file path")]
    EmptyPath,
    /// SEARCH matches several places; `lines` are their 1-based first lines.
    #[error(
        "SEARCH matches {count} places (starting at lines {}); add neighbouring lines to SEARCH \
         so it matches exactly one",
        join_numbers(.lines)
    )]
    Ambiguous {
        count: usize,
        lines: Vec<usize>,
        /// The start of each match, quoted with line numbers.
        quoted: String,
    },
    /// SEARCH matches nowhere; `nearest` quotes the closest real lines with their numbers (or
    /// says the file does not exist).
    #[error("SEARCH does not match the file; {nearest}")]
    NotFound { nearest: String },
    /// Empty SEARCH on a file that exists.
    #[error(
        "SEARCH is empty but the file already exists; copy the lines you change into SEARCH \
         (to add lines, SEARCH for the lines next to them and repeat them in REPLACE)"
    )]
    FileExists,
    #[error(
        "a whole-file answer is accepted only for new files or files of at most {max} lines; this \
         file has {lines} lines, so use SEARCH/REPLACE blocks"
    )]
    WholeFileTooLarge { lines: usize, max: usize },
    /// REPLACE (or a whole file) leaves code out with a placeholder comment.
    #[error(
        "the new text leaves code out with `{line}`; write out every line, a placeholder would \
         delete the code it stands for"
    )]
    Elided { line: String },
}

fn join_numbers(numbers: &[usize]) -> String {
    let shown: Vec<String> = numbers.iter().take(10).map(|n| n.to_string()).collect();
    let more = if numbers.len() > 10 { ", …" } else { "" };
    format!("{}{more}", shown.join(", "))
}

/// One file's text as lines with their own endings.
struct FileText<'a> {
    lines: Vec<(&'a str, &'a str)>,
    eol: &'static str,
}

impl<'a> FileText<'a> {
    fn new(text: &'a str) -> Self {
        let mut crlf = 0usize;
        let mut lf = 0usize;
        let lines: Vec<(&str, &str)> = text
            .split_inclusive('\n')
            .map(|piece| {
                if let Some(c) = piece.strip_suffix("\r\n") {
                    crlf += 1;
                    (c, "\r\n")
                } else if let Some(c) = piece.strip_suffix('\n') {
                    lf += 1;
                    (c, "\n")
                } else {
                    (piece, "")
                }
            })
            .collect();
        FileText {
            lines,
            eol: if crlf > lf { "\r\n" } else { "\n" },
        }
    }

    fn contents(&self) -> Vec<&'a str> {
        self.lines.iter().map(|(c, _)| *c).collect()
    }

    fn ends_without_newline(&self) -> bool {
        self.lines.last().is_some_and(|(_, e)| e.is_empty())
    }

    /// The text with lines `start..end` replaced by `new` (file line endings, final newline
    /// status kept).
    fn splice(&self, start: usize, end: usize, new: &[String]) -> String {
        let mut out = String::new();
        for (c, e) in &self.lines[..start] {
            out.push_str(c);
            out.push_str(e);
        }
        let open_end = end == self.lines.len() && self.ends_without_newline();
        for (k, l) in new.iter().enumerate() {
            out.push_str(l);
            if !(open_end && k + 1 == new.len()) {
                out.push_str(self.eol);
            }
        }
        for (c, e) in &self.lines[end..] {
            out.push_str(c);
            out.push_str(e);
        }
        if open_end && new.is_empty() {
            let trimmed = out
                .strip_suffix('\n')
                .map(|s| s.strip_suffix('\r').unwrap_or(s));
            if let Some(t) = trimmed {
                out.truncate(t.len());
            }
        }
        out
    }
}

/// A block's text as lines (no endings, `\r` dropped).
fn text_lines(text: &str) -> Vec<&str> {
    if text.is_empty() {
        return Vec::new();
    }
    let body = text.strip_suffix('\n').unwrap_or(text);
    body.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect()
}

fn blank(line: &str) -> bool {
    line.trim().is_empty()
}

fn leading(line: &str) -> &str {
    &line[..line.len() - line.trim_start().len()]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Exact,
    TrimEnd,
    Indent,
}

/// How the file's indentation relates to SEARCH's in an indentation-tolerant match.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Indent {
    Same,
    /// The file has this prefix on top of SEARCH's indentation.
    Add(String),
    /// SEARCH has this prefix on top of the file's indentation.
    Remove(String),
}

fn indent_delta(file: &str, search: &str) -> Option<Indent> {
    let f = leading(file);
    let s = leading(search);
    if f == s {
        Some(Indent::Same)
    } else if let Some(p) = f.strip_suffix(s) {
        Some(Indent::Add(p.to_string()))
    } else {
        s.strip_suffix(f).map(|p| Indent::Remove(p.to_string()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Window {
    start: usize,
    end: usize,
    indent: Indent,
}

/// Compares one file line with one SEARCH line, folding the indentation delta into `indent`.
fn line_matches(file: &str, search: &str, mode: Mode, indent: &mut Option<Indent>) -> bool {
    match mode {
        Mode::Exact => file == search,
        Mode::TrimEnd => file.trim_end() == search.trim_end(),
        Mode::Indent => {
            if blank(file) || blank(search) {
                return blank(file) && blank(search);
            }
            if file.trim() != search.trim() {
                return false;
            }
            let Some(delta) = indent_delta(file, search) else {
                return false;
            };
            match indent {
                None => {
                    *indent = Some(delta);
                    true
                }
                Some(seen) => *seen == delta,
            }
        }
    }
}

/// Every place `search` matches in `file`. With `skip_blanks`, `search` must hold no blank lines
/// and blank file lines inside a window are skipped; windows start and end on non-blank lines.
fn find(file: &[&str], search: &[&str], mode: Mode, skip_blanks: bool) -> Vec<Window> {
    let mut found = Vec::new();
    if search.is_empty() {
        return found;
    }
    for start in 0..file.len() {
        if skip_blanks && blank(file[start]) {
            continue;
        }
        if !skip_blanks && start + search.len() > file.len() {
            break;
        }
        let mut indent = None;
        let mut k = start;
        let mut ok = true;
        for s in search {
            if skip_blanks {
                while k < file.len() && blank(file[k]) {
                    k += 1;
                }
            }
            if k >= file.len() || !line_matches(file[k], s, mode, &mut indent) {
                ok = false;
                break;
            }
            k += 1;
        }
        if ok {
            found.push(Window {
                start,
                end: k,
                indent: indent.unwrap_or(Indent::Same),
            });
        }
    }
    found
}

/// The first tier that matches at all: its windows and name.
fn locate(file: &[&str], search: &[&str]) -> Option<(Vec<Window>, Matched)> {
    let tiers = [
        (Mode::Exact, Matched::Exact),
        (Mode::TrimEnd, Matched::TrailingWhitespace),
        (Mode::Indent, Matched::Indentation),
    ];
    for (mode, how) in tiers {
        let found = find(file, search, mode, false);
        if !found.is_empty() {
            return Some((found, how));
        }
    }
    // Blank lines the model added to SEARCH, or dropped from it: match the non-blank lines.
    let dense: Vec<&str> = search.iter().copied().filter(|l| !blank(l)).collect();
    for mode in [Mode::TrimEnd, Mode::Indent] {
        let found = find(file, &dense, mode, true);
        if !found.is_empty() {
            return Some((found, Matched::BlankLines));
        }
    }
    None
}

/// Where the REPLACE text sits in the file, when it sits there exactly once.
fn replace_present(file: &[&str], replace: &[&str]) -> Option<Window> {
    if replace.iter().all(|l| blank(l)) {
        return None;
    }
    for mode in [Mode::Exact, Mode::TrimEnd, Mode::Indent] {
        let mut found = find(file, replace, mode, false);
        if found.len() == 1 {
            return found.pop();
        }
        if !found.is_empty() {
            return None;
        }
    }
    None
}

fn reindent(lines: &[&str], indent: &Indent) -> Vec<String> {
    lines
        .iter()
        .map(|l| {
            if blank(l) {
                return l.trim_end().to_string();
            }
            match indent {
                Indent::Same => l.to_string(),
                Indent::Add(p) => format!("{p}{l}"),
                Indent::Remove(p) => match l.strip_prefix(p.as_str()) {
                    Some(rest) => rest.to_string(),
                    None => l.trim_start().to_string(),
                },
            }
        })
        .collect()
}

/// A placeholder comment such as `// ... existing code ...` that is not in `known`.
fn elision(new: &[&str], known: &[&str]) -> Option<String> {
    new.iter().find_map(|l| {
        let t = l.trim();
        let body = ["//", "#", "/*", "<!--", "--", "*", ";"]
            .iter()
            .find_map(|c| t.strip_prefix(c))?
            .trim_start();
        let placeholder = body.starts_with("...") || body.starts_with('…');
        (placeholder && !known.iter().any(|k| k.trim() == t)).then(|| t.to_string())
    })
}

const NO_FILE: &str = "the file does not exist. To create it, leave SEARCH empty";

/// Applies one block to one file's text (`None`: the file does not exist).
pub fn apply(
    original: Option<&str>,
    block: &EditBlock,
    opts: &ApplyOptions,
) -> Result<Applied, ApplyError> {
    if block.path.trim().is_empty() {
        return Err(ApplyError::EmptyPath);
    }
    let replace = text_lines(&block.replace);
    if block.whole_file {
        return apply_whole_file(original, &replace, opts);
    }
    let search = text_lines(&block.search);
    if search.iter().all(|l| blank(l)) {
        return apply_empty_search(original, &replace, opts);
    }
    let Some(original) = original else {
        return Err(ApplyError::NotFound {
            nearest: NO_FILE.to_string(),
        });
    };
    let file = FileText::new(original);
    let lines = file.contents();
    let known: Vec<&str> = search.iter().chain(&lines).copied().collect();
    if let Some(line) = elision(&replace, &known) {
        return Err(ApplyError::Elided { line });
    }
    match locate(&lines, &search) {
        Some((windows, how)) if windows.len() == 1 => {
            let w = &windows[0];
            if let Some(r) = replace_present(&lines, &replace)
                && r.start <= w.start
                && w.end <= r.end
            {
                return Ok(Applied::AlreadyApplied);
            }
            let mut new_lines: &[&str] = &replace;
            if how == Matched::BlankLines {
                new_lines = trim_spurious_blanks(&search, new_lines);
            }
            let new = reindent(new_lines, &w.indent);
            let text = file.splice(w.start, w.end, &new);
            if text == original {
                return Ok(Applied::AlreadyApplied);
            }
            Ok(Applied::Changed { text, how })
        }
        Some((windows, _)) => Err(ApplyError::Ambiguous {
            count: windows.len(),
            lines: windows.iter().map(|w| w.start + 1).collect(),
            quoted: quote_matches(&lines, &windows),
        }),
        None => {
            if replace_present(&lines, &replace).is_some() {
                return Ok(Applied::AlreadyApplied);
            }
            Err(ApplyError::NotFound {
                nearest: nearest(&lines, &search),
            })
        }
    }
}

/// Drops from REPLACE the leading/trailing blank lines that mirror SEARCH's spurious ones.
fn trim_spurious_blanks<'r>(search: &[&str], replace: &'r [&'r str]) -> &'r [&'r str] {
    let lead = search.iter().take_while(|l| blank(l)).count();
    let trail = search.iter().rev().take_while(|l| blank(l)).count();
    let r_lead = replace.iter().take_while(|l| blank(l)).count().min(lead);
    let rest = &replace[r_lead..];
    let r_trail = rest
        .iter()
        .rev()
        .take_while(|l| blank(l))
        .count()
        .min(trail);
    &rest[..rest.len() - r_trail]
}

fn apply_whole_file(
    original: Option<&str>,
    content: &[&str],
    opts: &ApplyOptions,
) -> Result<Applied, ApplyError> {
    let known = original
        .map(|o| FileText::new(o).contents())
        .unwrap_or_default();
    if let Some(line) = elision(content, &known) {
        return Err(ApplyError::Elided { line });
    }
    let new: Vec<String> = content.iter().map(|l| l.to_string()).collect();
    let Some(original) = original else {
        return Ok(Applied::Changed {
            text: FileText::new("").splice(0, 0, &new),
            how: Matched::Created,
        });
    };
    let file = FileText::new(original);
    if file.lines.len() > opts.whole_file_max_lines {
        return Err(ApplyError::WholeFileTooLarge {
            lines: file.lines.len(),
            max: opts.whole_file_max_lines,
        });
    }
    let text = file.splice(0, file.lines.len(), &new);
    if text == original {
        return Ok(Applied::AlreadyApplied);
    }
    let how = if blank(original) {
        Matched::Created
    } else {
        Matched::WholeFile
    };
    Ok(Applied::Changed { text, how })
}

fn apply_empty_search(
    original: Option<&str>,
    replace: &[&str],
    opts: &ApplyOptions,
) -> Result<Applied, ApplyError> {
    if let Some(line) = elision(replace, &[]) {
        return Err(ApplyError::Elided { line });
    }
    let new: Vec<String> = replace.iter().map(|l| l.to_string()).collect();
    let original = match original {
        None => {
            return Ok(Applied::Changed {
                text: FileText::new("").splice(0, 0, &new),
                how: Matched::Created,
            });
        }
        Some(o) => o,
    };
    let file = FileText::new(original);
    if blank(original) {
        let text = file.splice(0, file.lines.len(), &new);
        if text == original {
            return Ok(Applied::AlreadyApplied);
        }
        return Ok(Applied::Changed {
            text,
            how: Matched::Created,
        });
    }
    let lines = file.contents();
    if replace_present(&lines, replace).is_some() {
        return Ok(Applied::AlreadyApplied);
    }
    if !opts.allow_append {
        return Err(ApplyError::FileExists);
    }
    let mut text = original.to_string();
    if file.ends_without_newline() {
        text.push_str(file.eol);
    }
    for l in &new {
        text.push_str(l);
        text.push_str(file.eol);
    }
    Ok(Applied::Changed {
        text,
        how: Matched::Appended,
    })
}

fn quote(lines: &[&str], from: usize, to: usize, out: &mut String) {
    let width = to.max(1).to_string().len();
    for (n, l) in lines.iter().enumerate().take(to).skip(from) {
        let _ = writeln!(out, "{:>width$} | {}", n + 1, l);
    }
}

fn quote_matches(lines: &[&str], windows: &[Window]) -> String {
    let mut out = String::new();
    for w in windows.iter().take(5) {
        let from = w.start.saturating_sub(1);
        let to = (w.start + 2).min(w.end.max(w.start + 1)).min(lines.len());
        let _ = writeln!(out, "match at line {}:", w.start + 1);
        quote(lines, from, to, &mut out);
    }
    if windows.len() > 5 {
        let _ = writeln!(out, "… and {} more", windows.len() - 5);
    }
    out
}

/// Similarity of two lines, 0 to 1, ignoring surrounding whitespace.
fn line_similarity(a: &str, b: &str, cheap: bool) -> f64 {
    let (a, b) = (a.trim(), b.trim());
    if a == b {
        return 1.0;
    }
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    if cheap {
        // Large files: shared prefix and suffix, linear time.
        let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
        let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
        let room = a.len().min(b.len()) - prefix;
        let suffix = a
            .iter()
            .rev()
            .zip(b.iter().rev())
            .take(room)
            .take_while(|(x, y)| x == y)
            .count();
        return (prefix + suffix) as f64 / a.len().max(b.len()) as f64;
    }
    let cut = |s: &str| -> String { s.chars().take(100).collect() };
    strsim::normalized_levenshtein(&cut(a), &cut(b))
}

/// The closest real lines to SEARCH, quoted with line numbers.
fn nearest(lines: &[&str], search: &[&str]) -> String {
    if lines.is_empty() {
        return "the file is empty".to_string();
    }
    let m = search.len().clamp(1, lines.len());
    let cheap = lines.len().saturating_mul(search.len()) > 20_000;
    let mut best = (0usize, -1.0f64);
    for start in 0..=lines.len() - m {
        let score: f64 = search
            .iter()
            .zip(&lines[start..start + m])
            .map(|(s, f)| line_similarity(f, s, cheap))
            .sum::<f64>()
            / search.len().max(1) as f64;
        if score > best.1 {
            best = (start, score);
        }
    }
    let (start, score) = best;
    let end = (start + m).min(lines.len());
    // One line of context either side; long windows are cut.
    let shown_start = start.saturating_sub(1);
    let shown_end = (end + 1).min(lines.len()).min(start + 40);
    let mut out = format!(
        "the closest lines in the file are {}-{} ({}% similar), shown with a line of context:\n",
        start + 1,
        end,
        (score.max(0.0) * 100.0).round() as u32
    );
    quote(lines, shown_start, shown_end, &mut out);
    if shown_end < end {
        let _ = writeln!(out, "…");
    }
    out
}

/// A block [`apply_all`] could not apply. `index` counts from 0 in the blocks given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockError {
    pub index: usize,
    pub path: String,
    pub error: ApplyError,
}

/// Applies every block in order (later blocks see earlier results), all or nothing.
///
/// `files` holds the current text of the files the blocks may touch (`None` or absent: the file
/// does not exist). Returns the new text of every file that changed; blocks that were already
/// applied change nothing. On any failure nothing is returned but every failure, so the model can
/// fix them all at once.
pub fn apply_all(
    files: &BTreeMap<String, Option<String>>,
    blocks: &[EditBlock],
    opts: &ApplyOptions,
) -> Result<BTreeMap<String, String>, Vec<BlockError>> {
    let mut state: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut errors = Vec::new();
    for (index, block) in blocks.iter().enumerate() {
        let path = block.path.trim();
        let fail = |error| BlockError {
            index,
            path: path.to_string(),
            error,
        };
        if path.is_empty() {
            errors.push(fail(ApplyError::EmptyPath));
            continue;
        }
        let current = match state.get(path) {
            Some(text) => text.clone(),
            None => files.get(path).cloned().flatten(),
        };
        match apply(current.as_deref(), block, opts) {
            Ok(Applied::Changed { text, .. }) => {
                state.insert(path.to_string(), Some(text));
            }
            Ok(Applied::AlreadyApplied) => {}
            Err(error) => errors.push(fail(error)),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(state
        .into_iter()
        .filter_map(|(path, text)| {
            let text = text?;
            let before = files.get(&path).and_then(|t| t.as_deref());
            (before != Some(text.as_str())).then_some((path, text))
        })
        .collect())
}

/// The message sent back to the model when blocks failed: what went wrong per block, with the
/// real lines quoted.
pub fn feedback(errors: &[BlockError]) -> String {
    let mut out = format!(
        "{} of your edit blocks could not be applied, so none of the edits were made. Answer again \
         with all your SEARCH/REPLACE blocks, corrected.\n",
        errors.len()
    );
    for e in errors {
        let _ = write!(out, "\nBlock {} ({}): ", e.index + 1, e.path);
        match &e.error {
            ApplyError::Ambiguous { quoted, .. } => {
                let _ = write!(out, "{}.\n{quoted}", e.error);
            }
            ApplyError::NotFound { nearest } => {
                let _ = write!(out, "SEARCH does not match the file; {nearest}");
                if !nearest.ends_with('\n') {
                    out.push('\n');
                }
                if nearest != NO_FILE {
                    out.push_str(
                        "Copy the SEARCH lines exactly from the file, including indentation.\n",
                    );
                }
            }
            other => {
                let _ = writeln!(out, "{other}.");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_tolerate_counts_and_suffixes() {
        assert!(is_search("<<<<<<< SEARCH"));
        assert!(is_search("<<<<<< SEARCH:"));
        assert!(is_search("  <<<<<<<< search"));
        assert!(!is_search("<<<<<<< SEARCHING"));
        assert!(!is_search("<<< SEARCH"));
        assert!(is_replace(">>>>>>> REPLACE"));
        assert!(is_replace(">>>>>>>> REPLACE."));
        assert!(is_divider("======="));
        assert!(is_divider("========"));
        assert!(!is_divider("=== x"));
    }

    #[test]
    fn path_lines() {
        assert_eq!(path_from_line("src/lib.rs").as_deref(), Some("src/lib.rs"));
        assert_eq!(
            path_from_line("`src/lib.rs`").as_deref(),
            Some("src/lib.rs")
        );
        assert_eq!(path_from_line("### src/a.py").as_deref(), Some("src/a.py"));
        assert_eq!(path_from_line("File: `a/b.rs`").as_deref(), Some("a/b.rs"));
        assert_eq!(path_from_line("**src/x.rs**:").as_deref(), Some("src/x.rs"));
        assert_eq!(path_from_line("\"./x.toml\"").as_deref(), Some("x.toml"));
        assert_eq!(path_from_line("Makefile").as_deref(), Some("Makefile"));
        assert_eq!(path_from_line("Here:"), None);
        assert_eq!(path_from_line("Sure!"), None);
        assert_eq!(path_from_line("Change the function:"), None);
    }

    #[test]
    fn indentation_delta() {
        assert_eq!(indent_delta("    x", "x"), Some(Indent::Add("    ".into())));
        assert_eq!(indent_delta("x", "  x"), Some(Indent::Remove("  ".into())));
        assert_eq!(indent_delta("\tx", "  x"), None);
    }

    #[test]
    fn splice_keeps_missing_final_newline() {
        let f = FileText::new("a\nb");
        assert_eq!(f.splice(1, 2, &["c".into()]), "a\nc");
        assert_eq!(f.splice(1, 2, &[]), "a");
        let f = FileText::new("a\r\nb\r\n");
        assert_eq!(f.splice(0, 1, &["x".into(), "y".into()]), "x\r\ny\r\nb\r\n");
    }
}
