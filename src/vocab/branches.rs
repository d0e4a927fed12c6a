//! The team's own branch names and comment markers: what each role writes, so the publisher's
//! rules, the integrator's bookkeeping check and id allocation agree without importing a role.

/// The integrator's branches (the only pull requests it may merge): `integrate/T-XXXX`.
pub const INTEGRATE_PREFIX: &str = "integrate/";
/// The taskmaster's branches.
pub const TASKMASTER_PREFIX: &str = "taskmaster/";
/// The branches the CI seed's pull request comes from: `taskmaster/seed-T-0001`.
pub const SEED_PREFIX: &str = "taskmaster/seed-";

/// The seed branch for task `id` (`impl Display`: a task id).
pub fn seed_branch(id: impl std::fmt::Display) -> String {
    format!("{SEED_PREFIX}{id}")
}
/// The planner's branches: `plan/<prd-hash>`.
pub const PLAN_PREFIX: &str = "plan/";
/// Every marker the team puts in its comments and reviews starts with this.
pub const MARKER_PREFIX: &str = "<!-- codex-orchestrator:";

/// The hidden marker that identifies our comment for a role: `<!-- codex-orchestrator:reviewer -->`.
pub fn marker(role: &str) -> String {
    format!("{MARKER_PREFIX}{role} -->")
}
