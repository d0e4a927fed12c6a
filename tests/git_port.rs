//! The git port against real repositories made with the system `git` CLI: every answer is
//! checked against what git itself prints (`--numstat`, `git diff`, `ls-tree`, `rev-parse`).

use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use codex_orchestrator::git::{
    ChangeKind, Checkout, DiffOptions, GitError, GixCheckout, Mode, PrDiffBase,
};

/// A scratch repository driven through the git CLI.
struct Repo {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("repo");
        std::fs::create_dir(&path).unwrap();
        let repo = Repo { _dir: dir, path };
        repo.git(&["init", "-q", "-b", "main", "."]);
        repo
    }

    fn at(dir: tempfile::TempDir, path: PathBuf) -> Repo {
        Repo { _dir: dir, path }
    }

    fn cmd(&self) -> Command {
        crate::support::git_command(&self.path)
    }

    fn git_bytes(&self, args: &[&str]) -> Vec<u8> {
        let out = self.cmd().args(args).output().expect("run git");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    fn git(&self, args: &[&str]) -> String {
        String::from_utf8(self.git_bytes(args)).expect("utf-8 git output")
    }

    fn write(&self, rel: impl AsRef<Path>, content: &[u8]) {
        let p = self.path.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    fn commit(&self, msg: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", msg]);
        self.git(&["rev-parse", "HEAD"]).trim().to_owned()
    }

    fn checkout(&self) -> GixCheckout {
        GixCheckout::open(&self.path).expect("open with gix")
    }
}

/// `git diff --numstat -z -M base head` as path → (additions, deletions), `None` for binary.
fn git_numstat(repo: &Repo, range: &[&str]) -> BTreeMap<Vec<u8>, Option<(u32, u32)>> {
    let mut args = vec!["diff", "--numstat", "-z", "-M", "--no-ext-diff"];
    args.extend_from_slice(range);
    let out = repo.git_bytes(&args);
    let mut fields = out.split(|&b| b == 0).peekable();
    let mut map = BTreeMap::new();
    while let Some(rec) = fields.next() {
        if rec.is_empty() {
            continue;
        }
        let mut parts = rec.splitn(3, |&b| b == b'\t');
        let (a, d, path) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        let path = if path.is_empty() {
            // Rename: old path, then new path, as separate fields.
            fields.next().unwrap();
            fields.next().unwrap().to_vec()
        } else {
            path.to_vec()
        };
        let stat = if a == b"-" {
            None
        } else {
            Some((
                std::str::from_utf8(a).unwrap().parse().unwrap(),
                std::str::from_utf8(d).unwrap().parse().unwrap(),
            ))
        };
        map.insert(path, stat);
    }
    map
}

fn our_numstat(diff: &codex_orchestrator::git::Diff) -> BTreeMap<Vec<u8>, Option<(u32, u32)>> {
    diff.files
        .iter()
        .map(|f| {
            (
                f.raw_path.clone(),
                if f.binary {
                    None
                } else {
                    Some((f.additions, f.deletions))
                },
            )
        })
        .collect()
}

/// A base commit with one of everything, and a head commit that changes all of it.
fn mixed_repo() -> (Repo, String, String) {
    let repo = Repo::new();
    let body: String = (1..=40).map(|i| format!("    line {i}\n")).collect();
    repo.write("src/lib.rs", format!("fn main() {{\n{body}}}\n").as_bytes());
    repo.write("keep.txt", b"unchanged\n");
    repo.write("gone.txt", b"to be deleted\n");
    repo.write("moved.txt", b"a file that moves unchanged\nsecond line\n");
    let long: String = (1..=30).map(|i| format!("renamed content {i}\n")).collect();
    repo.write("old_name.txt", long.as_bytes());
    repo.write("script.sh", b"#!/bin/sh\necho hi\n");
    repo.write("image.bin", b"\x89PNG\0\0\x01binary");
    repo.write("crlf.txt", b"one\r\ntwo\r\nthree\r\n");
    repo.write("no_newline.txt", b"first\nlast without newline");
    repo.write("to_symlink.txt", b"becomes a link\n");
    repo.write("dir/a.txt", b"a\n");
    repo.write("dir/b.txt", b"b\n");
    repo.write("file_then_dir", b"a file first\n");
    repo.write("dir_then_file/x.txt", b"x\n");
    std::os::unix::fs::symlink("keep.txt", repo.path.join("link")).unwrap();
    let base = repo.commit("base");

    let mut edited: Vec<String> = (1..=40).map(|i| format!("    line {i}\n")).collect();
    edited[4] = "    line five changed\n".into();
    edited[30] = "    line 31 changed\n".into();
    edited.insert(20, "    inserted\n".into());
    repo.write(
        "src/lib.rs",
        format!("fn main() {{\n{}}}\n", edited.concat()).as_bytes(),
    );
    std::fs::remove_file(repo.path.join("gone.txt")).unwrap();
    std::fs::create_dir_all(repo.path.join("sub")).unwrap();
    std::fs::rename(repo.path.join("moved.txt"), repo.path.join("sub/moved.txt")).unwrap();
    std::fs::remove_file(repo.path.join("old_name.txt")).unwrap();
    repo.write("new_name.txt", format!("{long}one more line\n").as_bytes());
    let script = repo.path.join("script.sh");
    let mut perms = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&script, perms).unwrap();
    repo.write("image.bin", b"\x89PNG\0\0\x02binary changed");
    repo.write("added.bin", b"\0\0\0");
    repo.write("crlf.txt", b"one\r\nTWO\r\nthree\r\n");
    repo.write("no_newline.txt", b"first\nlast with newline now\n");
    std::fs::remove_file(repo.path.join("to_symlink.txt")).unwrap();
    std::os::unix::fs::symlink("keep.txt", repo.path.join("to_symlink.txt")).unwrap();
    std::fs::remove_file(repo.path.join("link")).unwrap();
    std::os::unix::fs::symlink("src/lib.rs", repo.path.join("link")).unwrap();
    std::fs::remove_dir_all(repo.path.join("dir")).unwrap();
    repo.write("empty.txt", b"");
    repo.write("new/deep/file.md", b"# title\n\ntext\n");
    repo.write(
        std::ffi::OsStr::from_bytes(b"caf\xc3\xa9.txt"),
        "café\n".as_bytes(),
    );
    repo.write(
        std::ffi::OsStr::from_bytes(b"latin1-\xe9.txt"),
        b"not utf-8 name\n",
    );
    repo.write("with space.txt", b"spaces\n");
    // A file that becomes a directory, and a directory that becomes a file.
    std::fs::remove_file(repo.path.join("file_then_dir")).unwrap();
    repo.write("file_then_dir/inner.txt", b"inside\n");
    std::fs::remove_dir_all(repo.path.join("dir_then_file")).unwrap();
    repo.write("dir_then_file", b"now a file\n");
    repo.write("keep.txt", b"unchanged\nnow changed\n");
    repo.git(&["add", "-A"]);
    // A submodule entry (gitlink, mode 160000) pointing at the base commit.
    repo.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{base},vendor/sub"),
    ]);
    repo.git(&["commit", "-q", "-m", "head"]);
    let head = repo.git(&["rev-parse", "HEAD"]).trim().to_owned();
    (repo, base, head)
}

