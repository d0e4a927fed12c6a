//! The Taskmaster's decisions, kept pure: given the loaded tasks and what the repository looks
//! like, it validates, decides whether to seed the first task (CI setup) and picks the next task.
//! The run (`super::run`) turns the decision into a change set.

use std::collections::BTreeMap;

use crate::tasks::Skipped;
use crate::tasks::estimate::is_larger_than_a_day;
use crate::tasks::next::{Blocked, NextTask};
use crate::tasks::{Diagnostic, Priority, TaskId, TaskMeta, TaskSet, render_task};

/// The id the seed task gets when it is free everywhere (see `crate::tasks::Reservations::seed_id`).
pub const SEED_ID: TaskId = TaskId(1);
/// The branch the seed pull request for task `id` comes from (never the default branch).
pub use crate::vocab::branches::seed_branch;

/// The file the seed task `id` is written to, inside the tasks directory.
pub fn seed_file_name(id: TaskId) -> String {
    format!("{id}-ci-setup.md")
}

pub use crate::vocab::language::Language;

/// What the Taskmaster looks at.
#[derive(Clone, Debug)]
pub struct TaskmasterInput<'a> {
    /// The tasks on the default branch, with their diagnostics.
    pub tasks: &'a TaskSet,
    /// The tasks directory relative to the repository (usually `tasks`).
    pub tasks_dir: &'a str,
    /// The repository's language.
    pub language: Language,
    /// The configured task states (`.llm-team.yml` `tasks.states`).
    pub states: &'a [String],
    /// The seed's pull request, when one was closed without merging: a person turned the seed
    /// down, so it is not proposed again.
    pub seed_declined: Option<u64>,
    /// The id the seed takes: `T-0001` when it is free on the default branch, every proposing
    /// branch and every open pull request, else the next free id.
    pub seed_id: TaskId,
}

/// A task file to create, and the pull request that carries it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SeedTask {
    pub id: TaskId,
    /// Repository-relative path, e.g. `tasks/T-0001-ci-setup.md`.
    pub path: String,
    /// The exact file contents.
    pub contents: String,
    /// The branch to commit on (never the default branch).
    pub branch: String,
    pub commit_message: String,
    pub pr_title: String,
    pub pr_body: String,
}

/// The next task, owned (so the plan does not borrow the task set).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NextChoice {
    Ready {
        id: TaskId,
        title: String,
        path: String,
        priority: String,
    },
    Nothing {
        reason: String,
        blocked: Vec<Blocked>,
    },
}

/// Everything the Taskmaster decided; the caller performs the writes and outputs.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TaskmasterPlan {
    /// Validation findings (for annotations).
    pub diagnostics: Vec<Diagnostic>,
    /// The seed to propose, if one is needed.
    pub seed: Option<SeedTask>,
    /// Why no seed is proposed (when `seed` is `None`).
    pub no_seed_reason: Option<String>,
    /// The next task among the existing tasks (the seed counts only once merged).
    pub next: NextChoice,
    /// Tasks not yet done whose estimate is more than one day: candidates for splitting.
    pub too_large: Vec<TaskId>,
    /// Step outputs: `task-id` (the next task, or empty) and `seeded-task-id` (or empty).
    pub outputs: BTreeMap<String, String>,
    /// Markdown for the step summary.
    pub summary_markdown: String,
    /// Task files skipped as the next task because they have errors.
    pub skipped: Vec<Skipped>,
    /// Error diagnostics in the task set: the Taskmaster then fails its run (after proposing
    /// what it could), so a broken task set never goes unnoticed.
    pub errors: usize,
}

fn is_ci_title(title: &str) -> bool {
    let lower = title.to_lowercase();
    lower.contains("continuous integration")
        || lower
            .split(|c: char| !c.is_alphanumeric())
            .any(|w| w == "ci")
}

/// Why the seed must not be created, or `None` when it should be.
fn seed_blocker(input: &TaskmasterInput) -> Option<String> {
    let set = input.tasks;
    if let Some(f) = set.files.iter().find(|f| {
        f.rsplit('/')
            .next()
            .is_some_and(|n| n.ends_with("-ci-setup.md"))
    }) && !set.tasks.iter().any(|t| t.path() == f.as_str())
    {
        return Some(format!(
            "{f} exists (it does not load; see the validation errors)"
        ));
    }
    if let Some(t) = set.tasks.iter().find(|t| is_ci_title(&t.meta().title)) {
        return Some(format!(
            "{} ({}) is already a CI task",
            t.id(),
            t.meta().title
        ));
    }
    let queued = set
        .tasks
        .iter()
        .filter(|t| t.status() == crate::tasks::QUEUED)
        .count();
    if queued > 0 {
        return Some(format!("{queued} tasks are queued"));
    }
    if let Some(n) = input.seed_declined {
        return Some(format!(
            "the seed pull request #{n} was closed without merging (reopen it to queue the seed, or add a task yourself)"
        ));
    }
    None
}

