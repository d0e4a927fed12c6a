//! The routing table: which role an event calls for, or why it is ignored or refused.
//! Pure: no network, no files. `route` on the CLI prints exactly this decision.

use serde::{Serialize, Serializer};
use serde_json::Value;

use super::command::{self, Parsed};
use super::payload::{Event, Payload};
use crate::config::{Config, Mode, TaskFate};
use crate::vocab::Role;

/// What to do with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Run,
    Ignore,
    Refuse,
}

/// The router's answer. Serialized as the `route --json` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Routing {
    pub decision: Decision,
    #[serde(serialize_with = "role_or_none")]
    pub role: Option<Role>,
    pub reason: String,
    pub pr: Option<u64>,
    pub task: Option<String>,
    pub boost: bool,
    /// For the integrator: whether the closed PR was merged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged: Option<bool>,
    /// Roles to run after `role` in the same job (schedule with `workflow.auto_develop`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub then: Vec<Role>,
}

fn role_or_none<S: Serializer>(role: &Option<Role>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(role.map_or("none", Role::as_str))
}

impl Routing {
    fn new(decision: Decision, role: Option<Role>, reason: impl Into<String>) -> Self {
        Routing {
            decision,
            role,
            reason: reason.into(),
            pr: None,
            task: None,
            boost: false,
            merged: None,
            then: Vec::new(),
        }
    }

    pub fn run(role: Role, reason: impl Into<String>) -> Self {
        Routing::new(Decision::Run, Some(role), reason)
    }

    pub fn ignore(reason: impl Into<String>) -> Self {
        Routing::new(Decision::Ignore, None, reason)
    }

    pub fn refuse(reason: impl Into<String>) -> Self {
        Routing::new(Decision::Refuse, None, reason)
    }

    fn with_pr(mut self, pr: Option<u64>) -> Self {
        self.pr = pr;
        self
    }

    /// The process exit code for this decision: 0 run/ignore, 2 refuse.
    pub fn exit_code(&self) -> u8 {
        if self.decision == Decision::Refuse {
            2
        } else {
            0
        }
    }
}

/// The settings routing depends on, taken from the effective configuration.
#[derive(Debug, Clone)]
pub struct RouteSettings {
    pub mode: Mode,
    pub enabled: Vec<Role>,
    pub review_drafts: bool,
    /// The developer runs right after the taskmaster in the same job (`workflow.auto_develop`,
    /// unless `workflow.developer_workflow` hands the task to its own workflow instead).
    pub auto_develop: bool,
    pub default_branch: Option<String>,
    pub prd_path: String,
    pub on_closed_unmerged: TaskFate,
}

impl RouteSettings {
    pub fn from_config(config: &Config) -> Self {
        RouteSettings {
            mode: config.mode,
            enabled: Role::ALL
                .into_iter()
                .filter(|r| config.roles.get(*r).enabled)
                .collect(),
            review_drafts: config.review.drafts,
            auto_develop: config.workflow.auto_develop
                && config.workflow.developer_workflow.is_none(),
            default_branch: config.project.default_branch.clone(),
            prd_path: config.project.prd_path.clone(),
            on_closed_unmerged: config.workflow.on_closed_unmerged,
        }
    }
}

impl Default for RouteSettings {
    fn default() -> Self {
        RouteSettings::from_config(&Config::default())
    }
}

/// Comment authors allowed to command the team.
const TRUSTED_ASSOCIATIONS: [&str; 3] = ["OWNER", "MEMBER", "COLLABORATOR"];

/// Routes an event. Refusals come first (fail closed), then the table, then configuration
/// (mode, disabled roles), which can only turn a `run` into an `ignore`.
pub fn route(event: &Event, settings: &RouteSettings) -> Routing {
    let routing = table(event, settings);
    if routing.decision != Decision::Run {
        return routing;
    }
    apply_settings(routing, settings)
}