#[test]
fn stats_match_git_numstat_for_every_kind_of_change() {
    let (repo, base, head) = mixed_repo();
    let diff = repo.checkout().diff(&base, &head).unwrap();
    let ours = our_numstat(&diff);
    let theirs = git_numstat(&repo, &[&base, &head]);
    assert_eq!(ours, theirs);
    assert!(
        theirs.len() >= 19,
        "the fixture should exercise many paths, got {}",
        theirs.len()
    );
}

/// Split `git diff` output into per-file blocks, dropping `similarity index` lines (git scores
/// by bytes, gix by lines; the percentages may differ for edited renames).
fn blocks(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.split_inclusive('\n') {
        if line.starts_with("diff --git ") {
            out.push(String::new());
        }
        if line.starts_with("similarity index ") {
            continue;
        }
        out.last_mut()
            .expect("patch starts with a diff --git line")
            .push_str(line);
    }
    out
}

#[test]
fn unified_text_matches_git_diff() {
    let (repo, base, head) = mixed_repo();
    let diff = repo.checkout().diff(&base, &head).unwrap();
    let git = String::from_utf8(repo.git_bytes(&[
        "diff",
        "-M",
        "--no-color",
        "--no-ext-diff",
        &base,
        &head,
    ]))
    .unwrap();
    let ours = blocks(&diff.unified());
    let theirs = blocks(&git);
    assert_eq!(
        ours.len(),
        theirs.len(),
        "ours:\n{}\ngit:\n{git}",
        diff.unified()
    );
    for (o, t) in ours.iter().zip(&theirs) {
        assert_eq!(o, t);
    }
}

