//! The publisher's memory of the writes GitHub cannot tell us were done (a `workflow_dispatch`
//! leaves nothing to find): a small JSON file beside the change set, keyed by the set's digest,
//! so publishing the same set again does not start the same workflow twice.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

#[derive(serde::Serialize, serde::Deserialize, Default)]
struct State {
    digest: String,
    done: BTreeSet<usize>,
}

pub(super) struct Journal {
    path: Option<PathBuf>,
    state: State,
}

impl Journal {
    /// The journal at `path` for the set with `digest` (another set's journal is ignored).
    pub fn open(path: Option<&Path>, digest: &str) -> Journal {
        let state = path
            .and_then(|p| std::fs::read(p).ok())
            .filter(|b| b.len() < 1024 * 1024)
            .and_then(|b| serde_json::from_slice::<State>(&b).ok())
            .filter(|s| s.digest == digest)
            .unwrap_or(State {
                digest: digest.to_string(),
                done: BTreeSet::new(),
            });
        Journal {
            path: path.map(Path::to_path_buf),
            state,
        }
    }

    pub fn done(&self, index: usize) -> bool {
        self.state.done.contains(&index)
    }

    /// Remembers write `index` as done (written through at once: a kill right after keeps it).
    pub fn record(&mut self, index: usize) {
        self.state.done.insert(index);
        if let Some(path) = &self.path {
            let tmp = path.with_extension("journal-tmp");
            let ok = serde_json::to_vec(&self.state)
                .ok()
                .and_then(|b| std::fs::write(&tmp, b).ok())
                .and_then(|()| std::fs::rename(&tmp, path).ok());
            if ok.is_none() {
                tracing::warn!(
                    "could not write the publish journal {}; publishing again may repeat a dispatch",
                    path.display()
                );
            }
        }
    }
}
