//! The diff data the roles consume: per-file changes with git-compatible stats, hunks and
//! unified patch text, plus the new-side line numbers a reviewer may anchor comments on.

use std::collections::BTreeSet;

use super::checkout::Mode;

/// How diffs are computed and rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffOptions {
    /// Unchanged lines around each change (git's `-U`, default 3).
    pub context_lines: u32,
    /// Per-file cap on the patch text in bytes; whole hunks past it are dropped and the file
    /// is marked `truncated` (stats stay complete).
    pub max_patch_bytes: usize,
    /// Detect renames (50% similarity, like git's default `diff.renames`).
    pub detect_renames: bool,
    /// Hex digits of object ids on `index` lines: `None` abbreviates like git (`core.abbrev`,
    /// else by object count, at least 7, extended until unique); `Some(40)` prints full ids.
    pub abbrev: Option<usize>,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            context_lines: 3,
            max_patch_bytes: 512 * 1024,
            detect_renames: true,
            abbrev: None,
        }
    }
}

/// What happened to a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    Added,
    Deleted,
    Modified,
    /// Moved (and possibly edited); `old_path` holds the source.
    Renamed,
    /// Same path, different kind (e.g. file ↔ symlink, file ↔ submodule). Rendered, like git,
    /// as a deletion followed by an addition.
    TypeChanged,
}

/// One hunk of a unified diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    /// First old-side line (1-based; the line before the hunk when `old_lines == 0`).
    pub old_start: u32,
    pub old_lines: u32,
    /// First new-side line (1-based; the line before the hunk when `new_lines == 0`).
    pub new_start: u32,
    pub new_lines: u32,
    /// The `@@ -a,b +c,d @@ funcname` line, without the newline.
    pub header: String,
    /// Body lines, each starting with ' ', '-', '+' or '\' and without the trailing newline.
    pub lines: Vec<String>,
}

impl Hunk {
    /// New-side line numbers this hunk covers (context and added lines).
    pub fn new_line_numbers(&self) -> std::ops::Range<u32> {
        if self.new_lines == 0 {
            self.new_start..self.new_start
        } else {
            self.new_start..self.new_start + self.new_lines
        }
    }
}

/// The change to one path between two trees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiff {
    /// The path on the new side (on the old side for deletions); lossy if not UTF-8.
    pub path: String,
    /// Exact bytes of `path`.
    pub raw_path: Vec<u8>,
    /// The source path of a rename.
    pub old_path: Option<String>,
    pub change: ChangeKind,
    pub old_mode: Option<Mode>,
    pub new_mode: Option<Mode>,
    pub old_id: Option<String>,
    pub new_id: Option<String>,
    /// Either side looks binary (NUL in the first 8000 bytes, as git decides); no hunks.
    pub binary: bool,
    /// Lines added / removed, as `git diff --numstat` counts them (0 for binary files).
    pub additions: u32,
    pub deletions: u32,
    /// Similarity percentage of a rename (gix's line-based measure; git's may differ by a few points).
    pub similarity: Option<u8>,
    pub hunks: Vec<Hunk>,
    /// Unified diff text for this file, `diff --git a/.. b/..` headers included, byte for byte
    /// what `git diff` prints for UTF-8 content (other bytes become U+FFFD here and in `hunks`).
    pub patch: String,
    /// Hunks were dropped from `hunks`/`patch` to respect `max_patch_bytes`.
    pub truncated: bool,
}

impl FileDiff {
    /// New-side line numbers (1-based) shown in the hunks: where an inline review comment
    /// on the `RIGHT` side can land.
    pub fn new_lines_in_hunks(&self) -> BTreeSet<u32> {
        self.hunks.iter().flat_map(Hunk::new_line_numbers).collect()
    }

    /// New-side line numbers that were added (the `+` lines).
    pub fn added_lines(&self) -> BTreeSet<u32> {
        let mut out = BTreeSet::new();
        for h in &self.hunks {
            let mut n = h.new_start;
            for line in &h.lines {
                match line.as_bytes().first() {
                    Some(b'+') => {
                        out.insert(n);
                        n += 1;
                    }
                    Some(b' ') => n += 1,
                    _ => {}
                }
            }
        }
        out
    }

    /// False when `path` had to be lossily converted from non-UTF-8 bytes.
    pub fn path_is_utf8(&self) -> bool {
        self.path.as_bytes() == self.raw_path.as_slice()
    }
}

/// All changed files between two trees, sorted by path like `git diff`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diff {
    pub files: Vec<FileDiff>,
}

impl Diff {
    /// The whole patch, as `git diff` would print it.
    pub fn unified(&self) -> String {
        let mut out = String::with_capacity(self.files.iter().map(|f| f.patch.len()).sum());
        for f in &self.files {
            out.push_str(&f.patch);
        }
        out
    }

    /// Total lines added and removed.
    pub fn totals(&self) -> (u64, u64) {
        self.files.iter().fold((0, 0), |(a, d), f| {
            (a + u64::from(f.additions), d + u64::from(f.deletions))
        })
    }

    /// The file whose new-side path (or old path, for deletions) is `path`.
    pub fn file(&self, path: &str) -> Option<&FileDiff> {
        self.files.iter().find(|f| f.path == path)
    }

    /// Whether any file's patch was cut by `max_patch_bytes`.
    pub fn truncated(&self) -> bool {
        self.files.iter().any(|f| f.truncated)
    }
}