#[test]
fn change_kinds_modes_and_paths_are_classified() {
    let (repo, base, head) = mixed_repo();
    let diff = repo.checkout().diff(&base, &head).unwrap();
    let get = |p: &str| {
        diff.file(p).unwrap_or_else(|| {
            panic!(
                "{p} missing from {:?}",
                diff.files.iter().map(|f| &f.path).collect::<Vec<_>>()
            )
        })
    };

    let renamed = get("sub/moved.txt");
    assert_eq!(renamed.change, ChangeKind::Renamed);
    assert_eq!(renamed.old_path.as_deref(), Some("moved.txt"));
    assert_eq!(renamed.similarity, Some(100));
    assert!(renamed.hunks.is_empty());

    let edited_rename = get("new_name.txt");
    assert_eq!(edited_rename.change, ChangeKind::Renamed);
    assert_eq!(edited_rename.old_path.as_deref(), Some("old_name.txt"));
    assert_eq!((edited_rename.additions, edited_rename.deletions), (1, 0));

    let exec = get("script.sh");
    assert_eq!(exec.change, ChangeKind::Modified);
    assert_eq!(
        (exec.old_mode, exec.new_mode),
        (Some(Mode::File), Some(Mode::Executable))
    );

    let sub = get("vendor/sub");
    assert_eq!(sub.change, ChangeKind::Added);
    assert_eq!(sub.new_mode, Some(Mode::Submodule));
    assert!(sub.patch.contains(&format!("+Subproject commit {base}")));

    let link = get("link");
    assert_eq!(link.new_mode, Some(Mode::Symlink));
    assert_eq!(link.change, ChangeKind::Modified);

    let typechange = get("to_symlink.txt");
    assert_eq!(typechange.change, ChangeKind::TypeChanged);
    assert_eq!(
        (typechange.old_mode, typechange.new_mode),
        (Some(Mode::File), Some(Mode::Symlink))
    );

    assert!(get("image.bin").binary);
    assert!(get("added.bin").binary);
    assert_eq!(get("added.bin").change, ChangeKind::Added);
    assert_eq!(get("gone.txt").change, ChangeKind::Deleted);
    assert_eq!(get("dir/a.txt").change, ChangeKind::Deleted);
    assert!(get("crlf.txt").patch.contains("+TWO\r\n"));

    let latin1 = diff
        .files
        .iter()
        .find(|f| f.raw_path == b"latin1-\xe9.txt")
        .expect("non-UTF-8 path present");
    assert!(!latin1.path_is_utf8());
    assert_eq!(latin1.path, "latin1-\u{fffd}.txt");
    assert!(
        latin1
            .patch
            .starts_with("diff --git \"a/latin1-\\351.txt\" \"b/latin1-\\351.txt\"\n")
    );
    assert!(get("café.txt").path_is_utf8());
}

