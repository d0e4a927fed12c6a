//! Every task id already taken, for the roles that mint ids (the Planner, the Taskmaster's seed):
//! the default branch's task files, the agent branches that propose tasks (their names and the
//! task files they hold) and every open pull request. Two roles reading the same repository
//! never mint the same id (see docs/tasks.md, "Ids that never collide").

use crate::forge::ForgeRead;
use crate::tasks::{Reservations, TaskSet};
use crate::vocab::branches::{PLAN_PREFIX, TASKMASTER_PREFIX};

/// Most open pull requests and proposing branches read.
const LIMIT: usize = 300;

pub async fn reservations<F: ForgeRead>(
    forge: &F,
    set: &TaskSet,
    tasks_dir: &str,
) -> crate::forge::Result<Reservations> {
    let mut r = Reservations::new();
    r.add_default_branch(set);
    for p in forge.open_pull_requests(LIMIT).await? {
        r.add_pull_request(p.number, &p.head_ref, &p.title, &p.body);
    }
    let dir = tasks_dir.trim_end_matches('/');
    for prefix in [PLAN_PREFIX, TASKMASTER_PREFIX] {
        for (branch, head) in forge.branches(prefix, LIMIT).await? {
            r.add_branch(&branch);
            let files = forge.list_dir(dir, &head).await?;
            let added = files
                .iter()
                .filter(|f| !set.files.contains(f))
                .map(String::as_str);
            r.add_branch_files(&branch, added);
        }
    }
    Ok(r)
}
