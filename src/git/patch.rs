//! Turning two blob versions into git-compatible patch text, hunks and `--numstat` counts.
//! Lines are diffed with imara-diff's Myers plus the indent heuristic (git's defaults), so a
//! minimal diff gives the same counts as git, and grouped into hunks by gix's unified diff;
//! hunk headers (with git's function line), file headers and quoting follow git byte for byte.

use gix::diff::blob::unified_diff::{ConsumeHunk, ContextSize, DiffLineKind, HunkHeader};
use gix::diff::blob::{
    Algorithm, Diff as LineDiff, InternedInput, UnifiedDiff, sources::byte_lines,
};

use super::checkout::Mode;
use super::diff::{ChangeKind, DiffOptions, Hunk};
use super::quote::quote_path;

/// Whether git would call this content binary: a NUL byte in the first 8000 bytes.
pub fn is_binary(data: &[u8]) -> bool {
    data[..data.len().min(8000)].contains(&0)
}

/// One side of a file change.
pub(crate) struct Side<'a> {
    pub path: &'a [u8],
    pub mode: Mode,
    /// Full hex id.
    pub id: &'a str,
    /// The id as printed on the `index` line (abbreviated by the caller).
    pub short_id: &'a str,
    /// Content (for a submodule, git's `Subproject commit <sha>\n` stand-in).
    pub data: &'a [u8],
}

/// The rendered change of one file.
#[derive(Default)]
pub(crate) struct Rendered {
    pub hunks: Vec<Hunk>,
    pub patch: String,
    pub additions: u32,
    pub deletions: u32,
    pub binary: bool,
    pub truncated: bool,
}

/// Render one file change. `kind` decides the header style; for `TypeChanged` the result is a
/// deletion block followed by an addition block, as git prints it.
pub(crate) fn render(
    old: Option<&Side<'_>>,
    new: Option<&Side<'_>>,
    kind: ChangeKind,
    similarity: Option<u8>,
    opts: &DiffOptions,
) -> Rendered {
    if kind == ChangeKind::TypeChanged {
        let mut del = render(old, None, ChangeKind::Deleted, None, opts);
        let add = render(None, new, ChangeKind::Added, None, opts);
        del.patch.push_str(&add.patch);
        del.hunks.extend(add.hunks);
        del.additions += add.additions;
        del.deletions += add.deletions;
        del.binary |= add.binary;
        del.truncated |= add.truncated;
        return del;
    }
    let old_path = old.or(new).map_or(&b""[..], |s| s.path);
    let new_path = new.or(old).map_or(&b""[..], |s| s.path);
    let a_name = quote_path("a/", old_path);
    let b_name = quote_path("b/", new_path);

    let mut head = format!("diff --git {a_name} {b_name}\n");
    match (old, new) {
        (None, Some(n)) => head.push_str(&format!("new file mode {}\n", n.mode)),
        (Some(o), None) => head.push_str(&format!("deleted file mode {}\n", o.mode)),
        (Some(o), Some(n)) if o.mode != n.mode => {
            head.push_str(&format!("old mode {}\nnew mode {}\n", o.mode, n.mode));
        }
        _ => {}
    }
    if kind == ChangeKind::Renamed {
        head.push_str(&format!(
            "similarity index {}%\nrename from {}\nrename to {}\n",
            similarity.unwrap_or(100),
            quote_path("", old_path),
            quote_path("", new_path)
        ));
    }
    let old_id = old.map(|s| s.id);
    let new_id = new.map(|s| s.id);
    if old_id != new_id {
        let (old_short, new_short) = (old.map(|s| s.short_id), new.map(|s| s.short_id));
        // The missing side prints as zeros as long as the other side's abbreviation.
        let zeros = "0".repeat(old_short.or(new_short).map_or(7, str::len));
        let (a, b) = (old_short.unwrap_or(&zeros), new_short.unwrap_or(&zeros));
        head.push_str(&format!("index {a}..{b}"));
        if let (Some(o), Some(n)) = (old, new)
            && o.mode == n.mode
        {
            head.push_str(&format!(" {}", o.mode));
        }
        head.push('\n');
    }

    let old_data = old.map_or(&b""[..], |s| s.data);
    let new_data = new.map_or(&b""[..], |s| s.data);
    let mut out = Rendered {
        patch: head,
        ..Rendered::default()
    };
    if old_id == new_id {
        return out;
    }
    let label_a = if old.is_some() {
        a_name
    } else {
        "/dev/null".to_owned()
    };
    let label_b = if new.is_some() {
        b_name
    } else {
        "/dev/null".to_owned()
    };
    if is_binary(old_data) || is_binary(new_data) {
        out.binary = true;
        out.patch
            .push_str(&format!("Binary files {label_a} and {label_b} differ\n"));
        return out;
    }

    let hunks = text_hunks(old_data, new_data, opts.context_lines, &mut out);
    if hunks.is_empty() {
        return out;
    }
    // Like git, a name with a space gets a trailing tab so patch tools can find its end.
    let tab = |side: Option<&Side<'_>>| {
        if side.is_some_and(|s| s.path.contains(&b' ')) {
            "\t"
        } else {
            ""
        }
    };
    out.patch.push_str(&format!(
        "--- {label_a}{}\n+++ {label_b}{}\n",
        tab(old),
        tab(new)
    ));
    let budget = opts.max_patch_bytes;
    for hunk in hunks {
        let size = hunk.header.len() + 1 + hunk.lines.iter().map(|l| l.len() + 1).sum::<usize>();
        if out.patch.len() + size > budget {
            out.truncated = true;
            break;
        }
        out.patch.push_str(&hunk.header);
        out.patch.push('\n');
        for line in &hunk.lines {
            out.patch.push_str(line);
            out.patch.push('\n');
        }
        out.hunks.push(hunk);
    }
    out
}