#[test]
fn new_side_lines_in_hunks_follow_the_hunk_headers() {
    let (repo, base, head) = mixed_repo();
    let diff = repo.checkout().diff(&base, &head).unwrap();
    let lib = diff.file("src/lib.rs").unwrap();
    // Edits at old lines 6, after 21 (insert) and 32: more than 2*3 lines apart, so three
    // hunks, each headed by the nearest unindented line above it, as git does.
    let headers: Vec<&str> = lib.hunks.iter().map(|h| h.header.as_str()).collect();
    assert_eq!(
        headers,
        [
            "@@ -3,7 +3,7 @@ fn main() {",
            "@@ -19,6 +19,7 @@ fn main() {",
            "@@ -29,7 +30,7 @@ fn main() {"
        ]
    );
    let lines: Vec<u32> = lib.new_lines_in_hunks().into_iter().collect();
    let expected: Vec<u32> = (3..=9).chain(19..=25).chain(30..=36).collect();
    assert_eq!(lines, expected);
    assert_eq!(
        lib.added_lines().into_iter().collect::<Vec<_>>(),
        [6, 22, 33]
    );
    // A deleted file has no new-side lines.
    assert!(
        diff.file("gone.txt")
            .unwrap()
            .new_lines_in_hunks()
            .is_empty()
    );
}

#[test]
fn per_file_patch_cap_truncates_but_keeps_stats() {
    let repo = Repo::new();
    let before: String = (0..5000).map(|i| format!("row {i}\n")).collect();
    repo.write("big.txt", before.as_bytes());
    repo.write("small.txt", b"x\n");
    let base = repo.commit("base");
    let after: String = (0..5000)
        .map(|i| {
            if i % 10 == 0 {
                format!("ROW {i}\n")
            } else {
                format!("row {i}\n")
            }
        })
        .collect();
    repo.write("big.txt", after.as_bytes());
    repo.write("small.txt", b"y\n");
    let head = repo.commit("head");

    let checkout = repo.checkout().with_options(DiffOptions {
        max_patch_bytes: 2000,
        ..DiffOptions::default()
    });
    let diff = checkout.diff(&base, &head).unwrap();
    let big = diff.file("big.txt").unwrap();
    assert!(big.truncated);
    assert!(
        big.patch.len() <= 2000,
        "patch is {} bytes",
        big.patch.len()
    );
    assert!(!big.hunks.is_empty() && big.hunks.len() < 500);
    assert_eq!((big.additions, big.deletions), (500, 500));
    assert!(!diff.file("small.txt").unwrap().truncated);
    assert!(diff.truncated());
    assert_eq!(our_numstat(&diff), git_numstat(&repo, &[&base, &head]));
}

#[test]
fn renames_can_be_turned_off() {
    let (repo, base, head) = mixed_repo();
    let checkout = repo.checkout().with_options(DiffOptions {
        detect_renames: false,
        ..DiffOptions::default()
    });
    let diff = checkout.diff(&base, &head).unwrap();
    assert!(diff.files.iter().all(|f| f.change != ChangeKind::Renamed));
    assert_eq!(diff.file("moved.txt").unwrap().change, ChangeKind::Deleted);
    assert_eq!(
        diff.file("sub/moved.txt").unwrap().change,
        ChangeKind::Added
    );
    let git =
        String::from_utf8(repo.git_bytes(&["diff", "--no-renames", "--no-color", &base, &head]))
            .unwrap();
    assert_eq!(diff.unified(), git);
}

#[test]
fn list_files_matches_git_ls_tree() {
    let (repo, _base, head) = mixed_repo();
    let entries = repo.checkout().list_files(&head).unwrap();
    // "<mode> SP <type> SP <sha> SP+ <size or -> TAB <path>" NUL
    let out = repo.git_bytes(&["ls-tree", "-r", "-z", "--long", &head]);
    let expected: Vec<(String, String, Option<u64>, Vec<u8>)> = out
        .split(|&b| b == 0)
        .filter(|r| !r.is_empty())
        .map(|rec| {
            let tab = rec.iter().position(|&b| b == b'\t').unwrap();
            let meta = std::str::from_utf8(&rec[..tab]).unwrap();
            let f: Vec<&str> = meta.split_whitespace().collect();
            (
                f[0].to_owned(),
                f[2].to_owned(),
                f[3].parse().ok(),
                rec[tab + 1..].to_vec(),
            )
        })
        .collect();
    let ours: Vec<(String, String, Option<u64>, Vec<u8>)> = entries
        .iter()
        .map(|e| {
            (
                e.mode.as_octal().to_owned(),
                e.blob_id.clone(),
                e.size,
                e.raw_path.clone(),
            )
        })
        .collect();
    assert_eq!(ours, expected);
    let by_path = |p: &str| entries.iter().find(|e| e.path == p).unwrap();
    assert_eq!(by_path("vendor/sub").mode, Mode::Submodule);
    assert_eq!(by_path("link").mode, Mode::Symlink);
    assert_eq!(by_path("script.sh").mode, Mode::Executable);
    assert!(by_path("script.sh").mode.is_regular());

    let fast = repo.checkout().list_files_without_sizes(&head).unwrap();
    assert_eq!(fast.len(), entries.len());
    assert!(fast.iter().all(|e| e.size.is_none()));
}

