//! The Reviewer: one tidy summary comment per pull request with a verdict per acceptance
//! criterion of the linked task. Deterministic checks always run first and can force
//! `request_changes`; the model (when configured) reviews a budgeted, prioritised diff; text in
//! the pull request is data, so it cannot talk the reviewer into approving, and `approve` needs
//! every changed file read by the model in full (or covered by a deterministic rule).

pub(crate) mod checks;
pub(crate) mod model;
pub(crate) mod render;
pub(crate) mod run;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::git::Diff;
use crate::llm::{CallRecord, Llm, LlmSettings, PromptLibrary, Route};
use crate::tasks::Task;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Approve,
    RequestChanges,
    Comment,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Approve => "approve",
            Verdict::RequestChanges => "request_changes",
            Verdict::Comment => "comment",
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Blocker,
    Major,
    Minor,
    Nit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CriterionStatus {
    Met,
    NotMet,
    Unclear,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CriterionResult {
    pub criterion: String,
    pub status: CriterionStatus,
    pub evidence: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    pub path: String,
    pub line: u64,
    pub severity: Severity,
    pub message: String,
}

/// A deterministic check's finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub severity: Severity,
    /// Forces the verdict to `request_changes`.
    pub forces_changes: bool,
    pub path: Option<String>,
    pub line: Option<u32>,
    pub message: String,
}

/// Per model call, for the report and `--json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Usage {
    pub model: String,
    pub prompt_tokens: u32,
    pub output_tokens: u32,
    pub seconds: f64,
    pub tokens_per_second: f64,
}

impl From<&CallRecord> for Usage {
    fn from(r: &CallRecord) -> Self {
        Usage {
            model: r.model.clone(),
            prompt_tokens: r.prompt_tokens,
            output_tokens: r.output_tokens,
            seconds: r.total_seconds,
            tokens_per_second: r.tokens_per_second,
        }
    }
}

/// A finished review.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewResult {
    pub verdict: Verdict,
    pub summary: String,
    pub task: Option<String>,
    pub criteria: Vec<CriterionResult>,
    /// Model findings that land on a line of the diff (eligible for inline comments).
    pub findings: Vec<Finding>,
    /// Model findings outside the diff's hunks: shown in the summary, never inline.
    pub general_findings: Vec<Finding>,
    pub deterministic: Vec<Check>,
    /// Files the model read in full (all files in a deterministic-only review).
    pub files_reviewed: Vec<String>,
    /// Files not read in full by the model, each once, with why; any of them caps the verdict
    /// at `comment`.
    pub files_clipped: Vec<String>,
    /// Files not read in full that a deterministic rule covers (lock and generated files).
    pub files_covered: Vec<String>,
    /// Parts of the model review that failed while others succeeded.
    pub model_failures: Vec<String>,
    /// Why the verdict differs from the model's, when it does.
    pub verdict_notes: Vec<String>,
    pub model: Option<String>,
    /// Why the model review did not happen or failed, when it did not.
    pub model_error: Option<String>,
    pub usage: Vec<Usage>,
    pub head_sha: Option<String>,
}

/// Everything one review needs, from wherever it was gathered.
pub struct ReviewInput<'a> {
    pub diff: &'a Diff,
    /// The base branch's configuration.
    pub config: &'a Config,
    pub pr_number: Option<u64>,
    pub title: &'a str,
    pub body: &'a str,
    pub task_id: Option<String>,
    pub task: Option<&'a Task>,
    pub repo: &'a str,
    pub head_sha: Option<String>,
}

/// The model side, when one is configured.
pub struct ModelSide<'a> {
    pub llm: &'a dyn Llm,
    pub route: Route,
    pub settings: &'a LlmSettings,
    pub library: &'a PromptLibrary,
}

