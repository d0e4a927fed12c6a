//! Change sets: the writes a role intends, relative to the state it read, as data. Roles never
//! write; they return a `ChangeSet`, and one publisher (`crate::publish`) validates and applies it.
//! The JSON form (documented in docs/change-set.md) is what crosses from the read-only work job
//! to the publish job, so every field here is read back as untrusted input.

mod render;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::forge::{InlineComment, MergeMethod, ReviewEvent};
use crate::vocab::Role;

pub use render::{Status, markdown};

/// The `format` every change set names.
pub const FORMAT: &str = "codex-orchestrator/change-set";
/// The version this build writes and reads.
pub const VERSION: u32 = 1;
/// The largest change set file `publish` reads.
pub const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// Everything one role run wants written, and what it was computed from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeSet {
    pub format: String,
    pub version: u32,
    /// The role whose run produced it. `publish` checks it against the role it was told to
    /// publish for; the file's word alone grants nothing.
    pub role: Role,
    /// `owner/name` (or the local forge's name).
    pub repository: String,
    pub default_branch: String,
    /// The default branch's head when the role read it.
    pub base: String,
    /// The run that computed it (`gh-<GITHUB_RUN_ID>`, `local-…`, `serve-…`).
    pub run_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr: Option<u64>,
    pub writes: Vec<Write>,
}

/// One intended write. Each is idempotent in the publisher: found done, it is not repeated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Write {
    /// A commit of file changes on `parent`, then the branch moved (or created) to it.
    Commit(CommitWrite),
    /// The pull request from `head`, opened or updated (upserted by head branch).
    PullRequest(PullRequestWrite),
    /// Our comment carrying `marker`, created or edited in place.
    Comment(CommentWrite),
    /// A pull request review, submitted once per marker and commit.
    Review(ReviewWrite),
    /// Labels added to an issue or pull request (existing ones are left alone).
    Labels(LabelsWrite),
    /// A `workflow_dispatch` of one workflow (the hand-off between roles).
    Dispatch(DispatchWrite),
    /// Merging a pull request (or, when GitHub refuses for now, turning on auto-merge).
    Merge(MergeWrite),
}

/// Whether the branch of a commit write exists yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BranchState {
    /// The branch must not exist; it is created at the new commit.
    New,
    /// The branch must point at `parent`; it is moved to the new commit (fast-forward).
    Existing,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitWrite {
    pub branch: String,
    pub branch_state: BranchState,
    /// The commit the new one is built on: the default branch's head (`New`) or the branch's
    /// head as read (`Existing`).
    pub parent: String,
    pub message: String,
    /// The files that change; empty for a marker commit (a claim or its release).
    #[serde(default)]
    pub files: Vec<FileWrite>,
}

/// One file of a commit: new UTF-8 text, or a deletion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileWrite {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub delete: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub executable: bool,
}

impl FileWrite {
    pub fn text(path: impl Into<String>, text: impl Into<String>) -> FileWrite {
        FileWrite {
            path: path.into(),
            text: Some(text.into()),
            delete: false,
            executable: false,
        }
    }

    pub fn delete(path: impl Into<String>) -> FileWrite {
        FileWrite {
            path: path.into(),
            text: None,
            delete: true,
            executable: false,
        }
    }

