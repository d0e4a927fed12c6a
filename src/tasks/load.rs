//! Loads a set of task files from a directory or from in-memory (path, bytes) pairs (e.g. read
//! from a git tree at a ref). A broken file is reported and skipped; it never stops the others.

use std::io::Read;
use std::path::Path;

use super::diagnostic::Diagnostic;
use super::task::{MAX_TASK_FILE_BYTES, Task, TaskParseError};
use super::validate::validate;

/// The loaded tasks (sorted by path) and every problem found reading and validating them.
#[derive(Clone, Debug, Default)]
pub struct TaskSet {
    pub tasks: Vec<Task>,
    pub diagnostics: Vec<Diagnostic>,
    /// Every task file considered, including the ones skipped because they are broken.
    pub files: Vec<String>,
}

impl TaskSet {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// The task with this id (the first by path if the id is duplicated).
    pub fn get(&self, id: &str) -> Option<&Task> {
        self.tasks.iter().find(|t| t.id().to_string() == id)
    }
}

/// Whether a file name in the tasks directory is a task file: `*.md`, except `_`-prefixed files
/// (the `_template.md`) and `README.md`.
pub fn is_task_file_name(name: &str) -> bool {
    name.ends_with(".md") && !name.starts_with('_') && !name.eq_ignore_ascii_case("README.md")
}

/// Loads and validates tasks from (path label, bytes) pairs; names that are not task files are
/// ignored (see [`is_task_file_name`]).
pub fn load_from_memory<P: Into<String>>(
    files: impl IntoIterator<Item = (P, Vec<u8>)>,
    states: &[String],
) -> TaskSet {
    let mut files: Vec<(String, Vec<u8>)> = files
        .into_iter()
        .map(|(p, b)| (p.into(), b))
        .filter(|(p, _)| is_task_file_name(p.rsplit(['/', '\\']).next().unwrap_or(p)))
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let mut set = TaskSet::default();
    let mut parse_errors = Vec::new();
    for (path, bytes) in files {
        match Task::parse(path.clone(), &bytes) {
            Ok(task) => set.tasks.push(task),
            Err(e) => parse_errors.push(e.to_diagnostic(&path)),
        }
        set.files.push(path);
    }
    set.diagnostics = parse_errors;
    set.diagnostics.extend(validate(&set.tasks, states));
    set.diagnostics
        .sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
    set
}

/// Loads the tasks of a repository checkout: `repo_dir/tasks_dir/*.md`, labelled
/// `tasks_dir/NAME` (relative to the repository, as Actions annotations need).
pub fn load_repo_tasks(repo_dir: &Path, tasks_dir: &str, states: &[String]) -> TaskSet {
    let prefix = tasks_dir.trim_end_matches('/');
    load_labelled(&repo_dir.join(tasks_dir), prefix, states)
}

/// Loads the tasks in `dir`, labelled with `dir`'s own path. A missing directory is an empty set.
pub fn load_dir(dir: &Path, states: &[String]) -> TaskSet {
    let prefix = dir.to_string_lossy().trim_end_matches('/').to_string();
    load_labelled(dir, &prefix, states)
}

fn load_labelled(dir: &Path, prefix: &str, states: &[String]) -> TaskSet {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut read_errors = Vec::new();
    let mut unread = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return TaskSet::default(),
        Err(e) => {
            let mut set = TaskSet::default();
            set.diagnostics.push(Diagnostic::error(
                prefix,
                None,
                format!("cannot read the tasks directory: {e}"),
            ));
            return set;
        }
    };
    for entry in entries.flatten() {
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            read_errors.push(Diagnostic::warning(
                format!("{prefix}/{}", entry.file_name().to_string_lossy()),
                None,
                "file name is not UTF-8; skipped",
            ));
            continue;
        };
        if !is_task_file_name(&name) {
            continue;
        }
        let label = format!("{prefix}/{name}");
        let path = entry.path();
        if !std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
            continue;
        }
        let mut bytes = Vec::new();
        let read = std::fs::File::open(&path).and_then(|f| {
            f.take(MAX_TASK_FILE_BYTES as u64 + 1)
                .read_to_end(&mut bytes)
        });
        match read {
            Err(e) => {
                read_errors.push(Diagnostic::error(
                    &label,
                    None,
                    format!("cannot read file: {e} (file skipped)"),
                ));
                unread.push(label);
            }
            Ok(_) if bytes.len() > MAX_TASK_FILE_BYTES => {
                let len = std::fs::metadata(&path)
                    .map(|m| m.len() as usize)
                    .unwrap_or(bytes.len());
                read_errors.push(
                    TaskParseError::TooLarge {
                        bytes: len,
                        limit: MAX_TASK_FILE_BYTES,
                    }
                    .to_diagnostic(&label),
                );
                unread.push(label);
            }
            Ok(_) => files.push((label, bytes)),
        }
    }
    let mut set = load_from_memory(files, states);
    set.diagnostics.extend(read_errors);
    set.files.extend(unread);
    set.files.sort();
    set.diagnostics
        .sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
    set
}