#[test]
fn read_file_returns_content_or_classifies_the_path() {
    let (repo, base, head) = mixed_repo();
    let c = repo.checkout();
    assert_eq!(
        c.read_file(&base, "gone.txt").unwrap().as_deref(),
        Some(&b"to be deleted\n"[..])
    );
    assert_eq!(c.read_file(&head, "gone.txt").unwrap(), None);
    assert_eq!(
        c.read_file(&head, "new/deep/file.md").unwrap().as_deref(),
        Some(&b"# title\n\ntext\n"[..])
    );
    assert_eq!(
        c.read_file(&head, "crlf.txt").unwrap().as_deref(),
        Some(&b"one\r\nTWO\r\nthree\r\n"[..])
    );
    assert_eq!(
        c.read_file(&head, "link").unwrap().as_deref(),
        Some(&b"src/lib.rs"[..])
    );
    assert_eq!(
        c.read_file(&head, "image.bin").unwrap().as_deref(),
        Some(&b"\x89PNG\0\0\x02binary changed"[..])
    );
    assert_eq!(c.read_file(&head, "no/such/file").unwrap(), None);
    assert_eq!(c.read_file(&head, "keep.txt/below").unwrap(), None);
    assert!(matches!(
        c.read_file(&head, "new/deep"),
        Err(GitError::NotAFile {
            what: "directory",
            ..
        })
    ));
    assert!(matches!(
        c.read_file(&head, ""),
        Err(GitError::NotAFile { .. })
    ));
    assert!(matches!(
        c.read_file(&head, "vendor/sub"),
        Err(GitError::NotAFile {
            what: "submodule",
            ..
        })
    ));
    assert!(matches!(
        c.read_file("nope", "keep.txt"),
        Err(GitError::InvalidSha { .. })
    ));
    assert_eq!(
        c.read_file_raw(&head, b"latin1-\xe9.txt")
            .unwrap()
            .as_deref(),
        Some(&b"not utf-8 name\n"[..])
    );
}

#[test]
fn resolve_matches_git_rev_parse() {
    let (repo, base, head) = mixed_repo();
    repo.git(&["branch", "feature", &base]);
    repo.git(&["tag", "-a", "-m", "annotated", "v1", &base]);
    let c = repo.checkout();
    assert_eq!(c.resolve("HEAD").unwrap(), head);
    assert_eq!(c.resolve("main").unwrap(), head);
    assert_eq!(c.resolve("refs/heads/feature").unwrap(), base);
    assert_eq!(c.resolve("HEAD~1").unwrap(), base);
    assert_eq!(c.resolve(&head[..10]).unwrap(), head);
    assert_eq!(
        c.resolve("v1").unwrap(),
        base,
        "annotated tags are peeled to their commit"
    );
    assert!(matches!(
        c.resolve("no-such-branch"),
        Err(GitError::UnknownRevision { .. })
    ));
    assert!(matches!(
        c.resolve("HEAD^{tree}"),
        Err(GitError::NotACommit { .. })
    ));
    assert!(c.has_commit(&base) && c.has_commit(&head));
    let tree = repo.git(&["rev-parse", "HEAD^{tree}"]).trim().to_owned();
    assert!(!c.has_commit(&tree), "a tree is not a commit");
    assert!(!c.has_commit("not-hex") && !c.has_commit(&head[..12]));
    assert!(!c.has_commit("0123456789012345678901234567890123456789"));
    assert!(matches!(
        c.diff("0123456789012345678901234567890123456789", &head),
        Err(GitError::MissingCommit { sha }) if sha == "0123456789012345678901234567890123456789"
    ));
}

