//! The deterministic checks: always run, need no model, and can force `request_changes` whatever
//! a model says (protected paths touched, secrets added, source changed without tests).

use super::{Check, Severity};
use crate::config::Config;
use crate::git::{ChangeKind, Diff};
use crate::policy::paths::Protected;
use crate::policy::secrets::secret_kind;
use crate::tasks::Task;
use crate::vocab::file_kind::{FileKind, classify};

/// A file adding more lines than this is called out as very large.
pub const LARGE_FILE_LINES: u32 = 2000;

pub struct CheckInput<'a> {
    pub diff: &'a Diff,
    /// The configuration of the base branch.
    pub config: &'a Config,
    pub task_id: Option<&'a str>,
    /// The task file as the base branch has it, when found.
    pub task: Option<&'a Task>,
}

/// A change to the team's own files (its configuration, prompt overrides, the workflows that run
/// it) is a blocker whoever wrote it: merged, it would change the rules the team is held to.
fn team_files(input: &CheckInput, out: &mut Vec<Check>) {
    let Ok(guard) = crate::policy::Guard::new(input.config, "") else {
        return;
    };
    if !guard.guards_team_files() {
        return;
    }
    for f in &input.diff.files {
        for path in std::iter::once(f.path.as_str()).chain(f.old_path.as_deref()) {
            let team = match guard.check_path(path) {
                Err(crate::policy::PolicyError::TeamFile { .. }) => true,
                _ if crate::policy::guard::is_workflow_path(path) => {
                    let text: String = f
                        .hunks
                        .iter()
                        .flat_map(|h| h.lines.iter())
                        .map(|l| format!("{}\n", l.get(1..).unwrap_or("")))
                        .collect();
                    crate::policy::guard::runs_the_team(text.as_bytes())
                }
                _ => false,
            };
            if team {
                out.push(check(
                    "team_file",
                    Severity::Blocker,
                    true,
                    Some(path),
                    None,
                    format!(
                        "changes {path}, one of the team's own files (its configuration, prompt overrides or a workflow \
                         that runs it); a maintainer makes such changes on the default branch"
                    ),
                ));
                break;
            }
        }
    }
}

fn check(
    name: &'static str,
    severity: Severity,
    forces: bool,
    path: Option<&str>,
    line: Option<u32>,
    message: String,
) -> Check {
    Check {
        name,
        severity,
        forces_changes: forces,
        path: path.map(str::to_string),
        line,
        message,
    }
}

pub fn run(input: &CheckInput) -> Vec<Check> {
    let mut out = Vec::new();
    let cfg = input.config;
    team_files(input, &mut out);
    if let Ok(protected) = Protected::new(&cfg.project.protected_paths) {
        for f in &input.diff.files {
            for path in std::iter::once(f.path.as_str()).chain(f.old_path.as_deref()) {
                if let Some(pattern) = protected.matching(path) {
                    out.push(check(
                        "protected_path",
                        Severity::Blocker,
                        true,
                        Some(path),
                        None,
                        format!("changes protected path {path} (project.protected_paths: {pattern:?}); a maintainer must make or approve this change"),
                    ));
                }
            }
        }
    }
    let changed = |kind: FileKind| {
        input
            .diff
            .files
            .iter()
            .any(|f| f.change != ChangeKind::Deleted && classify(&f.path) == kind)
    };
    if cfg.checks.require_tests && changed(FileKind::Source) && !changed(FileKind::Test) {
        out.push(check(
            "require_tests",
            Severity::Major,
            true,
            None,
            None,
            "source files changed but no test was added or changed (checks.require_tests)".into(),
        ));
    }
    match (input.task_id, input.task) {
        (Some(id), None) => out.push(check(
            "task",
            Severity::Minor,
            false,
            None,
            None,
            format!("the pull request names task {id}, but the base branch has no such task file under {}/", cfg.tasks.dir),
        )),
        (Some(id), Some(t)) if matches!(t.status(), "done" | "blocked") => out.push(check(
            "task",
            Severity::Minor,
            false,
            Some(t.path()),
            None,
            if t.status() == "done" {
                format!("task {id} is already done on the base branch")
            } else {
                format!("task {id} is blocked on the base branch")
            },
        )),
        (None, _) => out.push(check(
            "task",
            Severity::Nit,
            false,
            None,
            None,
            "no linked task (branch feature/T-XXXX-…, or a `Task: T-XXXX` line in the body): acceptance criteria were not checked".into(),
        )),
        _ => {}
    }
    for f in &input.diff.files {
        if f.change == ChangeKind::Deleted {
            continue;
        }
        if f.binary {
            out.push(check(
                "binary",
                Severity::Minor,
                false,
                Some(&f.path),
                None,
                format!("binary file {} cannot be reviewed as text", f.path),
            ));
        }
        if f.additions > LARGE_FILE_LINES {
            out.push(check(
                "large_file",
                Severity::Major,
                false,
                Some(&f.path),
                None,
                format!(
                    "{} adds {} lines; generated or vendored code should not be committed by hand",
                    f.path, f.additions
                ),
            ));
        }
        for h in &f.hunks {
            let mut line = h.new_start;
            for l in &h.lines {
                match l.as_bytes().first() {
                    Some(b'+') => {
                        if let Some(kind) = secret_kind(&l[1..]) {
                            out.push(check(
                                "secret",
                                Severity::Blocker,
                                true,
                                Some(&f.path),
                                Some(line),
                                format!("{}:{line} adds what looks like {kind}; remove it and rotate the credential", f.path),
                            ));
                        }
                        line += 1;
                    }
                    Some(b'-') | Some(b'\\') => {}
                    _ => line += 1,
                }
            }
        }
    }
    out
}