/// Applies `mode` and `roles.<role>.enabled`: the role is still named, so outputs say which
/// role the event called for, but nothing runs.
pub fn apply_settings(mut routing: Routing, settings: &RouteSettings) -> Routing {
    let Some(role) = routing.role else {
        return routing;
    };
    // The taskmaster named by the workflow (its `role:` input) hands over like a scheduled one.
    if role == Role::Taskmaster && settings.auto_develop && !routing.then.contains(&Role::Developer)
    {
        routing.then.push(Role::Developer);
    }
    if settings.mode == Mode::Disabled {
        routing.decision = Decision::Ignore;
        routing.reason = format!("mode is disabled: {role} not run ({})", routing.reason);
    } else if !settings.enabled.contains(&role) {
        routing.decision = Decision::Ignore;
        routing.reason = format!(
            "roles.{role}.enabled is false in .llm-team.yml: {role} not run ({})",
            routing.reason
        );
    }
    routing.then.retain(|r| settings.enabled.contains(r));
    routing
}

fn table(event: &Event, settings: &RouteSettings) -> Routing {
    let name = event.name.as_str();
    match (&event.payload, name) {
        (_, "pull_request_target") => Routing::refuse(
            "pull_request_target runs with a write token next to untrusted pull request code; \
             codex-orchestrator refuses it. Trigger the workflow with `on: pull_request` instead",
        ),
        (_, "workflow_run") => Routing::refuse(
            "workflow_run runs with a write token on the results of untrusted pull request runs; \
             codex-orchestrator refuses it. Use `pull_request`, `schedule` or `workflow_dispatch`",
        ),
        (Payload::PullRequest(e), _) => pull_request(e, settings),
        (Payload::IssueComment(e), _) => issue_comment(e),
        (Payload::Push(e), _) => push(e, event, settings),
        (Payload::WorkflowDispatch(e), _) => workflow_dispatch(e),
        (Payload::Schedule { cron }, _) => {
            let mut r = Routing::run(
                Role::Taskmaster,
                format!("schedule {}", cron.as_deref().unwrap_or(""))
                    .trim_end()
                    .to_string(),
            );
            if settings.auto_develop {
                r.then.push(Role::Developer);
            }
            r
        }
        (Payload::Other { action }, _) => ignored(name, action.as_deref()),
    }
}

fn ignored(name: &str, action: Option<&str>) -> Routing {
    match action {
        Some(a) => Routing::ignore(format!("ignored: {name}/{a}")),
        None => Routing::ignore(format!("ignored: {name}")),
    }
}

fn pull_request(e: &super::payload::PullRequestEvent, s: &RouteSettings) -> Routing {
    let pr = &e.pull_request;
    let number = e.number.unwrap_or(pr.number);
    let r = match e.action.as_str() {
        "opened" | "synchronize" | "reopened" | "ready_for_review" => {
            if pr.draft == Some(true) && !s.review_drafts {
                Routing::ignore(format!(
                    "ignored: pull_request/{}: PR #{number} is a draft (set review.drafts: true to review drafts)",
                    e.action
                ))
            } else {
                Routing::run(
                    Role::Reviewer,
                    format!("pull_request/{} on PR #{number}", e.action),
                )
            }
        }
        "closed" => {
            let merged = pr.merged == Some(true);
            let mut r = if merged {
                Routing::run(
                    Role::Integrator,
                    format!("PR #{number} was merged: its task becomes done"),
                )
            } else {
                let fate = match s.on_closed_unmerged {
                    TaskFate::Queued => "queued",
                    TaskFate::Blocked => "blocked",
                };
                Routing::run(
                    Role::Integrator,
                    format!(
                        "PR #{number} was closed without merging: its task goes back to {fate}"
                    ),
                )
            };
            r.merged = Some(merged);
            r
        }
        other => ignored("pull_request", Some(other)),
    };
    r.with_pr(Some(number))
}