#[test]
fn opening_a_non_repository_is_a_clean_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = GixCheckout::open(dir.path()).unwrap_err();
    assert!(matches!(err, GitError::Open { .. }), "{err:?}");
}

#[test]
fn corrupt_loose_object_is_an_error_not_a_panic() {
    let repo = Repo::new();
    repo.write("f.txt", b"some content\n");
    let base = repo.commit("base");
    repo.write("f.txt", b"other content\n");
    let head = repo.commit("head");
    let blob = repo.git(&["rev-parse", "HEAD:f.txt"]).trim().to_owned();
    let object = repo
        .path
        .join(".git/objects")
        .join(&blob[..2])
        .join(&blob[2..]);
    let mut perms = std::fs::metadata(&object).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&object, perms).unwrap();
    std::fs::write(&object, b"this is not zlib data").unwrap();
    let c = repo.checkout();
    let err = c.read_file(&head, "f.txt").unwrap_err();
    assert!(matches!(err, GitError::Corrupt { .. }), "{err:?}");
    assert!(c.diff(&base, &head).is_err());
}

/// main:    A --- C (edits base.txt)
///           \
/// feature:   F1 --- F2 (edits feature.txt)
fn forked_repo() -> (Repo, String, String, String) {
    let repo = Repo::new();
    repo.write("base.txt", b"base\n");
    repo.write("feature.txt", b"one\n");
    let a = repo.commit("A");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("feature.txt", b"one\ntwo\n");
    repo.commit("F1");
    repo.write("feature.txt", b"one\ntwo\nthree\n");
    repo.write("added.txt", b"new\n");
    let f2 = repo.commit("F2");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("base.txt", b"base changed on main\n");
    let c = repo.commit("C");
    (repo, a, c, f2)
}

#[test]
fn pr_diff_starts_at_the_merge_base_like_github() {
    let (repo, a, c, f2) = forked_repo();
    let co = repo.checkout();
    assert_eq!(co.merge_base(&c, &f2).unwrap().as_deref(), Some(a.as_str()));
    assert_eq!(repo.git(&["merge-base", &c, &f2]).trim(), a);
    let pr = co.pr_diff(&c, &f2).unwrap();
    assert_eq!(pr.from, PrDiffBase::MergeBase { sha: a.clone() });
    assert_eq!(pr.head, f2);
    assert_eq!(
        our_numstat(&pr.diff),
        git_numstat(&repo, &[&format!("{c}...{f2}")])
    );
    assert!(
        pr.diff.file("base.txt").is_none(),
        "main's own change is not part of the PR"
    );
    // The two-dot diff does include it.
    assert!(co.diff(&c, &f2).unwrap().file("base.txt").is_some());
}

#[test]
fn unrelated_histories_fall_back_to_the_base_commit() {
    let (repo, _a, c, _f2) = forked_repo();
    repo.git(&["checkout", "-q", "--orphan", "other"]);
    repo.git(&["rm", "-rq", "--cached", "."]);
    repo.write("other.txt", b"unrelated\n");
    repo.git(&["add", "other.txt"]);
    repo.git(&["commit", "-q", "-m", "orphan"]);
    let orphan = repo.git(&["rev-parse", "HEAD"]).trim().to_owned();
    let co = repo.checkout();
    assert_eq!(co.merge_base(&c, &orphan).unwrap(), None);
    let pr = co.pr_diff(&c, &orphan).unwrap();
    assert_eq!(pr.from, PrDiffBase::Base { sha: c.clone() });
    assert_eq!(our_numstat(&pr.diff), git_numstat(&repo, &[&c, &orphan]));
}

fn shallow_clone(origin: &Repo, branch: &str, extra: &[&str]) -> Repo {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clone");
    let url = format!("file://{}", origin.path.display());
    let mut args = vec!["clone", "-q", "--depth", "1", "--branch", branch];
    args.extend_from_slice(extra);
    args.push(&url);
    let p = path.to_str().unwrap().to_owned();
    args.push(&p);
    origin.git(&args);
    Repo::at(dir, path)
}