    /// The new bytes (`None`: deleted).
    pub fn content(&self) -> Option<&[u8]> {
        self.text.as_deref().map(str::as_bytes)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullRequestWrite {
    pub head: String,
    pub base: String,
    pub title: String,
    pub body: String,
    #[serde(default)]
    pub draft: bool,
}

/// Which pull request (or issue) a write is about: a number, or the pull request from a head
/// branch (one this same change set may open).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Pr(u64),
    Head(String),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Pr(n) => write!(f, "#{n}"),
            Target::Head(h) => write!(f, "the pull request from `{h}`"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentWrite {
    pub on: Target,
    /// The hidden marker that finds our comment again (`<!-- codex-orchestrator:reviewer -->`).
    pub marker: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewWrite {
    pub on: Target,
    /// The head commit the review is about.
    pub commit_id: String,
    pub event: ReviewEvent,
    /// Found in our reviews' bodies, so a review is submitted once per marker and commit.
    pub marker: String,
    pub body: String,
    #[serde(default)]
    pub comments: Vec<InlineComment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelsWrite {
    pub on: Target,
    pub add: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DispatchWrite {
    /// The workflow file name (`llm-team-reviewer.yml`) or id.
    pub workflow: String,
    pub git_ref: String,
    #[serde(default)]
    pub inputs: BTreeMap<String, String>,
    /// When set, the input `pr` is filled with that pull request's number at publish time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr_input: Option<Target>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeWrite {
    pub on: Target,
    pub method: MergeMethod,
    /// Why this merge is allowed (e.g. the task's `auto_policy: auto_merge`), for the summary.
    pub reason: String,
    /// When GitHub refuses to merge now, turn on auto-merge instead.
    #[serde(default)]
    pub auto_merge_fallback: bool,
}

/// What a change set file could not be read as.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read the change set {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the change set {path} is {size} bytes, over the {MAX_FILE_BYTES}-byte limit; it was not made by this tool"
    )]
    TooLarge { path: String, size: u64 },
    #[error("{path} is not a change set: {message}")]
    Invalid { path: String, message: String },
}

impl ChangeSet {
    /// An empty change set for `role`, computed from `base` on `default_branch`.
    pub fn new(
        role: Role,
        repository: impl Into<String>,
        default_branch: impl Into<String>,
        base: impl Into<String>,
        run_id: impl Into<String>,
    ) -> ChangeSet {
        ChangeSet {
            format: FORMAT.into(),
            version: VERSION,
            role,
            repository: repository.into(),
            default_branch: default_branch.into(),
            base: base.into(),
            run_id: run_id.into(),
            task: None,
            pr: None,
            writes: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    pub fn push(&mut self, write: Write) {
        self.writes.push(write);
    }

    /// Pretty JSON, as written to a `--changes-out` file.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into())
    }

    /// Parses and checks the envelope (format and version; unknown fields are refused).
    pub fn from_json(text: &[u8], origin: &str) -> Result<ChangeSet, ReadError> {
        let invalid = |message: String| ReadError::Invalid {
            path: origin.to_string(),
            message,
        };
        let probe: serde_json::Value =
            serde_json::from_slice(text).map_err(|e| invalid(format!("not JSON ({e})")))?;
        match probe.get("format").and_then(|f| f.as_str()) {
            Some(FORMAT) => {}
            Some(other) => return Err(invalid(format!("its format is {other:?}, not {FORMAT:?}"))),
            None => return Err(invalid(format!("it has no \"format\": {FORMAT:?}"))),
        }
        match probe.get("version").and_then(|v| v.as_u64()) {
            Some(v) if v == u64::from(VERSION) => {}
            Some(v) => {
                return Err(invalid(format!(
                    "it is version {v}; this build reads version {VERSION} (use the same release for both jobs)"
                )));
            }
            None => return Err(invalid("it has no \"version\"".into())),
        }
        let mut de = serde_json::Deserializer::from_slice(text);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let at = e.path().to_string();
            invalid(format!("{at}: {}", e.into_inner()))
        })
    }

    /// Reads a change set file (bounded in size).
    pub fn read(path: &std::path::Path) -> Result<ChangeSet, ReadError> {
        let shown = path.display().to_string();
        let io = |source| ReadError::Io {
            path: shown.clone(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        if meta.len() > MAX_FILE_BYTES {
            return Err(ReadError::TooLarge {
                path: shown,
                size: meta.len(),
            });
        }
        let bytes = std::fs::read(path).map_err(io)?;
        ChangeSet::from_json(&bytes, &shown)
    }

    /// Writes the set to `path` atomically (a temp file beside it, then a rename).
    pub fn write(&self, path: &std::path::Path) -> std::io::Result<()> {
        let tmp = path.with_extension("tmp-change-set");
        std::fs::write(&tmp, self.to_json())?;
        std::fs::rename(&tmp, path)
    }

    /// A stable digest of the set (hex SHA-256 of its JSON), naming it in journals and logs.
    pub fn digest(&self) -> String {
        use sha2::Digest as _;
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The files of every commit this set writes, in order.
    pub fn committed_files(&self) -> impl Iterator<Item = &FileWrite> {
        self.writes
            .iter()
            .filter_map(|w| match w {
                Write::Commit(c) => Some(c.files.iter()),
                _ => None,
            })
            .flatten()
    }

    /// The head branches of the pull requests this set upserts.
    pub fn pull_request_heads(&self) -> impl Iterator<Item = &str> {
        self.writes.iter().filter_map(|w| match w {
            Write::PullRequest(p) => Some(p.head.as_str()),
            _ => None,
        })
    }
}

impl Write {
    /// A short name of the kind, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Write::Commit(_) => "commit",
            Write::PullRequest(_) => "pull request",
            Write::Comment(_) => "comment",
            Write::Review(_) => "review",
            Write::Labels(_) => "labels",
            Write::Dispatch(_) => "workflow dispatch",
            Write::Merge(_) => "merge",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ChangeSet {
        let mut set = ChangeSet::new(Role::Developer, "octo/app", "main", "a".repeat(40), "gh-1");
        set.task = Some("T-0002".into());
        set.push(Write::Commit(CommitWrite {
            branch: "feature/T-0002-x".into(),
            branch_state: BranchState::New,
            parent: "a".repeat(40),
            message: "T-0002: x".into(),
            files: vec![
                FileWrite::text("src/app.py", "x = 1\n"),
                FileWrite::delete("old.py"),
            ],
        }));
        set.push(Write::PullRequest(PullRequestWrite {
            head: "feature/T-0002-x".into(),
            base: "main".into(),
            title: "T-0002: x".into(),
            body: "Task: T-0002\n".into(),
            draft: false,
        }));
        set.push(Write::Dispatch(DispatchWrite {
            workflow: "llm-team-reviewer.yml".into(),
            git_ref: "feature/T-0002-x".into(),
            inputs: [("role".to_string(), "reviewer".to_string())].into(),
            pr_input: Some(Target::Head("feature/T-0002-x".into())),
        }));
        set
    }

    #[test]
    fn round_trips_through_json() {
        let set = sample();
        let back = ChangeSet::from_json(set.to_json().as_bytes(), "x").unwrap();
        assert_eq!(back, set);
        assert_eq!(back.digest(), set.digest());
        let json: serde_json::Value = serde_json::from_str(&set.to_json()).unwrap();
        assert_eq!(json["writes"][0]["kind"], "commit");
        assert_eq!(json["writes"][0]["files"][1]["delete"], true);
        assert_eq!(json["writes"][2]["pr_input"]["head"], "feature/T-0002-x");
    }

    #[test]
    fn refuses_other_formats_versions_and_unknown_fields() {
        let mut json: serde_json::Value = serde_json::from_str(&sample().to_json()).unwrap();
        json["version"] = 2.into();
        let e = ChangeSet::from_json(json.to_string().as_bytes(), "f").unwrap_err();
        assert!(e.to_string().contains("version 2"), "{e}");
        json["version"] = 1.into();
        json["writes"][0]["force"] = true.into();
        let e = ChangeSet::from_json(json.to_string().as_bytes(), "f").unwrap_err();
        assert!(e.to_string().contains("force"), "{e}");
        let e = ChangeSet::from_json(b"{\"format\": \"x\"}", "f").unwrap_err();
        assert!(e.to_string().contains("not \"codex-orchestrator"), "{e}");
        assert!(ChangeSet::from_json(b"[]", "f").is_err());
    }
}