fn issue_comment(e: &super::payload::IssueCommentEvent) -> Routing {
    if e.action != "created" {
        return ignored("issue_comment", Some(&e.action));
    }
    let body = e.comment.body.as_deref().unwrap_or("");
    let command = match command::parse(body) {
        Parsed::NotACommand => {
            return Routing::ignore("ignored: issue_comment/created: not a /codex command");
        }
        Parsed::Invalid(why) => return Routing::ignore(format!("ignored: {why}")),
        Parsed::Command(c) => c,
    };
    if e.issue.pull_request.is_none() {
        return Routing::ignore(format!(
            "ignored: /codex commands are read on pull requests only, and #{} is an issue",
            e.issue.number
        ));
    }
    let user = e.comment.user.as_ref();
    if user.and_then(|u| u.kind.as_deref()) == Some("Bot") {
        return Routing::ignore("ignored: /codex command from a bot account");
    }
    let association = e.comment.author_association.as_deref().unwrap_or("NONE");
    if !TRUSTED_ASSOCIATIONS.contains(&association) {
        return Routing::ignore(format!(
            "ignored: /codex command from {} ({association}); only owners, members and collaborators can command the team",
            user.map_or("an unknown user", |u| u.login.as_str())
        ));
    }
    let mut r = Routing::run(
        command.role,
        format!(
            "/codex {} by {} on PR #{}",
            command.role.command(),
            user.map_or("?", |u| u.login.as_str()),
            e.issue.number
        ),
    )
    .with_pr(Some(e.issue.number));
    r.task = command.task;
    r.boost = command.boost;
    r
}

fn push(e: &super::payload::PushEvent, event: &Event, s: &RouteSettings) -> Routing {
    let Some(branch) = e.git_ref.strip_prefix("refs/heads/") else {
        return Routing::ignore(format!("ignored: push to {} (not a branch)", e.git_ref));
    };
    let default = s.default_branch.clone().or_else(|| {
        event
            .repository
            .as_ref()
            .and_then(|r| r.default_branch.clone())
    });
    let Some(default) = default else {
        return Routing::ignore(format!(
            "ignored: push to {branch}: the default branch is unknown (set project.default_branch or DEFAULT_BRANCH)"
        ));
    };
    if branch != default {
        return Routing::ignore(format!(
            "ignored: push to {branch}, not the default branch {default}"
        ));
    }
    if e.deleted {
        return Routing::ignore(format!("ignored: push deleting {branch}"));
    }
    let touches = |c: &super::payload::PushCommit| {
        c.added.iter().chain(&c.modified).any(|p| *p == s.prd_path)
    };
    if e.commits.iter().chain(e.head_commit.as_ref()).any(touches) {
        Routing::run(
            Role::Planner,
            format!("push to {default} changed {}", s.prd_path),
        )
    } else {
        Routing::ignore(format!(
            "ignored: push to {default} does not change {}",
            s.prd_path
        ))
    }
}

/// A `workflow_dispatch` input as text: inputs arrive as strings, booleans or numbers.
fn input(e: &super::payload::WorkflowDispatchEvent, key: &str) -> Option<String> {
    let value = e.inputs.as_ref()?.get(key)?;
    let text = match value {
        Value::String(s) => s.trim().to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!text.is_empty()).then_some(text)
}

fn workflow_dispatch(e: &super::payload::WorkflowDispatchEvent) -> Routing {
    let role = match input(e, "role").as_deref() {
        None | Some("auto") => Role::Taskmaster,
        Some(name) => match name.parse::<Role>() {
            Ok(role) => role,
            Err(err) => return Routing::refuse(format!("workflow_dispatch input role: {err}")),
        },
    };
    let pr = match input(e, "pr") {
        None => None,
        Some(text) => match text.trim_start_matches('#').parse::<u64>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                return Routing::refuse(format!(
                    "workflow_dispatch input pr must be a pull request number, got {text:?}"
                ));
            }
        },
    };
    let task = match input(e, "task") {
        None => None,
        Some(t) if command::is_task_id(&t) => Some(t.to_ascii_uppercase()),
        Some(t) => {
            return Routing::refuse(format!(
                "workflow_dispatch input task must be a task id like T-0003, got {t:?}"
            ));
        }
    };
    let boost = match input(e, "boost").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Routing::refuse(format!(
                "workflow_dispatch input boost must be true or false, got {other:?}"
            ));
        }
    };
    let mut r = Routing::run(role, format!("workflow_dispatch asked for {role}")).with_pr(pr);
    r.task = task;
    r.boost = boost;
    r
}