#[test]
fn shallow_clone_lacks_the_base_and_says_so() {
    let (origin, a, c, f2) = forked_repo();
    let clone = shallow_clone(&origin, "feature", &[]);
    let co = clone.checkout();
    assert!(co.is_shallow().unwrap());
    assert!(co.has_commit(&f2));
    assert!(
        !co.has_commit(&c),
        "depth 1 of feature does not contain main's tip"
    );
    assert!(!co.has_commit(&a), "nor the merge base");
    match co.diff(&c, &f2) {
        Err(GitError::MissingCommit { sha }) => assert_eq!(sha, c),
        other => panic!("expected MissingCommit, got {other:?}"),
    }
    let err = co.pr_diff(&c, &f2).unwrap_err();
    assert!(err.is_missing_data(), "{err:?}");
    assert!(matches!(err, GitError::MissingCommit { ref sha } if *sha == c));
    // What the clone has still works.
    assert_eq!(co.list_files(&f2).unwrap().len(), 3);
    assert_eq!(
        co.read_file(&f2, "feature.txt").unwrap().as_deref(),
        Some(&b"one\ntwo\nthree\n"[..])
    );
}

#[test]
fn shallow_clone_with_both_tips_but_no_merge_base_diffs_from_base() {
    let (origin, _a, c, f2) = forked_repo();
    let clone = shallow_clone(&origin, "feature", &["--no-single-branch"]);
    let co = clone.checkout();
    assert!(co.has_commit(&c) && co.has_commit(&f2));
    assert_eq!(co.resolve("origin/main").unwrap(), c);
    assert_eq!(co.resolve("HEAD").unwrap(), f2);
    assert_eq!(
        co.merge_base(&c, &f2).unwrap(),
        None,
        "the merge base is cut off"
    );
    let pr = co.pr_diff(&c, &f2).unwrap();
    assert_eq!(pr.from, PrDiffBase::Base { sha: c.clone() });
    assert_eq!(our_numstat(&pr.diff), git_numstat(&origin, &[&c, &f2]));
}

/// A fake port: roles can be tested without a repository, and `pr_diff` comes for free.
struct Fake;

impl Checkout for Fake {
    fn has_commit(&self, sha: &str) -> bool {
        sha != "missing"
    }
    fn tree_id(&self, commit: &str) -> Result<String, GitError> {
        Ok(commit.to_owned())
    }
    fn resolve(&self, rev: &str) -> Result<String, GitError> {
        Ok(rev.to_owned())
    }
    fn read_file(&self, _: &str, _: &str) -> Result<Option<Vec<u8>>, GitError> {
        Ok(None)
    }
    fn list_files(&self, _: &str) -> Result<Vec<codex_orchestrator::git::TreeEntry>, GitError> {
        Ok(vec![])
    }
    fn diff(&self, _: &str, _: &str) -> Result<codex_orchestrator::git::Diff, GitError> {
        Ok(Default::default())
    }
    fn merge_base(&self, _: &str, _: &str) -> Result<Option<String>, GitError> {
        Err(GitError::Backend {
            context: "walking".into(),
            message: "shallow boundary".into(),
        })
    }
}

#[test]
fn pr_diff_default_method_works_for_fakes() {
    let port: &dyn Checkout = &Fake; // roles can hold the port as a trait object
    assert_eq!(
        port.pr_diff("b", "h").unwrap().from,
        PrDiffBase::Base { sha: "b".into() }
    );
    assert!(matches!(
        port.pr_diff("missing", "h"),
        Err(GitError::MissingCommit { .. })
    ));
}

