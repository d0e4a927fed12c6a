//! Reads unified diff text (from `git diff`, `diff -u`, GitHub's `.diff`, or a `--diff-file`)
//! into the port's `Diff`, so every role works on one diff type whether the diff came from the
//! checkout or from elsewhere. Tolerant of noise; never panics on malformed input.

use super::checkout::Mode;
use super::diff::{ChangeKind, Diff, FileDiff, Hunk};

fn mode(s: &str) -> Option<Mode> {
    match s.trim() {
        "100644" | "100664" => Some(Mode::File),
        "100755" => Some(Mode::Executable),
        "120000" => Some(Mode::Symlink),
        "160000" => Some(Mode::Submodule),
        _ => None,
    }
}

/// Strips `a/` / `b/` and git's quoting from a header path; `None` for `/dev/null`.
fn header_path(s: &str) -> Option<String> {
    let s = s.split('\t').next().unwrap_or(s).trim_end();
    if s == "/dev/null" {
        return None;
    }
    let s = s
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or(s);
    let s = s
        .strip_prefix("a/")
        .or_else(|| s.strip_prefix("b/"))
        .unwrap_or(s);
    Some(s.to_string())
}

/// `@@ -a,b +c,d @@ ctx` → (a, b, c, d).
fn hunk_header(line: &str) -> Option<(u32, u32, u32, u32)> {
    let rest = line.strip_prefix("@@ -")?;
    let (ranges, _) = rest.split_once(" @@")?;
    let (old, new) = ranges.split_once(" +")?;
    let range = |r: &str| -> Option<(u32, u32)> {
        match r.split_once(',') {
            Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
            None => Some((r.parse().ok()?, 1)),
        }
    };
    let (a, b) = range(old)?;
    let (c, d) = range(new)?;
    Some((a, b, c, d))
}

fn new_file(path: String) -> FileDiff {
    FileDiff {
        raw_path: path.clone().into_bytes(),
        path,
        old_path: None,
        change: ChangeKind::Modified,
        old_mode: None,
        new_mode: None,
        old_id: None,
        new_id: None,
        binary: false,
        additions: 0,
        deletions: 0,
        similarity: None,
        hunks: Vec::new(),
        patch: String::new(),
        truncated: false,
    }
}

