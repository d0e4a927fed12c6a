//! Merging a pull request on the local forge, the way GitHub's merge button does: squash (one
//! new commit on the base), merge (a two-parent commit) or rebase (each commit replayed). Trees
//! are merged per file: a file changed on only one side is taken from that side; a file changed
//! differently on both sides is a conflict and nothing is written (no line-level merging).

use gix::ObjectId;
use gix::bstr::{BString, ByteSlice};

use super::store::{Store, signature};
use crate::forge::{ForgeError, MergeMethod};

/// Why a merge could not be made.
#[derive(Debug)]
pub enum Refusal {
    /// Paths changed differently on both sides since the merge base.
    Conflict(Vec<String>),
    Other(ForgeError),
}

impl From<ForgeError> for Refusal {
    fn from(e: ForgeError) -> Self {
        Refusal::Other(e)
    }
}

/// `ours` with the changes `base → theirs` applied, or the conflicting paths.
pub fn merge_trees(
    store: &Store,
    base: Option<ObjectId>,
    ours: ObjectId,
    theirs: ObjectId,
) -> std::result::Result<ObjectId, Refusal> {
    let base_flat = match base {
        Some(b) => store.flatten(b)?,
        None => Default::default(),
    };
    let ours_flat = store.flatten(ours)?;
    let theirs_flat = store.flatten(theirs)?;
    let mut edits: Vec<(BString, Option<_>)> = Vec::new();
    let mut conflicts = Vec::new();
    let paths: std::collections::BTreeSet<&BString> =
        base_flat.keys().chain(theirs_flat.keys()).collect();
    for path in paths {
        let (b, o, t) = (
            base_flat.get(path),
            ours_flat.get(path),
            theirs_flat.get(path),
        );
        if b == t || o == t {
            continue; // theirs did not change it, or both made the same change
        }
        if o == b {
            edits.push((path.clone(), t.copied()));
        } else {
            conflicts.push(path.to_str_lossy().into_owned());
        }
    }
    if !conflicts.is_empty() {
        return Err(Refusal::Conflict(conflicts));
    }
    if edits.is_empty() {
        return Ok(ours);
    }
    Ok(store.edit_entries(ours, &edits)?)
}

/// What the merge needs to know about the pull request.
pub struct Merging<'a> {
    pub number: u64,
    pub title: &'a str,
    pub head_ref: &'a str,
    pub base_tip: ObjectId,
    pub head: ObjectId,
}

/// Builds the commit the base branch moves to (the caller moves it, compare-and-swap).
pub fn merge_commit(
    store: &Store,
    pr: &Merging<'_>,
    method: MergeMethod,
) -> std::result::Result<ObjectId, Refusal> {
    let base = store.merge_base(pr.base_tip, pr.head)?;
    // Squash and merge commit the same three-way merged tree; rebase replays commit by commit.
    let merged_tree = || -> std::result::Result<ObjectId, Refusal> {
        let base_tree = base.map(|b| store.tree_of(b)).transpose()?;
        merge_trees(
            store,
            base_tree,
            store.tree_of(pr.base_tip)?,
            store.tree_of(pr.head)?,
        )
    };
    match method {
        MergeMethod::Squash => {
            let tree = merged_tree()?;
            let mut message = format!("{} (#{})\n", pr.title, pr.number);
            let range = store.first_parent_range(pr.base_tip, pr.head)?;
            if range.len() > 1 {
                message.push('\n');
                for c in &range {
                    let first = store.commit_object(*c)?.message;
                    let first = first
                        .lines()
                        .next()
                        .map(|l| l.to_str_lossy().into_owned())
                        .unwrap_or_default();
                    message.push_str(&format!("* {first}\n"));
                }
            }
            let author = match range.first() {
                Some(c) => store.commit_object(*c)?.author,
                None => signature(None),
            };
            Ok(store.write_commit(tree, &[pr.base_tip], &message, author)?)
        }
        MergeMethod::Merge => {
            let tree = merged_tree()?;
            let message = format!(
                "Merge pull request #{} from {}\n\n{}\n",
                pr.number, pr.head_ref, pr.title
            );
            Ok(store.write_commit(tree, &[pr.base_tip, pr.head], &message, signature(None))?)
        }
        MergeMethod::Rebase => {
            let mut tip = pr.base_tip;
            for c in store.first_parent_range(pr.base_tip, pr.head)? {
                let original = store.commit_object(c)?;
                let parent_tree = match original.parents.first() {
                    Some(p) => Some(store.tree_of(*p)?),
                    None => None,
                };
                let tree = merge_trees(store, parent_tree, store.tree_of(tip)?, original.tree)?;
                tip = store.write_commit(
                    tree,
                    &[tip],
                    &original.message.to_str_lossy(),
                    original.author,
                )?;
            }
            Ok(tip)
        }
    }
}
