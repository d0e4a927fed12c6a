//! The local forge's non-git state as JSON files a person can read: one file per pull request
//! (`pulls/N.json`, with its comments and reviews) and one list of workflow dispatches. Every
//! write replaces a whole file atomically (temp file + rename) under the forge's lock file.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::forge::{
    Comment, ForgeError, InlineComment, MergeMethod, PrState, PullRequest, Result, ReviewEvent,
};

/// Written by, and required from, every local forge directory.
pub const META_FILE: &str = "forge.json";
pub const REPO_DIR: &str = "repo.git";
pub const PULLS_DIR: &str = "pulls";
pub const DISPATCHES_FILE: &str = "dispatches.json";
/// How long a writer waits for another process holding the lock.
const LOCK_WAIT: Duration = Duration::from_secs(10);

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn io(what: impl std::fmt::Display, e: impl std::fmt::Display) -> ForgeError {
    ForgeError::Local {
        message: format!("{what}: {e}"),
    }
}

/// `forge.json`: marks the directory as a local forge.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Meta {
    pub format: u32,
    /// Shown as the repository's `full_name` (`local/NAME`).
    pub name: String,
    pub created_at: u64,
    /// Where the first commit came from (`forge init --from`, or the demo).
    pub imported_from: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommentRecord {
    pub id: u64,
    pub body: String,
    pub author: String,
    pub created_at: u64,
    pub updated_at: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReviewRecord {
    pub id: u64,
    pub commit_id: String,
    pub body: String,
    pub event: ReviewEvent,
    pub comments: Vec<InlineComment>,
    pub author: String,
    pub created_at: u64,
}

/// One pull request with everything said on it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PullRecord {
    pub number: u64,
    pub title: String,
    pub body: String,
    pub state: PrState,
    pub merged: bool,
    pub draft: bool,
    pub head_ref: String,
    /// The head when the record was last written; open PRs follow their branch when read.
    pub head_sha: String,
    pub base_ref: String,
    /// The base branch's commit when the PR was opened, updated, or (for merged PRs) merged.
    pub base_sha: String,
    pub author: String,
    pub created_at: u64,
    pub updated_at: u64,
    pub merged_at: Option<u64>,
    pub merge_method: Option<MergeMethod>,
    pub merge_commit_sha: Option<String>,
    pub comments: Vec<CommentRecord>,
    pub reviews: Vec<ReviewRecord>,
    #[serde(default)]
    pub labels: Vec<String>,
}

impl PullRecord {
    pub fn to_pull(&self, url: String) -> PullRequest {
        PullRequest {
            number: self.number,
            title: self.title.clone(),
            body: self.body.clone(),
            state: self.state,
            merged: self.merged,
            draft: self.draft,
            head_ref: self.head_ref.clone(),
            head_sha: self.head_sha.clone(),
            base_ref: self.base_ref.clone(),
            base_sha: self.base_sha.clone(),
            html_url: url,
            mergeable: None,
            author: self.author.clone(),
        }
    }
}

impl ReviewRecord {
    pub fn to_review(&self) -> crate::forge::Review {
        let state = match self.event {
            ReviewEvent::Approve => "APPROVED",
            ReviewEvent::RequestChanges => "CHANGES_REQUESTED",
            ReviewEvent::Comment => "COMMENTED",
        };
        crate::forge::Review {
            id: self.id,
            author: self.author.clone(),
            commit_id: Some(self.commit_id.clone()),
            state: state.into(),
            body: self.body.clone(),
        }
    }
}

impl CommentRecord {
    pub fn to_comment(&self) -> Comment {
        Comment {
            id: self.id,
            body: self.body.clone(),
            author: self.author.clone(),
        }
    }
}

/// A `workflow_dispatch` the local forge recorded (it has no workflows to run).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DispatchRecord {
    pub workflow: String,
    pub git_ref: String,
    pub inputs: serde_json::Value,
    pub at: u64,
}

/// The directory and its files.
#[derive(Debug, Clone)]
pub struct Records {
    dir: PathBuf,
}

