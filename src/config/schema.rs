//! The shape of `.llm-team.yml`: the seed's keys (project, workflow, roles, tasks, checks) plus
//! ours (mode, per-role models, llm, review, developer). Every field has a built-in default, so an
//! empty or missing file is a valid configuration.

use serde::{Deserialize, Serialize};

use super::secret::Secret;
use crate::vocab::Role;

/// `observe` prints what would be written, `pr` writes through pull requests, `disabled` does nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Observe,
    #[default]
    Pr,
    Disabled,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Observe => "observe",
            Mode::Pr => "pr",
            Mode::Disabled => "disabled",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MergeStrategy {
    Merge,
    #[default]
    Squash,
    Rebase,
}

/// Where a task goes when its pull request is closed without merging.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskFate {
    #[default]
    Queued,
    Blocked,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    pub project: Project,
    pub mode: Mode,
    pub workflow: Workflow,
    pub roles: Roles,
    pub tasks: Tasks,
    pub checks: Checks,
    pub llm: crate::llm::LlmSettings,
    pub review: Review,
    pub developer: Developer,
    /// Filled from the environment only; never read from the file.
    #[serde(skip_deserializing)]
    pub github: GitHub,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Project {
    pub name: String,
    /// Paths (globs; a trailing `/` means the whole folder) no agent may change.
    pub protected_paths: Vec<String>,
    /// The branch agents never write to; read from the repository when unset.
    pub default_branch: Option<String>,
    /// The product document the planner reads.
    pub prd_path: String,
    /// Let the team change its own files (`.llm-team.yml`, `.llm-team/`, the workflow files
    /// that run it). Off by default; turning it on takes a maintainer's commit on the default
    /// branch, since the configuration is always read from there.
    pub allow_self_edits: bool,
    /// The configuration file in use, relative to the repository (set by the loader, never read
    /// from the file): it is one of the team's own files.
    #[serde(skip)]
    pub config_file: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Workflow {
    pub branch_prefix: String,
    pub merge_strategy: MergeStrategy,
    pub dry_run: bool,
    /// On `schedule`, let the developer take the next task after the taskmaster.
    pub auto_develop: bool,
    /// Branch globs agents must never write to, besides the default branch.
    pub protected_branches: Vec<String>,
    pub on_closed_unmerged: TaskFate,
    /// The workflow file the Taskmaster dispatches to start the Developer on the task it picked
    /// (`workflow_dispatch` with inputs `role`, `task`). Unset: no hand-off.
    pub developer_workflow: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RoleSettings {
    pub enabled: bool,
    /// An Ollama model name, or `none` for the deterministic path. Unset: the role's default.
    pub model: Option<String>,
    pub temperature: Option<f32>,
}

impl Default for RoleSettings {
    fn default() -> Self {
        RoleSettings {
            enabled: true,
            model: None,
            temperature: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Roles {
    pub planner: RoleSettings,
    pub taskmaster: RoleSettings,
    pub developer: RoleSettings,
    pub reviewer: RoleSettings,
    pub integrator: RoleSettings,
}

impl Roles {
    pub fn get(&self, role: Role) -> &RoleSettings {
        match role {
            Role::Planner => &self.planner,
            Role::Taskmaster => &self.taskmaster,
            Role::Developer => &self.developer,
            Role::Reviewer => &self.reviewer,
            Role::Integrator => &self.integrator,
        }
    }

    pub fn get_mut(&mut self, role: Role) -> &mut RoleSettings {
        match role {
            Role::Planner => &mut self.planner,
            Role::Taskmaster => &mut self.taskmaster,
            Role::Developer => &mut self.developer,
            Role::Reviewer => &mut self.reviewer,
            Role::Integrator => &mut self.integrator,
        }
    }
}

impl Config {
    /// The per-role model routing the LLM port uses, from the (defaults-filled) role settings.
    pub fn model_routing(&self) -> crate::llm::ModelRouting {
        let roles = Role::ALL
            .into_iter()
            .map(|role| {
                let s = self.roles.get(role);
                let default = crate::llm::ModelRouting::default_for(role);
                let model = s.model.clone().unwrap_or(default.model);
                (
                    role,
                    crate::llm::RoleModel::new(
                        &model,
                        s.temperature.unwrap_or(default.temperature),
                    ),
                )
            })
            .collect();
        let named = |m: &str| (!m.is_empty() && m != crate::llm::NO_MODEL).then(|| m.to_string());
        crate::llm::ModelRouting {
            roles,
            boost_model: named(&self.llm.boost_model),
            fallback_model: self.llm.fallback_model.as_deref().and_then(named),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Tasks {
    pub dir: String,
    pub states: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Checks {
    pub require_tests: bool,
    pub coverage_min: f64,
    /// The repository's test command; detected from the language when unset.
    pub test_command: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Review {
    /// Review draft pull requests too.
    pub drafts: bool,
    /// Post findings as inline review comments.
    pub inline: bool,
    /// Submit the verdict as a pull request review (never APPROVE without a model).
    pub submit_review: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Developer {
    /// Test-and-fix rounds after the first edit.
    pub max_rounds: u32,
    /// Run the reviewer in the same job after opening the PR.
    pub chain_review: bool,
    /// Workflow file dispatched to hand the new PR to the reviewer.
    pub review_workflow: Option<String>,
    pub test_timeout_secs: u64,
    /// Let the CI-setup task write `.github/workflows/ci.yml` although `.github/` is protected
    /// (needs a token with the `workflows` permission).
    pub allow_workflow_setup: bool,
    /// A branch claim by another run younger than this stops a second run; older ones are
    /// taken over (the run that made them is presumed dead).
    pub claim_ttl_minutes: u64,
    /// The largest file a model edit may write.
    pub max_file_bytes: u64,
    /// The most a whole change may add, over all files.
    pub max_change_bytes: u64,
    /// The most files one change may touch.
    pub max_files: usize,
}

/// GitHub connection settings; from the environment only (`GITHUB_API_URL`, `GH_TOKEN`/`GITHUB_TOKEN`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GitHub {
    pub api_url: String,
    pub token: Option<Secret>,
    /// The login the token acts as (`CODEX_BOT_LOGIN`), when GitHub cannot be asked.
    pub login: Option<String>,
    /// The longest the run waits for a rate limit (`Retry-After` or the budget reset), in
    /// seconds (`CODEX_GITHUB_MAX_WAIT`); a longer wait stops the run with a message naming it.
    pub max_wait_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            project: Project::default(),
            mode: Mode::Pr,
            workflow: Workflow::default(),
            roles: Roles::default(),
            tasks: Tasks::default(),
            checks: Checks::default(),
            llm: crate::llm::LlmSettings::default(),
            review: Review::default(),
            developer: Developer::default(),
            github: GitHub::default(),
        }
    }
}

impl Default for Project {
    fn default() -> Self {
        Project {
            name: String::new(),
            protected_paths: vec![".github/".into(), "infra/".into(), "secrets/".into()],
            default_branch: None,
            prd_path: "docs/PRD.md".into(),
            allow_self_edits: false,
            config_file: None,
        }
    }
}

impl Default for Workflow {
    fn default() -> Self {
        Workflow {
            branch_prefix: "feature/".into(),
            merge_strategy: MergeStrategy::Squash,
            dry_run: false,
            auto_develop: false,
            protected_branches: Vec::new(),
            on_closed_unmerged: TaskFate::Queued,
            developer_workflow: None,
        }
    }
}

impl Default for Tasks {
    fn default() -> Self {
        Tasks {
            dir: "tasks".into(),
            states: [
                "queued",
                "in_review",
                "ready_for_integration",
                "done",
                "blocked",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

impl Default for Checks {
    fn default() -> Self {
        Checks {
            require_tests: true,
            coverage_min: 0.0,
            test_command: None,
        }
    }
}

impl Default for Developer {
    fn default() -> Self {
        Developer {
            max_rounds: 3,
            chain_review: false,
            review_workflow: None,
            test_timeout_secs: 600,
            allow_workflow_setup: false,
            claim_ttl_minutes: 120,
            max_file_bytes: 1024 * 1024,
            max_change_bytes: 4 * 1024 * 1024,
            max_files: 40,
        }
    }
}

impl Default for GitHub {
    fn default() -> Self {
        GitHub {
            api_url: "https://api.github.com".into(),
            token: None,
            login: None,
            max_wait_secs: 300,
        }
    }
}
