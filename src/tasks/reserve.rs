//! Ids that are already taken somewhere — on the default branch, on any open agent branch, in any
//! open pull request — collected into one [`Reservations`] value, so the Planner, a second
//! Planner and the Taskmaster never mint the same id. The caller reads the forge; this decides.

use std::fmt;

use super::id::{IdForm, TaskId, id_spans};
use super::link::INTEGRATION_BRANCH_PREFIX;
use super::load::TaskSet;

/// The largest id there is: `T-` and nine digits (see [`TaskId::parse`]).
pub const MAX_ID: TaskId = TaskId(999_999_999);

/// How far above the default branch's highest id a claim from a branch or a pull request may
/// reach and still count. Branch names, PR titles and bodies are untrusted: without a bound one
/// PR titled `T-999999999` would use up the id space. Real plans are far smaller than this.
pub const MAX_AHEAD: u32 = 1000;

/// The branch prefixes of the team's own branches, besides `workflow.branch_prefix` (the
/// Developer's, default `feature/`): the Planner's, the Taskmaster's and the Integrator's.
pub const AGENT_BRANCH_PREFIXES: [&str; 3] = ["plan/", "taskmaster/", INTEGRATION_BRANCH_PREFIX];

/// Whether `branch` is one of the team's own branches (`plan/…`, `taskmaster/…`,
/// `integrate/…` or `<branch_prefix>…`): the branches whose ids a caller must collect.
pub fn is_agent_branch(branch: &str, branch_prefix: &str) -> bool {
    let branch = branch.strip_prefix("refs/heads/").unwrap_or(branch);
    AGENT_BRANCH_PREFIXES
        .iter()
        .chain((!branch_prefix.is_empty()).then_some(&branch_prefix))
        .any(|p| branch.starts_with(p))
}

/// One id, or one range of ids, seen somewhere.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Claim {
    pub first: TaskId,
    /// Equal to `first` for a single id; `plan/T-0007-T-0009` claims T-0007 to T-0009.
    pub last: TaskId,
    /// The branch the claim belongs to; `None` for the default branch's task files.
    pub branch: Option<String>,
    /// Where it was seen, for people: `tasks/T-0003-x.md on the default branch`,
    /// `branch plan/T-0007-T-0009`, `PR #12 title`.
    pub seen_in: String,
}

impl Claim {
    fn overlaps(&self, id: TaskId) -> bool {
        self.first <= id && id <= self.last
    }
}

/// No id is left to mint.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MintError {
    #[error(
        "cannot mint {count} more task id(s) above {highest}: the largest id is {MAX_ID}; \
         renumber the tasks (or close the pull request that claims such high ids)"
    )]
    Exhausted { highest: TaskId, count: usize },
}

/// Every id taken anywhere the caller looked. Feed it with the `add_*` methods, then mint with
/// [`Reservations::mint_ids`] or take the seed id with [`Reservations::seed_id`]. A role that
/// re-runs on its own branch first drops that branch's claims ([`Reservations::without_branch`])
/// so it keeps its own ids.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reservations {
    claims: Vec<Claim>,
}

impl Reservations {
    pub fn new() -> Reservations {
        Reservations::default()
    }

    /// The default branch's task files: every loaded id and every id in a file name (a file
    /// that does not load still holds its id). These are trusted and bound [`MAX_AHEAD`].
    pub fn add_default_branch(&mut self, set: &TaskSet) {
        for t in &set.tasks {
            self.push(
                t.id(),
                t.id(),
                None,
                format!("{} on the default branch", t.path()),
            );
        }
        for f in &set.files {
            self.push_ranges(file_name(f), None, &format!("{f} on the default branch"));
        }
    }

    /// A branch name (an open agent branch, or an open pull request's head): every id and range
    /// in it (`plan/T-0007-T-0009`, `feature/T-0004-x`, `taskmaster/seed-T-0001`).
    pub fn add_branch(&mut self, branch: &str) {
        let branch = normalise(branch);
        self.push_ranges(branch, Some(branch), &format!("branch {branch}"));
    }