/// Held while a process changes the forge; released (the lock file removed) on drop.
pub struct Lock(#[allow(dead_code)] gix::lock::Marker);

impl Records {
    pub fn new(dir: &Path) -> Records {
        Records {
            dir: dir.to_path_buf(),
        }
    }

    pub fn pull_path(&self, number: u64) -> PathBuf {
        self.dir.join(PULLS_DIR).join(format!("{number}.json"))
    }

    /// Takes `forge.lock`, waiting up to 10 s for another process to finish.
    pub fn lock(&self) -> Result<Lock> {
        gix::lock::Marker::acquire_to_hold_resource(
            self.dir.join("forge"),
            gix::lock::acquire::Fail::AfterDurationWithBackoff(LOCK_WAIT),
            None,
            0,
        )
        .map(Lock)
        .map_err(|e| ForgeError::Local {
            message: format!(
                "another process holds {} ({e}); wait for it, or delete that file if no codex-orchestrator is running",
                self.dir.join("forge.lock").display()
            ),
        })
    }

    pub fn read_meta(&self) -> Result<Meta> {
        read_json(&self.dir.join(META_FILE))?.ok_or_else(|| ForgeError::Local {
            message: format!(
                "{} is not a local forge (it has no {META_FILE}); create one with \
                 `codex-orchestrator forge init local:{} --from PATH`",
                self.dir.display(),
                self.dir.display()
            ),
        })
    }

    pub fn write_meta(&self, meta: &Meta) -> Result<()> {
        write_json(&self.dir.join(META_FILE), meta)
    }

    /// Every pull request, by number.
    pub fn pulls(&self) -> Result<Vec<PullRecord>> {
        let dir = self.dir.join(PULLS_DIR);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(format!("reading {}", dir.display()), e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let path = entry
                .map_err(|e| io(format!("reading {}", dir.display()), e))?
                .path();
            let is_record = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".json"))
                .is_some_and(|n| n.parse::<u64>().is_ok());
            if is_record && let Some(r) = read_json::<PullRecord>(&path)? {
                out.push(r);
            }
        }
        out.sort_by_key(|r| r.number);
        Ok(out)
    }

    pub fn pull(&self, number: u64) -> Result<PullRecord> {
        read_json(&self.pull_path(number))?.ok_or_else(|| ForgeError::NotFound {
            what: format!("pull request #{number}"),
        })
    }

    pub fn save_pull(&self, pr: &PullRecord) -> Result<()> {
        write_json(&self.pull_path(pr.number), pr)
    }

    /// The next free comment/review id (ids are shared, like GitHub's are unique).
    pub fn next_note_id(&self) -> Result<u64> {
        let max = self
            .pulls()?
            .iter()
            .flat_map(|p| {
                p.comments
                    .iter()
                    .map(|c| c.id)
                    .chain(p.reviews.iter().map(|r| r.id))
            })
            .max()
            .unwrap_or(0);
        Ok(max + 1)
    }

    pub fn dispatches(&self) -> Result<Vec<DispatchRecord>> {
        Ok(read_json(&self.dir.join(DISPATCHES_FILE))?.unwrap_or_default())
    }

    pub fn save_dispatches(&self, list: &[DispatchRecord]) -> Result<()> {
        write_json(&self.dir.join(DISPATCHES_FILE), &list)
    }
}

/// `None` when the file does not exist.
fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(format!("reading {}", path.display()), e)),
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        io(
            format!(
                "{} is not a valid record (fix or remove it)",
                path.display()
            ),
            e,
        )
    })
}

/// Writes `value` next to `path`, syncs it, then renames it over `path`: readers see the old
/// file or the new one, never half of one.
pub fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io(format!("creating {}", dir.display()), e))?;
    let mut text = serde_json::to_vec_pretty(value).map_err(|e| io("encoding a record", e))?;
    text.push(b'\n');
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("record");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(&text)?;
        f.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(format!("writing {}", path.display()), e));
    }
    Ok(())
}
