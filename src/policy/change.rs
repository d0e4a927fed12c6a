//! The check on a whole change's final content, before anything reaches the disk or the forge:
//! paths (escapes, look-alikes, `.git/`, protected paths, the team's own files) through the
//! guard, the base tree's symlinks and submodules, binary or NUL content, size limits and
//! secret-looking strings. The Developer runs it on the model's edits; the publisher runs it
//! again on every commit of a change set, which is untrusted input when it arrives.

use std::collections::BTreeMap;

use super::Guard;
use super::secrets::secret_kind;
use crate::git::{Mode, TreeEntry};

/// The limits of one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub max_file_bytes: u64,
    pub max_change_bytes: u64,
    pub max_files: usize,
}

impl Limits {
    pub fn from_config(d: &crate::config::Developer) -> Limits {
        Limits {
            max_file_bytes: d.max_file_bytes,
            max_change_bytes: d.max_change_bytes,
            max_files: d.max_files,
        }
    }
}

/// One reason a change was refused; the text is written for the model and the summary alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub path: String,
    pub why: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.why)
    }
}

/// The base tree as the check needs it: path → mode.
pub struct BaseTree {
    modes: BTreeMap<String, Mode>,
}

impl BaseTree {
    pub fn new(entries: &[TreeEntry]) -> BaseTree {
        BaseTree {
            modes: entries.iter().map(|e| (e.path.clone(), e.mode)).collect(),
        }
    }

    /// From octal modes by path (as `ForgeRead::tree_modes` answers); folders are left out.
    pub fn from_modes(modes: &BTreeMap<String, String>) -> BaseTree {
        BaseTree {
            modes: modes
                .iter()
                .filter_map(|(p, m)| {
                    let mode = match m.as_str() {
                        "120000" => Mode::Symlink,
                        "160000" => Mode::Submodule,
                        "100755" => Mode::Executable,
                        "100644" => Mode::File,
                        _ => return None,
                    };
                    Some((p.clone(), mode))
                })
                .collect(),
        }
    }

    /// The special entry (symlink or submodule) at `path` or at one of its parent folders.
    fn special_at(&self, path: &str) -> Option<(String, &'static str)> {
        let mut prefix = String::new();
        for (i, part) in path.split('/').enumerate() {
            if i > 0 {
                prefix.push('/');
            }
            prefix.push_str(part);
            match self.modes.get(&prefix) {
                Some(Mode::Symlink) => return Some((prefix, "a symlink")),
                Some(Mode::Submodule) => return Some((prefix, "a submodule")),
                _ => {}
            }
        }
        None
    }
}

/// Checks one path: the guard's rules (escapes, look-alikes, `.git/`, protected paths) and the
/// base tree's symlinks and submodules, at the path or above it.
pub fn check_path(guard: &Guard, base: &BaseTree, path: &str) -> Option<Refusal> {
    if let Err(e) = guard.check_path(path) {
        return Some(Refusal {
            path: path.to_string(),
            why: e.to_string(),
        });
    }
    let (at, kind) = base.special_at(path)?;
    let why = if at == path {
        format!(
            "it is {kind} in the repository; agents never write through symlinks or into submodules"
        )
    } else {
        format!(
            "{at} is {kind} in the repository; agents never write through symlinks or into submodules"
        )
    };
    Some(Refusal {
        path: path.to_string(),
        why,
    })
}

