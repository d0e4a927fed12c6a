//! What each role may publish, decided by the role the publisher was started for (never by the
//! change set's own word): its own branch prefix, the files it may change, the workflows it may
//! hand off to, and whether it comments, reviews or merges at all.

use crate::changes::{ChangeSet, Target, Write};
use crate::config::Config;
use crate::vocab::Role;

pub use crate::vocab::branches::{INTEGRATE_PREFIX, MARKER_PREFIX, PLAN_PREFIX, TASKMASTER_PREFIX};

/// Which files a role's commits may touch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileScope {
    /// Whatever the guard and the change check allow (the developer).
    Any,
    /// Only task files (`<dir>/*.md`): the bookkeeping roles.
    TaskFiles(String),
}

#[derive(Debug, Clone)]
pub struct Rules {
    pub role: Role,
    /// The branches this role writes (`None`: it writes no branch).
    pub branch_prefix: Option<String>,
    pub files: FileScope,
    /// Workflows it may dispatch (file names or ids).
    pub dispatchable: Vec<String>,
    pub may_comment: bool,
    pub may_review: bool,
    pub may_merge: bool,
    /// The one pull request a reviewer publishes on, when known.
    pub pr: Option<u64>,
    pub default_branch: String,
}

impl Rules {
    pub fn for_role(role: Role, config: &Config, default_branch: &str, pr: Option<u64>) -> Rules {
        let tasks = FileScope::TaskFiles(config.tasks.dir.trim_end_matches('/').to_string());
        let handoff = |w: &Option<String>| w.iter().cloned().collect::<Vec<_>>();
        let base = Rules {
            role,
            branch_prefix: None,
            files: tasks.clone(),
            dispatchable: Vec::new(),
            may_comment: false,
            may_review: false,
            may_merge: false,
            pr,
            default_branch: default_branch.to_string(),
        };
        match role {
            Role::Developer => Rules {
                branch_prefix: Some(config.workflow.branch_prefix.clone()),
                files: FileScope::Any,
                dispatchable: handoff(&config.developer.review_workflow),
                ..base
            },
            Role::Taskmaster => Rules {
                branch_prefix: Some(TASKMASTER_PREFIX.into()),
                dispatchable: handoff(&config.workflow.developer_workflow),
                ..base
            },
            Role::Planner => Rules {
                branch_prefix: Some(PLAN_PREFIX.into()),
                ..base
            },
            Role::Integrator => Rules {
                branch_prefix: Some(INTEGRATE_PREFIX.into()),
                dispatchable: handoff(&config.workflow.developer_workflow),
                may_merge: true,
                ..base
            },
            Role::Reviewer => Rules {
                may_comment: true,
                may_review: true,
                ..base
            },
        }
    }

    fn own_branch(&self, branch: &str) -> bool {
        self.branch_prefix
            .as_deref()
            .is_some_and(|p| !p.is_empty() && branch.starts_with(p) && branch.len() > p.len())
    }

    fn own_target(&self, t: &Target) -> Result<(), String> {
        match t {
            Target::Head(h) if self.own_branch(h) => Ok(()),
            Target::Head(h) => Err(format!("the pull request from {h:?} is not this role's")),
            Target::Pr(n) => match self.pr {
                Some(p) if p == *n => Ok(()),
                Some(p) => Err(format!(
                    "it names pull request #{n}, but this publish is for #{p}"
                )),
                None if self.role == Role::Reviewer => Ok(()),
                None => Err(format!(
                    "it names pull request #{n} by number; {} change sets name their own pull requests by head branch",
                    self.role
                )),
            },
        }
    }