/// Parses unified diff text. Lines outside any file section are ignored.
pub fn parse_unified(text: &str) -> Diff {
    let mut files: Vec<FileDiff> = Vec::new();
    let mut current: Option<FileDiff> = None;
    let mut hunk: Option<(Hunk, u32, u32)> = None; // hunk, old lines left, new lines left
    let lines: Vec<&str> = text.split('\n').collect();
    let mut i = 0;
    let finish_hunk = |f: &mut Option<FileDiff>, h: &mut Option<(Hunk, u32, u32)>| {
        if let (Some(file), Some((hk, _, _))) = (f.as_mut(), h.take()) {
            file.hunks.push(hk);
        }
    };
    while i < lines.len() {
        let line = lines[i].strip_suffix('\r').unwrap_or(lines[i]);
        i += 1;
        if let Some((h, old_left, new_left)) = hunk.as_mut() {
            let first = line.as_bytes().first().copied();
            let in_body = (*old_left > 0 || *new_left > 0)
                && matches!(first, Some(b' ' | b'-' | b'+') | None);
            if in_body || first == Some(b'\\') {
                if let Some(f) = current.as_mut() {
                    match first {
                        Some(b'+') => {
                            f.additions += 1;
                            *new_left = new_left.saturating_sub(1);
                        }
                        Some(b'-') => {
                            f.deletions += 1;
                            *old_left = old_left.saturating_sub(1);
                        }
                        Some(b'\\') => {}
                        _ => {
                            *old_left = old_left.saturating_sub(1);
                            *new_left = new_left.saturating_sub(1);
                        }
                    }
                    f.patch.push_str(line);
                    f.patch.push('\n');
                }
                h.lines.push(if first.is_none() {
                    " ".into()
                } else {
                    line.to_string()
                });
                continue;
            }
            finish_hunk(&mut current, &mut hunk);
        }
        let starts_plain =
            line.starts_with("--- ") && lines.get(i).is_some_and(|n| n.starts_with("+++ "));
        if line.starts_with("diff --git ")
            || (starts_plain
                && current
                    .as_ref()
                    .is_none_or(|f| !f.hunks.is_empty() || f.binary || f.patch.contains("\n@@")))
        {
            finish_hunk(&mut current, &mut hunk);
            files.extend(current.take());
            let path = line
                .strip_prefix("diff --git ")
                .and_then(|rest| rest.rsplit_once(" b/").map(|(_, b)| b.to_string()))
                .unwrap_or_default();
            current = Some(new_file(path));
        }
        let Some(f) = current.as_mut() else { continue };
        f.patch.push_str(line);
        f.patch.push('\n');
        if let Some(m) = line.strip_prefix("new file mode ") {
            f.change = ChangeKind::Added;
            f.new_mode = mode(m);
        } else if let Some(m) = line.strip_prefix("deleted file mode ") {
            f.change = ChangeKind::Deleted;
            f.old_mode = mode(m);
        } else if let Some(m) = line.strip_prefix("old mode ") {
            f.old_mode = mode(m);
        } else if let Some(m) = line.strip_prefix("new mode ") {
            f.new_mode = mode(m);
            if f.old_mode != f.new_mode
                && f.old_mode.is_some_and(|o| !o.is_regular())
                    != f.new_mode.is_some_and(|n| !n.is_regular())
            {
                f.change = ChangeKind::TypeChanged;
            }
        } else if let Some(p) = line.strip_prefix("rename from ") {
            f.old_path = Some(p.to_string());
            f.change = ChangeKind::Renamed;
        } else if let Some(p) = line.strip_prefix("rename to ") {
            f.path = p.to_string();
            f.raw_path = p.as_bytes().to_vec();
        } else if let Some(s) = line.strip_prefix("similarity index ") {
            f.similarity = s.trim_end_matches('%').parse().ok();
        } else if let Some(ids) = line.strip_prefix("index ") {
            let ids = ids.split(' ').next().unwrap_or("");
            if let Some((a, b)) = ids.split_once("..") {
                f.old_id = Some(a.to_string());
                f.new_id = Some(b.to_string());
            }
            if let Some(m) = line.split(' ').nth(2) {
                f.old_mode = f.old_mode.or(mode(m));
                f.new_mode = f.new_mode.or(mode(m));
            }
        } else if line.starts_with("Binary files ") || line == "GIT binary patch" {
            f.binary = true;
        } else if let Some(p) = line.strip_prefix("--- ") {
            match header_path(p) {
                None => f.change = ChangeKind::Added,
                Some(p) if f.path.is_empty() => {
                    f.raw_path = p.clone().into_bytes();
                    f.path = p;
                }
                Some(_) => {}
            }
        } else if let Some(p) = line.strip_prefix("+++ ") {
            match header_path(p) {
                None => f.change = ChangeKind::Deleted,
                Some(p) => {
                    f.raw_path = p.clone().into_bytes();
                    f.path = p;
                }
            }
        } else if let Some((a, b, c, d)) = hunk_header(line) {
            hunk = Some((
                Hunk {
                    old_start: a,
                    old_lines: b,
                    new_start: c,
                    new_lines: d,
                    header: line.to_string(),
                    lines: Vec::new(),
                },
                b,
                d,
            ));
        }
    }
    finish_hunk(&mut current, &mut hunk);
    files.extend(current.take());
    files.retain(|f| !f.path.is_empty());
    for f in &mut files {
        if f.change == ChangeKind::Deleted {
            f.raw_path = f.path.clone().into_bytes();
        }
    }
    Diff { files }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_git_diffs() {
        let text = "diff --git a/src/app.py b/src/app.py\nindex 1111111..2222222 100644\n--- a/src/app.py\n+++ b/src/app.py\n@@ -1,3 +1,4 @@ def main():\n import os\n-x = 1\n+x = 2\n+y = 3\n print(x)\ndiff --git a/new.txt b/new.txt\nnew file mode 100644\nindex 0000000..3333333\n--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1 @@\n+hello\n\\ No newline at end of file\ndiff --git a/old.txt b/old.txt\ndeleted file mode 100644\n--- a/old.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\ndiff --git a/logo.png b/logo.png\nnew file mode 100644\nBinary files /dev/null and b/logo.png differ\ndiff --git a/a.rs b/b.rs\nsimilarity index 90%\nrename from a.rs\nrename to b.rs\n";
        let d = parse_unified(text);
        let names: Vec<(&str, ChangeKind, u32, u32)> = d
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.change, f.additions, f.deletions))
            .collect();
        assert_eq!(
            names,
            vec![
                ("src/app.py", ChangeKind::Modified, 2, 1),
                ("new.txt", ChangeKind::Added, 1, 0),
                ("old.txt", ChangeKind::Deleted, 0, 1),
                ("logo.png", ChangeKind::Added, 0, 0),
                ("b.rs", ChangeKind::Renamed, 0, 0),
            ]
        );
        assert!(d.files[3].binary);
        assert_eq!(d.files[4].old_path.as_deref(), Some("a.rs"));
        assert_eq!(d.files[0].hunks.len(), 1);
        assert_eq!(
            d.files[0]
                .new_lines_in_hunks()
                .into_iter()
                .collect::<Vec<_>>(),
            vec![1, 2, 3, 4]
        );
        assert!(d.files[0].patch.starts_with("diff --git a/src/app.py"));
    }

    #[test]
    fn parses_plain_diff_u_and_survives_garbage() {
        let text = "--- a/x.c\t2024-01-01\n+++ b/x.c\t2024-01-02\n@@ -1 +1 @@\n-a\n+b\n--- y.c\n+++ y.c\n@@ -5,2 +5,2 @@\n c\n-d\n+e\n";
        let d = parse_unified(text);
        assert_eq!(d.files.len(), 2);
        assert_eq!((d.files[1].path.as_str(), d.files[1].additions), ("y.c", 1));
        for junk in [
            "",
            "@@ -1 +1 @@\n+x",
            "diff --git \n@@ -9999999999,1 +1 @@\n",
            "--- \n+++ \n@@ -a,b +c,d @@\n",
            "\u{0}\u{1}",
        ] {
            let _ = parse_unified(junk);
        }
    }
}