    /// The task files `branch` adds or changes (paths such as `tasks/T-0010-x.md`, e.g. from a
    /// compare with the default branch): the ids their names start with.
    pub fn add_branch_files<'p>(&mut self, branch: &str, paths: impl IntoIterator<Item = &'p str>) {
        let branch = normalise(branch);
        for path in paths {
            if let Some(id) = leading_id(file_name(path)) {
                self.push(
                    id,
                    id,
                    Some(branch.to_string()),
                    format!("{path} on branch {branch}"),
                );
            }
        }
    }

    /// An open pull request: its head branch name, and every id and range in its title and body
    /// (the Planner's title says `(T-0010–T-0012)`, its body lists the files it adds).
    pub fn add_pull_request(&mut self, number: u64, head_ref: &str, title: &str, body: &str) {
        self.add_branch(head_ref);
        let branch = normalise(head_ref);
        for (what, text) in [("title", title), ("body", body)] {
            self.push_ranges(text, Some(branch), &format!("PR #{number} {what}"));
        }
    }

    /// A copy without the claims of `branch` (the caller's own branch and pull request).
    pub fn without_branch(&self, branch: &str) -> Reservations {
        let branch = normalise(branch);
        self.without_branches(|b| b == branch)
    }

    /// A copy without the claims of every branch for which `drop` is true (e.g. every
    /// `taskmaster/seed-` branch for the Taskmaster's own seed).
    pub fn without_branches(&self, drop: impl Fn(&str) -> bool) -> Reservations {
        Reservations {
            claims: self
                .claims
                .iter()
                .filter(|c| c.branch.as_deref().is_none_or(|b| !drop(b)))
                .cloned()
                .collect(),
        }
    }

    /// Every claim collected, counted or not.
    pub fn claims(&self) -> &[Claim] {
        &self.claims
    }

    /// The claims that count: the default branch's, and others up to [`MAX_AHEAD`] above its
    /// highest id.
    pub fn counted(&self) -> impl Iterator<Item = &Claim> {
        let limit = self.trusted_max().saturating_add(MAX_AHEAD);
        self.claims
            .iter()
            .filter(move |c| c.branch.is_none() || c.last.number() <= limit)
    }

    /// The claims left out because they reach more than [`MAX_AHEAD`] above the default
    /// branch's highest id (worth a line in the run's summary).
    pub fn ignored(&self) -> Vec<&Claim> {
        let limit = self.trusted_max().saturating_add(MAX_AHEAD);
        self.claims
            .iter()
            .filter(|c| c.branch.is_some() && c.last.number() > limit)
            .collect()
    }

    /// The highest id that counts, if any.
    pub fn highest(&self) -> Option<TaskId> {
        self.counted().map(|c| c.last).max()
    }

    /// Whether `id` is taken by a claim that counts.
    pub fn is_reserved(&self, id: TaskId) -> bool {
        self.counted().any(|c| c.overlaps(id))
    }

    /// The counted claims that take any of `ids` (empty when they are all free): a re-run keeps
    /// its earlier ids while this is empty, and a caller can check its ids again after writing.
    pub fn collisions(&self, ids: &[TaskId]) -> Vec<&Claim> {
        self.counted()
            .filter(|c| ids.iter().any(|&id| c.overlaps(id)))
            .collect()
    }

    /// `count` new consecutive ids above every counted claim.
    pub fn mint_ids(&self, count: usize) -> Result<Vec<TaskId>, MintError> {
        let highest = self.highest().unwrap_or(TaskId(0));
        let fits = u32::try_from(count)
            .ok()
            .and_then(|n| highest.number().checked_add(n))
            .is_some_and(|top| top <= MAX_ID.number());
        if !fits {
            return Err(MintError::Exhausted { highest, count });
        }
        Ok((1..=count as u32)
            .map(|k| TaskId(highest.number() + k))
            .collect())
    }

    /// The id of the Taskmaster's CI seed: `T-0001` when no counted claim takes it, else the
    /// next id [`Reservations::mint_ids`] would give.
    pub fn seed_id(&self) -> Result<TaskId, MintError> {
        let first = TaskId(1);
        if !self.is_reserved(first) {
            return Ok(first);
        }
        Ok(self.mint_ids(1)?[0])
    }

    fn trusted_max(&self) -> u32 {
        self.claims
            .iter()
            .filter(|c| c.branch.is_none())
            .map(|c| c.last.number())
            .max()
            .unwrap_or(0)
    }

    /// Every id and range in `text`, claimed (by `branch`, when a branch holds them).
    fn push_ranges(&mut self, text: &str, branch: Option<&str>, seen_in: &str) {
        for (first, last) in id_ranges(text) {
            self.push(first, last, branch.map(str::to_string), seen_in.to_string());
        }
    }

    fn push(&mut self, first: TaskId, last: TaskId, branch: Option<String>, seen_in: String) {
        let claim = Claim {
            first,
            last,
            branch,
            seen_in,
        };
        if !self.claims.contains(&claim) {
            self.claims.push(claim);
        }
    }
}

