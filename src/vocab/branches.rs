//! The team's own branch names and comment markers: what each role writes, so the publisher's
//! rules, the integrator's bookkeeping check and id allocation agree without importing a role.

/// The integrator's branches (the only pull requests it may merge): `integrate/T-XXXX`.
pub const INTEGRATE_PREFIX: &str = "integrate/";
/// The taskmaster's branches.
pub const TASKMASTER_PREFIX: &str = "taskmaster/";
/// The branch the CI seed's pull request comes from.
pub const SEED_BRANCH: &str = "taskmaster/seed-T-0001";
/// The planner's branches: `plan/<prd-hash>`.
pub const PLAN_PREFIX: &str = "plan/";
/// Every marker the team puts in its comments and reviews starts with this.
pub const MARKER_PREFIX: &str = "<!-- codex-orchestrator:";

/// The hidden marker that identifies our comment for a role: `<!-- codex-orchestrator:reviewer -->`.
pub fn marker(role: &str) -> String {
    format!("{MARKER_PREFIX}{role} -->")
}