    /// Every reason the set breaks this role's rules (empty: it keeps them).
    pub fn check(&self, set: &ChangeSet) -> Vec<String> {
        let mut out = Vec::new();
        if set.role != self.role {
            out.push(format!(
                "the change set says it is the {}'s, but this publish is for the {} (publish --role)",
                set.role, self.role
            ));
        }
        if !set.writes.is_empty() && set.default_branch != self.default_branch {
            out.push(format!(
                "it was computed for default branch {:?}, but the repository's is {:?}",
                set.default_branch, self.default_branch
            ));
        }
        for (i, w) in set.writes.iter().enumerate() {
            let n = i + 1;
            let mut bad = |why: String| out.push(format!("write {n} ({}): {why}", w.kind()));
            match w {
                Write::Commit(c) => {
                    if !self.own_branch(&c.branch) {
                        bad(self.not_own(&c.branch));
                    }
                    if let FileScope::TaskFiles(dir) = &self.files {
                        for f in &c.files {
                            if !is_task_file(&f.path, dir) {
                                bad(format!(
                                    "{:?} is not a task file under {dir}/; the {} writes task files only",
                                    f.path, self.role
                                ));
                            }
                        }
                    }
                    for f in &c.files {
                        if f.text.is_some() == f.delete {
                            bad(format!(
                                "{:?} must have either \"text\" or \"delete\": true",
                                f.path
                            ));
                        }
                    }
                    if !is_sha(&c.parent) {
                        bad(format!("parent {:?} is not a commit id", c.parent));
                    }
                }
                Write::PullRequest(p) => {
                    if !self.own_branch(&p.head) {
                        bad(self.not_own(&p.head));
                    }
                    if p.base != self.default_branch {
                        bad(format!(
                            "its base is {:?}; the team opens pull requests into {:?} only",
                            p.base, self.default_branch
                        ));
                    }
                }
                Write::Comment(c) => {
                    if !self.may_comment {
                        bad(format!("the {} does not comment", self.role));
                    }
                    if !c.marker.starts_with(MARKER_PREFIX) || !c.body.contains(&c.marker) {
                        bad("a comment must carry a codex-orchestrator marker in its body".into());
                    }
                    if let Err(e) = self.own_target(&c.on) {
                        bad(e);
                    }
                }
                Write::Review(r) => {
                    if !self.may_review {
                        bad(format!("the {} does not submit reviews", self.role));
                    }
                    if !r.marker.starts_with(MARKER_PREFIX) || !r.body.contains(&r.marker) {
                        bad("a review must carry a codex-orchestrator marker in its body".into());
                    }
                    if !is_sha(&r.commit_id) {
                        bad(format!("commit {:?} is not a commit id", r.commit_id));
                    }
                    if let Err(e) = self.own_target(&r.on) {
                        bad(e);
                    }
                }
                Write::Labels(l) => {
                    if let Err(e) = self.own_target(&l.on) {
                        bad(e);
                    }
                    if l.add.iter().any(|a| a.trim().is_empty() || a.len() > 50) {
                        bad("labels are 1 to 50 characters".into());
                    }
                }
                Write::Dispatch(d) => {
                    if !self.dispatchable.contains(&d.workflow) {
                        bad(if self.dispatchable.is_empty() {
                            format!(
                                "the {} hands off to no workflow in this configuration, not to {:?}",
                                self.role, d.workflow
                            )
                        } else {
                            format!(
                                "the {} may dispatch only {}, not {:?}",
                                self.role,
                                self.dispatchable.join(", "),
                                d.workflow
                            )
                        });
                    }
                    if d.git_ref != self.default_branch && !self.own_branch(&d.git_ref) {
                        bad(format!(
                            "it runs on {:?}: hand-offs run on the default branch or this role's own branches",
                            d.git_ref
                        ));
                    }
                    if let Some(t) = &d.pr_input
                        && let Err(e) = self.own_target(t)
                    {
                        bad(e);
                    }
                }
                Write::Merge(m) => {
                    if !self.may_merge {
                        bad(format!("the {} does not merge", self.role));
                    }
                    match &m.on {
                        Target::Head(h) if self.own_branch(h) => {}
                        other => bad(format!(
                            "it merges {other}; only the integrator's own integration pull requests are merged"
                        )),
                    }
                }
            }
        }
        out
    }

    fn not_own(&self, branch: &str) -> String {
        match &self.branch_prefix {
            Some(p) => format!(
                "branch {branch:?} is not one of the {}'s branches ({p}…)",
                self.role
            ),
            None => format!("the {} writes no branch, not {branch:?}", self.role),
        }
    }
}

/// A task file directly in the tasks directory.
pub fn is_task_file(path: &str, dir: &str) -> bool {
    path.strip_prefix(dir)
        .and_then(|r| r.strip_prefix('/'))
        .is_some_and(|name| {
            !name.contains('/')
                && name.ends_with(".md")
                && crate::tasks::load::is_task_file_name(name)
        })
}

/// A full 40-hex commit id.
pub fn is_sha(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changes::*;

    /// A commit of one file `x` on a new branch from `aaa…`.
    fn new_branch_commit(branch: &str, message: &str, path: &str) -> Write {
        Write::Commit(CommitWrite {
            branch: branch.into(),
            branch_state: BranchState::New,
            parent: "a".repeat(40),
            message: message.into(),
            files: vec![FileWrite::text(path, "x")],
        })
    }

    #[test]
    fn a_role_writes_only_its_own_branches_and_files() {
        let config = Config::default();
        let rules = Rules::for_role(Role::Taskmaster, &config, "main", None);
        let mut set = ChangeSet::new(Role::Taskmaster, "o/r", "main", "a".repeat(40), "x");
        set.push(new_branch_commit(
            "taskmaster/seed-T-0001",
            "seed",
            "tasks/T-0001-ci-setup.md",
        ));
        assert!(rules.check(&set).is_empty(), "{:?}", rules.check(&set));
        set.push(new_branch_commit("feature/x", "x", "src/app.py"));
        set.push(Write::Merge(MergeWrite {
            on: Target::Pr(3),
            method: crate::forge::MergeMethod::Squash,
            reason: "x".into(),
            auto_merge_fallback: false,
        }));
        let why = rules.check(&set);
        assert_eq!(why.len(), 4, "{why:?}");
        let dev = Rules::for_role(Role::Taskmaster, &config, "main", None);
        let mut claims_dev = set.clone();
        claims_dev.role = Role::Developer;
        assert!(
            dev.check(&claims_dev)
                .iter()
                .any(|w| w.contains("publish --role"))
        );
    }
}