/// Line-diff `old` → `new`, count additions/deletions into `out`, and build unified hunks
/// (gix groups the changes into hunks like xdiff: at most 2×`context` unchanged lines apart).
fn text_hunks(old: &[u8], new: &[u8], context: u32, out: &mut Rendered) -> Vec<Hunk> {
    let input = InternedInput::new(byte_lines(old), byte_lines(new));
    let mut diff = LineDiff::compute(Algorithm::Myers, &input);
    diff.postprocess_lines(&input);
    out.additions = diff.count_additions();
    out.deletions = diff.count_removals();
    let hunks = Hunks {
        old_lines: input.before.iter().map(|&t| input.interner[t]).collect(),
        func: FuncLine::default(),
        hunks: Vec::new(),
    };
    let context = ContextSize::symmetrical(context);
    // `Hunks` never fails, so neither does the diff.
    UnifiedDiff::new(&diff, &input, hunks, context)
        .consume()
        .unwrap_or_default()
}

/// Builds our hunks from gix's, with git's header: a side with no lines starts one line
/// earlier (`-0,0`), a count of one is left out, the function line follows.
struct Hunks<'a> {
    old_lines: Vec<&'a [u8]>,
    func: FuncLine,
    hunks: Vec<Hunk>,
}

impl ConsumeHunk for Hunks<'_> {
    type Out = Vec<Hunk>;

    fn consume_hunk(
        &mut self,
        at: HunkHeader,
        body: &[(DiffLineKind, &[u8])],
    ) -> std::io::Result<()> {
        let start = |start: u32, count: u32| if count == 0 { start - 1 } else { start };
        let count = |n: u32| {
            if n == 1 {
                String::new()
            } else {
                format!(",{n}")
            }
        };
        let old_start = start(at.before_hunk_start, at.before_hunk_len);
        let new_start = start(at.after_hunk_start, at.after_hunk_len);
        let mut header = format!(
            "@@ -{old_start}{} +{new_start}{} @@",
            count(at.before_hunk_len),
            count(at.after_hunk_len)
        );
        self.func.search(&self.old_lines, at.before_hunk_start - 1);
        if !self.func.text.is_empty() {
            header.push(' ');
            header.push_str(&self.func.text);
        }
        let mut lines = Vec::with_capacity(body.len());
        for &(kind, line) in body {
            push_line(&mut lines, kind.to_prefix(), line);
        }
        self.hunks.push(Hunk {
            old_start,
            old_lines: at.before_hunk_len,
            new_start,
            new_lines: at.after_hunk_len,
            header,
            lines,
        });
        Ok(())
    }

    fn finish(self) -> Vec<Hunk> {
        self.hunks
    }
}

