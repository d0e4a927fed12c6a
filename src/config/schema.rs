//! The shape of `.llm-team.yml`: the seed's keys (project, workflow, roles, tasks, checks) plus
//! ours (mode, per-role models, llm, review, developer). Every field has a built-in default, so an
//! empty or missing file is a valid configuration.

use serde::{Deserialize, Serialize};

use super::secret::Secret;
use crate::roles::Role;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LlmApi {
    /// Ollama's native `/api/chat` (controls `num_ctx`).
    #[default]
    Ollama,
    /// `/v1/chat/completions` (LiteLLM, vLLM, llama.cpp): second-class, no context control.
    Openai,
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
    pub llm: Llm,
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

/// The seed's model picks and temperatures: code roles cool (≤ 0.2), the planner warmer (≈ 0.5).
pub fn default_model(role: Role) -> (&'static str, f32) {
    match role {
        Role::Planner => ("qwen3:32b", 0.5),
        Role::Taskmaster => ("qwen3:32b", 0.3),
        Role::Developer => ("qwen3-coder:latest", 0.2),
        Role::Reviewer => ("qwen3:32b", 0.2),
        Role::Integrator => ("none", 0.0),
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Llm {
    pub base_url: String,
    pub api: LlmApi,
    pub boost_model: String,
    /// A small model for tiny steps.
    pub fallback_model: Option<String>,
    /// Context window to request; unset means the model's own length, capped at 32768.
    pub num_ctx: Option<u32>,
    pub keep_alive: String,
    pub connect_timeout_secs: u64,
    /// Until the first streamed byte: covers loading a cold model.
    pub first_byte_timeout_secs: u64,
    /// Longest silence between streamed chunks.
    pub idle_timeout_secs: u64,
    /// First-byte timeout for boost runs (a 120B model can take minutes to load).
    pub boost_first_byte_timeout_secs: u64,
    pub max_retries: u32,
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
}

/// GitHub connection settings; from the environment only (`GITHUB_API_URL`, `GH_TOKEN`/`GITHUB_TOKEN`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GitHub {
    pub api_url: String,
    pub token: Option<Secret>,
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
            llm: Llm::default(),
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

impl Default for Llm {
    fn default() -> Self {
        Llm {
            base_url: "http://localhost:11434".into(),
            api: LlmApi::Ollama,
            boost_model: "gpt-oss:120b".into(),
            fallback_model: Some("llama3.2:latest".into()),
            num_ctx: None,
            keep_alive: "30m".into(),
            connect_timeout_secs: 10,
            first_byte_timeout_secs: 300,
            idle_timeout_secs: 120,
            boost_first_byte_timeout_secs: 900,
            max_retries: 3,
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
        }
    }
}

impl Default for GitHub {
    fn default() -> Self {
        GitHub {
            api_url: "https://api.github.com".into(),
            token: None,
        }
    }
}