#[test]
fn partial_clone_without_blobs_lists_paths_and_reports_missing_blobs() {
    let (origin, _a, c, f2) = forked_repo();
    origin.git(&["config", "uploadpack.allowFilter", "true"]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("partial");
    let url = format!("file://{}", origin.path.display());
    origin.git(&[
        "clone",
        "-q",
        "--no-checkout",
        "--filter=blob:none",
        "--branch",
        "feature",
        &url,
        path.to_str().unwrap(),
    ]);
    let clone = Repo::at(dir, path);
    let co = clone.checkout();
    assert!(co.has_commit(&f2) && co.has_commit(&c));
    let files = co.list_files(&f2).unwrap();
    assert_eq!(
        files.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(),
        ["added.txt", "base.txt", "feature.txt"]
    );
    assert!(
        files.iter().all(|e| e.size.is_none()),
        "no blob is local: {files:?}"
    );
    let err = co.read_file(&f2, "feature.txt").unwrap_err();
    assert!(
        matches!(err, GitError::MissingObject { .. }) && err.is_missing_data(),
        "{err:?}"
    );
    let err = co.pr_diff(&c, &f2).unwrap_err();
    assert!(err.is_missing_data(), "{err:?}");
}

#[test]
fn context_lines_option_matches_git_dash_u() {
    let (repo, base, head) = mixed_repo();
    for context in [0u32, 1, 10] {
        let checkout = repo.checkout().with_options(DiffOptions {
            context_lines: context,
            ..DiffOptions::default()
        });
        let ours = checkout.diff(&base, &head).unwrap().unified();
        let git = String::from_utf8(repo.git_bytes(&[
            "diff",
            "-M",
            "--no-color",
            &format!("-U{context}"),
            &base,
            &head,
        ]))
        .unwrap();
        assert_eq!(blocks(&ours), blocks(&git), "-U{context}");
    }
}

#[test]
fn worktree_listing_honours_gitignore_like_git_ls_files() {
    let repo = Repo::new();
    repo.write(".gitignore", b"target/\n*.log\n!keep.log\n");
    repo.write("sub/.gitignore", b"local.txt\n");
    repo.write("src/main.rs", b"fn main() {}\n");
    repo.write("to_delete.txt", b"bye\n");
    repo.write("forced.log", b"tracked although ignored\n");
    repo.git(&[
        "add",
        ".gitignore",
        "sub/.gitignore",
        "src/main.rs",
        "to_delete.txt",
    ]);
    repo.git(&["add", "-f", "forced.log"]);
    repo.git(&["commit", "-q", "-m", "base"]);
    repo.write(".git/info/exclude", b"secret.env\n");
    std::fs::remove_file(repo.path.join("to_delete.txt")).unwrap();
    repo.write("new.rs", b"untracked\n");
    repo.write("target/out.bin", b"ignored dir\n");
    repo.write("a.log", b"ignored\n");
    repo.write("keep.log", b"negated, so listed\n");
    repo.write("sub/local.txt", b"ignored by nested .gitignore\n");
    repo.write("sub/other.txt", b"listed\n");
    repo.write("secret.env", b"ignored by info/exclude\n");
    repo.write(
        std::ffi::OsStr::from_bytes(b"odd-\xff.txt"),
        b"non-UTF-8 name\n",
    );
    std::fs::create_dir_all(repo.path.join("empty_dir")).unwrap();
    repo.write("nested/inner.txt", b"inside a nested repository\n");
    repo.git(&["init", "-q", "nested"]);

    let ours = repo.checkout().list_worktree_files().unwrap();
    let listed = repo.git_bytes(&[
        "ls-files",
        "-z",
        "--cached",
        "--others",
        "--exclude-standard",
    ]);
    let deleted = repo.git_bytes(&["ls-files", "-z", "--deleted"]);
    let deleted: Vec<&[u8]> = deleted
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .collect();
    let mut expected: Vec<Vec<u8>> = listed
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty() && !deleted.contains(p) && !p.ends_with(b"/"))
        .map(<[u8]>::to_vec)
        .collect();
    expected.sort();
    expected.dedup();
    let got: Vec<Vec<u8>> = ours.iter().map(|f| f.raw_path.clone()).collect();
    assert_eq!(
        got.iter()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect::<Vec<_>>(),
        expected
            .iter()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect::<Vec<_>>()
    );
    assert!(got.contains(&b"keep.log".to_vec()) && got.contains(&b"forced.log".to_vec()));
    let tracked: Vec<&str> = ours
        .iter()
        .filter(|f| f.tracked)
        .map(|f| f.path.as_str())
        .collect();
    assert_eq!(
        tracked,
        [".gitignore", "forced.log", "src/main.rs", "sub/.gitignore"]
    );
}