/// Runs the checks, then the model when there is one, and settles the verdict (see
/// [`settle`]).
pub async fn review(input: &ReviewInput<'_>, model: Option<&ModelSide<'_>>) -> ReviewResult {
    let deterministic = checks::run(&checks::CheckInput {
        diff: input.diff,
        config: input.config,
        task_id: input.task_id.as_deref(),
        task: input.task,
    });
    let criteria_text: Vec<String> = input
        .task
        .map(|t| t.meta().acceptance.clone())
        .unwrap_or_default();
    let mut result = ReviewResult {
        verdict: Verdict::Comment,
        summary: String::new(),
        task: input.task_id.clone(),
        criteria: Vec::new(),
        findings: Vec::new(),
        general_findings: Vec::new(),
        deterministic,
        files_reviewed: Vec::new(),
        files_clipped: Vec::new(),
        files_covered: Vec::new(),
        model_failures: Vec::new(),
        verdict_notes: Vec::new(),
        model: model.and_then(|m| m.route.model.clone()),
        model_error: None,
        usage: Vec::new(),
        head_sha: input.head_sha.clone(),
    };
    let mut model_verdict = None;
    match model {
        None => {
            result.files_reviewed = input.diff.files.iter().map(|f| f.path.clone()).collect();
            result.summary = "Deterministic review only (no reviewer model configured).".into();
            result.criteria = criteria_text
                .iter()
                .map(|c| CriterionResult {
                    criterion: c.clone(),
                    status: CriterionStatus::Unclear,
                    evidence: "not judged: no model".into(),
                })
                .collect();
        }
        Some(m) => {
            let subject = model::Subject {
                pr_number: input.pr_number,
                title: input.title,
                body: input.body,
                task_title: input.task.map(|t| t.meta().title.as_str()),
                criteria: &criteria_text,
                repo: input.repo,
            };
            match model::review(m.llm, &m.route, m.settings, m.library, &subject, input.diff).await
            {
                Ok(r) => {
                    model_verdict = r.verdict;
                    result.summary = r.summary;
                    result.criteria = r.criteria;
                    result.files_reviewed = r.files_reviewed;
                    result.files_clipped = r.files_clipped;
                    result.files_covered = r.files_covered;
                    result.model_failures = r.failures;
                    for f in r.findings {
                        let on_diff = u32::try_from(f.line)
                            .ok()
                            .zip(input.diff.file(&f.path))
                            .is_some_and(|(line, file)| file.new_lines_in_hunks().contains(&line));
                        if on_diff {
                            result.findings.push(f);
                        } else {
                            result.general_findings.push(f);
                        }
                    }
                }
                Err(e) => {
                    result.model_error = Some(e.to_string());
                    result.summary =
                        "The model review failed; only the deterministic checks ran.".into();
                    result.files_clipped = input
                        .diff
                        .files
                        .iter()
                        .map(|f| format!("{} (not reviewed: the model review failed)", f.path))
                        .collect();
                }
            }
        }
    }
    settle(&mut result, model_verdict);
    result
}

/// The verdict, from the checks, the model's verdict and what the model read:
/// * a forcing check means `request_changes`, whatever the model said;
/// * without a model verdict it is `comment` (never `approve` unread);
/// * a model `approve` becomes `comment` when a criterion is not met, a finding is a blocker
///   or major, or a changed file was not read in full;
/// * a model `request_changes` becomes `comment` when every criterion is met and no finding is
///   a blocker or major (the model gave no reason for it).
///
/// Each change from the model's verdict is explained in `verdict_notes`.
pub fn settle(result: &mut ReviewResult, model_verdict: Option<Verdict>) {
    let forced = result.deterministic.iter().any(|c| c.forces_changes);
    let unmet = result
        .criteria
        .iter()
        .any(|c| c.status == CriterionStatus::NotMet);
    let all_met = result
        .criteria
        .iter()
        .all(|c| c.status == CriterionStatus::Met);
    let serious = result
        .findings
        .iter()
        .chain(&result.general_findings)
        .any(|f| f.severity <= Severity::Major);
    let unread = result.files_clipped.len();
    let mut note = |n: String| result.verdict_notes.push(n);
    result.verdict = match model_verdict {
        _ if forced => Verdict::RequestChanges,
        None => Verdict::Comment,
        Some(Verdict::Approve) if unmet => {
            note(
                "The model approved, but an acceptance criterion is not met: this is a comment."
                    .into(),
            );
            Verdict::Comment
        }
        Some(Verdict::Approve) if serious => {
            note(
                "The model approved, but reported a blocker or major finding: this is a comment."
                    .into(),
            );
            Verdict::Comment
        }
        Some(Verdict::Approve) if unread > 0 => {
            note(format!(
                "The model approved, but did not read every changed file in full ({unread} not, listed below): this is a comment."
            ));
            Verdict::Comment
        }
        Some(Verdict::RequestChanges) if all_met && !serious => {
            note("The model asked for changes, but every acceptance criterion is met and it reported no blocker or major finding: this is a comment.".into());
            Verdict::Comment
        }
        Some(v) => v,
    };
}