/// The seed task for a repository in `language`: deterministic text, checkable criteria.
pub fn seed_task(language: Language, tasks_dir: &str, states: &[String], id: TaskId) -> SeedTask {
    let title = format!("Initialize basic CI for {}", language.name());
    let mut meta = TaskMeta::new(id, title.clone());
    meta.task_type = Some("chore".into());
    meta.priority = Priority::P0;
    if !states.iter().any(|s| s == crate::tasks::QUEUED)
        && let Some(first) = states.first()
    {
        meta.status = first.clone();
    }
    meta.acceptance = vec![
        "A workflow file under .github/workflows/ runs on every push to the default branch and on every pull request".into(),
        language.test_criterion().into(),
        "The workflow run is green on the pull request that adds it".into(),
        "The README says how to run the same checks locally".into(),
    ];
    meta.files = vec![".github/workflows/ci.yml".into()];
    meta.out_of_scope = vec!["Deployment, releases and coverage thresholds".into()];
    let body = format!(
        "\n## Why\n\nEvery later task is checked by CI, so CI comes first. This task was seeded by the\nTaskmaster because the repository had no queued task and no CI task.\n\n## Notes\n\n- Detected language: {}.\n- Keep the workflow small and fast; later tasks extend it.\n",
        language.name()
    );
    let dir = tasks_dir.trim_end_matches('/');
    let path = format!("{dir}/{}", seed_file_name(id));
    SeedTask {
        id,
        contents: render_task(&meta, &body),
        branch: seed_branch(id),
        commit_message: format!("tasks: seed {id} {title}"),
        pr_title: format!("Seed {id}: {title}"),
        pr_body: format!(
            "The Taskmaster found no queued task and no CI task, so it proposes the first task, `{path}`.\n\nMerge this pull request to queue it."
        ),
        path,
    }
}

/// Decides what the Taskmaster does for `input`.
pub fn plan(input: &TaskmasterInput) -> TaskmasterPlan {
    let set = input.tasks;
    let diagnostics = set.diagnostics.clone();
    let blocker = seed_blocker(input);
    let seed = blocker
        .is_none()
        .then(|| seed_task(input.language, input.tasks_dir, input.states, input.seed_id));
    let pick = set.next_task();
    let next = match pick.next {
        NextTask::Ready { task, .. } => NextChoice::Ready {
            id: task.id(),
            title: task.meta().title.clone(),
            path: task.path().to_string(),
            priority: task.meta().priority.to_string(),
        },
        NextTask::Nothing { reason, blocked } => NextChoice::Nothing { reason, blocked },
    };
    let mut outputs = BTreeMap::new();
    outputs.insert(
        "task-id".to_string(),
        match &next {
            NextChoice::Ready { id, .. } => id.to_string(),
            NextChoice::Nothing { .. } => String::new(),
        },
    );
    outputs.insert(
        "seeded-task-id".to_string(),
        seed.as_ref().map(|s| s.id.to_string()).unwrap_or_default(),
    );
    let too_large: Vec<TaskId> = set
        .tasks
        .iter()
        .filter(|t| t.status() != crate::tasks::DONE)
        .filter(|t| {
            t.meta()
                .estimate
                .as_deref()
                .is_some_and(is_larger_than_a_day)
        })
        .map(|t| t.id())
        .collect();
    let mut summary_markdown = summary(
        input,
        &diagnostics,
        seed.as_ref(),
        blocker.as_deref(),
        &next,
        &too_large,
    );
    if !pick.skipped.is_empty() {
        summary_markdown.push_str(
            "\n**Not eligible** (the task file has errors; fix them to queue the task):\n",
        );
        for s in &pick.skipped {
            summary_markdown.push_str(&format!("- {}\n", s.describe()));
        }
    }
    TaskmasterPlan {
        diagnostics,
        seed,
        no_seed_reason: blocker,
        next,
        too_large,
        outputs,
        summary_markdown,
        skipped: pick.skipped.clone(),
        errors: pick.errors,
    }
}

/// Largest number of diagnostics listed in the summary (all of them go to annotations).
const SUMMARY_DIAGNOSTICS: usize = 20;

fn summary(
    input: &TaskmasterInput,
    diagnostics: &[Diagnostic],
    seed: Option<&SeedTask>,
    blocker: Option<&str>,
    next: &NextChoice,
    too_large: &[TaskId],
) -> String {
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    let mut s = String::from("## Taskmaster\n\n");
    s.push_str(&format!(
        "**Validation:** {errors} errors, {warnings} warnings in {} task files.\n",
        input.tasks.files.len()
    ));
    for d in diagnostics.iter().take(SUMMARY_DIAGNOSTICS) {
        let at = d.line.map(|l| format!(":{l}")).unwrap_or_default();
        s.push_str(&format!(
            "- {} `{}{}`: {}\n",
            d.severity.as_str(),
            d.path,
            at,
            d.message
        ));
    }
    if diagnostics.len() > SUMMARY_DIAGNOSTICS {
        s.push_str(&format!(
            "- … and {} more\n",
            diagnostics.len() - SUMMARY_DIAGNOSTICS
        ));
    }
    s.push('\n');
    match (seed, blocker) {
        (Some(seed), _) => {
            s.push_str(&format!(
                "**Seed:** proposes a pull request from `{}` adding `{}` ({}).\n\n",
                seed.branch, seed.path, seed.pr_title
            ));
        }
        (None, Some(reason)) => s.push_str(&format!("**Seed:** none needed: {reason}.\n\n")),
        (None, None) => {}
    }
    match next {
        NextChoice::Ready {
            id,
            title,
            path,
            priority,
        } => {
            s.push_str(&format!(
                "**Next task:** `{id}` {title} ({priority}) — `{path}`\n"
            ));
        }
        NextChoice::Nothing { reason, blocked } => {
            s.push_str(&format!("**Next task:** none — {reason}.\n"));
            for b in blocked {
                s.push_str(&format!("- {}\n", b.describe()));
            }
        }
    }
    if !too_large.is_empty() {
        let ids: Vec<String> = too_large.iter().map(|i| format!("`{i}`")).collect();
        s.push_str(&format!(
            "\n**Larger than a day (consider splitting):** {}\n",
            ids.join(", ")
        ));
    }
    s
}