/// Checks the whole change (path → new bytes, `None` = delete) against the base tree. Returns
/// every refusal, so the model can correct them all at once; `secrets` are literal values
/// (tokens of this run) that must never be written.
pub fn check(
    guard: &Guard,
    base: &BaseTree,
    changes: &BTreeMap<String, Option<Vec<u8>>>,
    original: &dyn Fn(&str) -> Option<String>,
    limits: &Limits,
    secrets: &[String],
) -> Vec<Refusal> {
    let mut out = Vec::new();
    let refuse = |out: &mut Vec<Refusal>, path: &str, why: String| {
        out.push(Refusal {
            path: path.to_string(),
            why,
        })
    };
    if changes.len() > limits.max_files {
        refuse(
            &mut out,
            "(change)",
            format!(
                "it touches {} files; at most {} (developer.max_files) per change, so keep to what the task needs",
                changes.len(),
                limits.max_files
            ),
        );
    }
    let mut total = 0u64;
    for (path, content) in changes {
        if let Some(r) = check_path(guard, base, path) {
            out.push(r);
            continue;
        }
        let before = original(path);
        if let Err(e) = guard.check_team_workflow(
            path,
            before.as_deref().map(str::as_bytes),
            content.as_deref(),
        ) {
            refuse(&mut out, path, e.to_string());
            continue;
        }
        let Some(bytes) = content else { continue };
        total += bytes.len() as u64;
        if bytes.len() as u64 > limits.max_file_bytes {
            refuse(
                &mut out,
                path,
                format!(
                    "{} bytes is more than developer.max_file_bytes ({})",
                    bytes.len(),
                    limits.max_file_bytes
                ),
            );
            continue;
        }
        if bytes.contains(&0) {
            refuse(
                &mut out,
                path,
                "binary content (NUL bytes); agents write text files only".into(),
            );
            continue;
        }
        let Ok(text) = std::str::from_utf8(bytes) else {
            refuse(
                &mut out,
                path,
                "not UTF-8 text; agents write text files only".into(),
            );
            continue;
        };
        let before = before.unwrap_or_default();
        let old: std::collections::HashSet<&str> = before.lines().collect();
        for (n, line) in text.lines().enumerate() {
            if old.contains(line) {
                continue;
            }
            let kind = secret_kind(line).or_else(|| {
                secrets
                    .iter()
                    .any(|s| s.len() >= 8 && line.contains(s.as_str()))
                    .then_some("a secret of this run")
            });
            if let Some(kind) = kind {
                refuse(
                    &mut out,
                    path,
                    format!(
                        "line {} looks like {kind}; never write credentials into the repository (read them from the environment)",
                        n + 1
                    ),
                );
                break;
            }
        }
    }
    if total > limits.max_change_bytes {
        refuse(
            &mut out,
            "(change)",
            format!(
                "it writes {total} bytes; at most {} (developer.max_change_bytes) per change",
                limits.max_change_bytes
            ),
        );
    }
    out
}

/// The message sent back to the model once when its change was refused.
pub fn feedback(refusals: &[Refusal]) -> String {
    let mut out = String::from(
        "Your change was refused by the repository's safety rules, so nothing was applied:\n",
    );
    for r in refusals {
        out.push_str(&format!("- {r}\n"));
    }
    out.push_str(
        "\nAnswer again with SEARCH/REPLACE blocks that stay within these rules (all of your edits, corrected).",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn entry(path: &str, mode: Mode) -> TreeEntry {
        TreeEntry {
            path: path.into(),
            raw_path: path.as_bytes().to_vec(),
            mode,
            blob_id: "0".repeat(40),
            size: None,
        }
    }

    fn run(changes: &[(&str, Option<&[u8]>)]) -> Vec<Refusal> {
        let guard = Guard::new(&Config::default(), "main").unwrap();
        let base = BaseTree::new(&[
            entry("src/app.py", Mode::File),
            entry("docs/link", Mode::Symlink),
            entry("vendor/lib", Mode::Submodule),
        ]);
        let changes = changes
            .iter()
            .map(|(p, c)| (p.to_string(), c.map(|b| b.to_vec())))
            .collect();
        let limits = Limits {
            max_file_bytes: 1000,
            max_change_bytes: 1500,
            max_files: 5,
        };
        check(
            &guard,
            &base,
            &changes,
            &|_| None,
            &limits,
            &["s3cr3t-value-123".into()],
        )
    }

    #[test]
    fn refuses_what_it_must() {
        assert!(run(&[("src/app.py", Some(b"print(1)\n"))]).is_empty());
        for (path, content) in [
            ("../../etc/passwd", Some(&b"x"[..])),
            ("/etc/passwd", Some(b"x")),
            (".github/workflows/x.yml", Some(b"on: push")),
            (".git/config", Some(b"x")),
            ("docs/link", Some(b"x")),
            ("docs/link/inner.md", Some(b"x")),
            ("vendor/lib/x.c", Some(b"x")),
            ("src/bin.dat", Some(b"a\0b")),
            ("src/big.py", Some(&[b'a'; 1001][..])),
            (
                "src/t.py",
                Some(b"TOKEN = 'ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'\n"),
            ),
            ("src/u.py", Some(b"x = 's3cr3t-value-123'\n")),
        ] {
            let r = run(&[(path, content)]);
            assert_eq!(r.len(), 1, "{path}: {r:?}");
        }
        let r = run(&[
            ("a.py", Some(&[b'a'; 900][..])),
            ("b.py", Some(&[b'b'; 900][..])),
        ]);
        assert!(
            r.iter().any(|r| r.why.contains("max_change_bytes")),
            "{r:?}"
        );
    }
}