impl fmt::Display for Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{} ({})", self.first, self.seen_in)
        } else {
            write!(f, "{}–{} ({})", self.first, self.last, self.seen_in)
        }
    }
}

fn normalise(branch: &str) -> &str {
    branch.strip_prefix("refs/heads/").unwrap_or(branch)
}

fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// `T-0010` for `T-0010-x.md` or `T-0010.md`: the id a task file's name starts with.
fn leading_id(name: &str) -> Option<TaskId> {
    let digits = name.strip_prefix("T-")?;
    let len = digits.bytes().take_while(u8::is_ascii_digit).count();
    let rest = &digits[len..];
    if !(rest.starts_with('-') || rest.starts_with('.')) {
        return None;
    }
    TaskId::parse(&name[..2 + len])
}

/// The separators that make two ids a range: `T-0007-T-0009`, `T-0010–T-0012`, `T-0010..T-0012`,
/// `T-0010 to T-0012` (and the dashes with spaces around them).
const RANGE_SEPARATORS: [&str; 9] = ["-", "–", "—", "..", "...", " - ", " – ", " — ", " to "];

/// Every id in `text` (as [`super::id::ids_in_text`] finds them), two ids joined by a range
/// separator (low first) as one range.
fn id_ranges(text: &str) -> Vec<(TaskId, TaskId)> {
    let spans = id_spans(text, IdForm::Strict);
    let mut out = Vec::new();
    let mut i = 0;
    while i < spans.len() {
        let (_, end, first) = spans[i];
        if let Some(&(start, _, last)) = spans.get(i + 1)
            && first < last
            && RANGE_SEPARATORS.contains(&&text[end..start])
        {
            out.push((first, last));
            i += 2;
        } else {
            out.push((first, first));
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_in_names_and_titles() {
        let r = |t: &str| -> Vec<(u32, u32)> {
            id_ranges(t)
                .into_iter()
                .map(|(a, b)| (a.number(), b.number()))
                .collect()
        };
        assert_eq!(r("plan/T-0007-T-0009"), vec![(7, 9)]);
        assert_eq!(
            r("Plan: 3 task(s) from docs/PRD.md (T-0010–T-0012)"),
            vec![(10, 12)]
        );
        assert_eq!(r("T-0010 to T-0012, T-0020"), vec![(10, 12), (20, 20)]);
        assert_eq!(r("T-0009-T-0007"), vec![(9, 9), (7, 7)]);
        assert_eq!(r("T-0001 and T-0003"), vec![(1, 1), (3, 3)]);
        assert_eq!(r("feature/AT-0004 T-12 T-1234567890"), vec![]);
        assert_eq!(leading_id("T-0010-x.md"), Some(TaskId(10)));
        assert_eq!(leading_id("T-0010.md"), Some(TaskId(10)));
        assert_eq!(leading_id("T-00100x.md"), None);
        assert_eq!(leading_id("README.md"), None);
    }

    #[test]
    fn agent_branches() {
        for b in [
            "plan/abc",
            "taskmaster/seed-T-0001",
            "integrate/T-0004",
            "feature/T-0004-x",
            "refs/heads/plan/x",
        ] {
            assert!(is_agent_branch(b, "feature/"), "{b}");
        }
        assert!(is_agent_branch("dev/T-0004", "dev/"));
        assert!(!is_agent_branch("feature/T-0004", "dev/"));
        assert!(!is_agent_branch("main", "feature/"));
        assert!(!is_agent_branch("fix/T-0004", ""));
    }

    #[test]
    fn mint_error_at_the_top_of_the_id_space() {
        let mut r = Reservations::new();
        r.push(TaskId(999_999_998), TaskId(999_999_998), None, "x".into());
        assert_eq!(r.mint_ids(1).unwrap(), vec![MAX_ID]);
        let err = r.mint_ids(2).unwrap_err();
        assert!(err.to_string().contains("above T-999999998"), "{err}");
        assert_eq!(r.mint_ids(0).unwrap(), vec![]);
        assert!(r.mint_ids(usize::MAX).is_err());
    }
}
