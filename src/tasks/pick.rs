//! The next task over a loaded, validated set: a task with errors (duplicate id, id that does not
//! match its file name, a cycle, an unknown dependency, …) is never eligible, and the pick says
//! which tasks it skipped and why, so the Taskmaster and the Developer never act on invalid input.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::QUEUED;
use super::id::{TaskId, ids_in_text};
use super::load::TaskSet;
use super::next::{NextTask, next_among};
use super::validate::find_cycles;

/// A task file the pick passed over because it has errors.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    /// The file, as labelled by the loader (e.g. `tasks/T-0015-wrong-id.md`).
    pub path: String,
    /// The id in its front matter; for a file that did not load, the id its name starts with.
    pub id: Option<TaskId>,
    /// Its status; `None` for a file that did not load.
    pub status: Option<String>,
    /// Each error, in file order (the messages `tasks validate` prints, plus cycle membership).
    pub reasons: Vec<String>,
}

impl Skipped {
    /// `tasks/T-0015-wrong-id.md (T-0010): duplicate id T-0010, …; id T-0010 does not match …`.
    pub fn describe(&self) -> String {
        let id = self.id.map(|i| format!(" ({i})")).unwrap_or_default();
        format!("{}{id}: {}", self.path, self.reasons.join("; "))
    }
}

/// The next task of a [`TaskSet`], the tasks skipped because they have errors, and how many
/// errors the set has.
#[derive(Clone, Debug)]
pub struct Pick<'a> {
    /// The choice among the tasks without errors (dependencies count by status, whatever
    /// their errors; a duplicated id counts as done only when every task with it is done).
    pub next: NextTask<'a>,
    /// Task files that would have been candidates but have errors: queued tasks with errors,
    /// tasks without a status and files that did not load. Sorted by path.
    pub skipped: Vec<Skipped>,
    /// Error diagnostics in the whole set (warnings are not counted).
    pub errors: usize,
}

impl Pick<'_> {
    /// Whether the task set has any error: `tasks next` exits 1 then, even with a pick.
    pub fn has_errors(&self) -> bool {
        self.errors > 0
    }

    /// The chosen task's id, if any.
    pub fn id(&self) -> Option<TaskId> {
        self.next.id()
    }

    /// The pick (or why none), then one line per skipped task and a pointer to
    /// `tasks validate` when the set has errors.
    pub fn explain(&self) -> String {
        let mut s = self.next.explain();
        if !self.skipped.is_empty() {
            s.push_str(&format!(
                "\nskipped {} task file(s) with errors:",
                self.skipped.len()
            ));
            for k in &self.skipped {
                s.push_str("\n- ");
                s.push_str(&k.describe());
            }
        }
        if self.has_errors() {
            s.push_str(&format!(
                "\nthe task set has {} error(s); fix them (`tasks validate` names each file and line)",
                self.errors
            ));
        }
        s
    }
}

impl TaskSet {
    /// Chooses the next task, never one with errors: see [`Pick`]. This is the choice the
    /// Taskmaster reports and the Developer works on.
    pub fn next_task(&self) -> Pick<'_> {
        let invalid = self.invalid_tasks();
        let next = next_among(&self.tasks, |i| invalid.contains_key(&i));
        let mut skipped: Vec<Skipped> = invalid
            .into_iter()
            .filter_map(|(i, reasons)| {
                let t = &self.tasks[i];
                let candidate = t.status() == QUEUED || t.status().trim().is_empty();
                candidate.then(|| Skipped {
                    path: t.path().to_string(),
                    id: Some(t.id()),
                    status: Some(t.status().to_string()),
                    reasons,
                })
            })
            .collect();
        skipped.extend(self.unloaded_files());
        skipped.sort_by(|a, b| a.path.cmp(&b.path));
        Pick {
            next,
            skipped,
            errors: self.diagnostics.iter().filter(|d| d.is_error()).count(),
        }
    }

    /// Why `task` (one of this set's tasks) must not be acted on: its errors, as [`Skipped`]
    /// lists them; empty when it has none. For a task named by hand (`develop --task T-0004`).
    pub fn errors_of(&self, task: &super::task::Task) -> Vec<String> {
        self.tasks
            .iter()
            .position(|t| t.path() == task.path())
            .and_then(|i| self.invalid_tasks().remove(&i))
            .unwrap_or_default()
    }

    /// The index of every loaded task that has an error, with the reasons: its own error
    /// diagnostics, and membership of a dependency cycle (reported on one file only).
    fn invalid_tasks(&self) -> BTreeMap<usize, Vec<String>> {
        let mut by_path: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut by_id: HashMap<TaskId, Vec<usize>> = HashMap::new();
        for (i, t) in self.tasks.iter().enumerate() {
            by_path.entry(t.path()).or_default().push(i);
            by_id.entry(t.id()).or_default().push(i);
        }
        let mut invalid: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        for d in self.diagnostics.iter().filter(|d| d.is_error()) {
            for &i in by_path.get(d.path.as_str()).into_iter().flatten() {
                invalid.entry(i).or_default().push(d.message.clone());
            }
        }
        for cycle in find_cycles(&self.tasks) {
            let text: Vec<String> = cycle.iter().map(TaskId::to_string).collect();
            let text = text.join(" → ");
            for id in &cycle[..cycle.len() - 1] {
                for &i in by_id.get(id).into_iter().flatten() {
                    let reasons = invalid.entry(i).or_default();
                    if !reasons.iter().any(|r| r.contains(&text)) {
                        reasons.push(format!("in the dependency cycle {text}"));
                    }
                }
            }
        }
        invalid
    }

    /// The task files that did not load (broken front matter, unreadable, too large).
    fn unloaded_files(&self) -> Vec<Skipped> {
        let loaded: HashSet<&str> = self.tasks.iter().map(|t| t.path()).collect();
        self.files
            .iter()
            .filter(|f| !loaded.contains(f.as_str()))
            .map(|f| {
                let name = f.rsplit(['/', '\\']).next().unwrap_or(f);
                let mut reasons: Vec<String> = self
                    .diagnostics
                    .iter()
                    .filter(|d| d.is_error() && d.path == *f)
                    .map(|d| d.message.clone())
                    .collect();
                if reasons.is_empty() {
                    reasons.push("the file did not load".into());
                }
                Skipped {
                    path: f.clone(),
                    id: ids_in_text(name)
                        .first()
                        .copied()
                        .filter(|_| name.starts_with("T-")),
                    status: None,
                    reasons,
                }
            })
            .collect()
    }
}