fn push_line(lines: &mut Vec<String>, prefix: char, line: &[u8]) {
    let (body, has_newline) = match line.strip_suffix(b"\n") {
        Some(body) => (body, true),
        None => (line, false),
    };
    let mut s = String::with_capacity(body.len() + 1);
    s.push(prefix);
    s.push_str(&String::from_utf8_lossy(body));
    lines.push(s);
    if !has_newline {
        lines.push("\\ No newline at end of file".to_owned());
    }
}

/// git's default hunk-header "function name": the nearest line above the hunk that starts
/// with a letter, `_` or `$`, cut to 80 bytes and right-trimmed. Like xdiff, the search stops
/// where the previous hunk's search started and otherwise keeps the previous answer.
#[derive(Default)]
struct FuncLine {
    text: String,
    /// Old-side index where the previous search started (exclusive lower bound).
    limit: Option<u32>,
}

impl FuncLine {
    fn search(&mut self, old_lines: &[&[u8]], hunk_start: u32) {
        let limit = self.limit;
        self.limit = hunk_start.checked_sub(1);
        let Some(mut l) = hunk_start.checked_sub(1) else {
            return;
        };
        loop {
            if Some(l) == limit {
                return;
            }
            let rec = old_lines[l as usize];
            if let Some(&c) = rec.first()
                && (c.is_ascii_alphabetic() || c == b'_' || c == b'$')
            {
                let mut cut = &rec[..rec.len().min(80)];
                while let Some((&last, rest)) = cut.split_last() {
                    if last.is_ascii_whitespace() {
                        cut = rest;
                    } else {
                        break;
                    }
                }
                self.text = String::from_utf8_lossy(cut).into_owned();
                return;
            }
            if l == 0 {
                return;
            }
            l -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side<'a>(path: &'a [u8], id: &'a str, data: &'a [u8]) -> Side<'a> {
        Side {
            path,
            mode: Mode::File,
            id,
            short_id: &id[..7],
            data,
        }
    }

    #[test]
    fn binary_detection_looks_at_first_8000_bytes() {
        assert!(is_binary(b"ab\0cd"));
        assert!(!is_binary(b"plain text\n"));
        let mut late = vec![b'a'; 8000];
        late.push(0);
        assert!(!is_binary(&late));
    }

    #[test]
    fn modification_renders_git_style() {
        let old = side(
            b"f.txt",
            "1111111111111111111111111111111111111111",
            b"a\nb\nc\n",
        );
        let new = side(
            b"f.txt",
            "2222222222222222222222222222222222222222",
            b"a\nB\nc\nd",
        );
        let r = render(
            Some(&old),
            Some(&new),
            ChangeKind::Modified,
            None,
            &DiffOptions::default(),
        );
        assert_eq!(
            r.patch,
            "diff --git a/f.txt b/f.txt\nindex 1111111..2222222 100644\n--- a/f.txt\n+++ b/f.txt\n\
             @@ -1,3 +1,4 @@\n a\n-b\n+B\n c\n+d\n\\ No newline at end of file\n"
        );
        assert_eq!((r.additions, r.deletions), (2, 1));
        assert_eq!(r.hunks.len(), 1);
    }

    #[test]
    fn truncation_keeps_header_and_marks_file() {
        let old_text: String = (0..2000).map(|i| format!("line {i}\n")).collect();
        let new_text: String = (0..2000).map(|i| format!("line {}\n", i * 2)).collect();
        let old = side(
            b"big",
            "1111111111111111111111111111111111111111",
            old_text.as_bytes(),
        );
        let new = side(
            b"big",
            "2222222222222222222222222222222222222222",
            new_text.as_bytes(),
        );
        let opts = DiffOptions {
            max_patch_bytes: 4096,
            ..DiffOptions::default()
        };
        let r = render(Some(&old), Some(&new), ChangeKind::Modified, None, &opts);
        assert!(r.truncated);
        assert!(r.patch.len() <= 4096);
        assert!(r.patch.starts_with("diff --git a/big b/big\n"));
        assert!(r.additions > 0 && r.deletions > 0);
    }
}
