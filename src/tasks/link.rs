//! The one rule for which task a pull request is for: a `Task: T-XXXX` line of its own in the
//! body (as the Developer and the Integrator write it) or the branch name `<branch_prefix>T-XXXX-…`
//! / `integrate/T-XXXX`. Nothing else links: an id in the title or mentioned in passing is ignored.

use std::fmt;

use super::id::{IdForm, TaskId, id_spans};

/// The Integrator's branches: `integrate/T-0004` flips the status of T-0004.
pub const INTEGRATION_BRANCH_PREFIX: &str = "integrate/";

/// Most ignored mentions reported for one pull request (the text is untrusted and unbounded).
pub const MAX_IGNORED: usize = 10;

/// What linked a pull request to its task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkedBy {
    /// The head branch is `<branch_prefix>T-XXXX` or `<branch_prefix>T-XXXX-…`.
    Branch,
    /// The head branch is `integrate/T-XXXX`.
    IntegrationBranch,
    /// A line of the body is `Task: T-XXXX` (optionally `**Task:**`, after a list marker).
    TaskLine,
}

impl LinkedBy {
    fn describe(self) -> &'static str {
        match self {
            LinkedBy::Branch => "the branch name",
            LinkedBy::IntegrationBranch => "the integration branch name",
            LinkedBy::TaskLine => "a `Task:` line",
        }
    }
}

/// The outcome of linking one pull request.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PrLink {
    /// The task the pull request is for, if it names one the way the rule allows.
    pub task: Option<TaskId>,
    /// What named it (the branch, a `Task:` line, or both agreeing); empty without a task.
    pub by: Vec<LinkedBy>,
    /// Ids written elsewhere that do not link, each as one sentence for the run's summary (at
    /// most [`MAX_IGNORED`]; untrusted text is never quoted, only the id and where it was).
    pub ignored: Vec<String>,
}

/// The pull request names two different tasks (branch and `Task:` line, or two `Task:` lines):
/// it is linked to neither, since acting on one of them would be a guess.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct LinkConflict {
    /// Each distinct id and what named it.
    pub named: Vec<(TaskId, LinkedBy)>,
}

impl fmt::Display for LinkConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .named
            .iter()
            .map(|(id, by)| format!("{id} ({})", by.describe()))
            .collect();
        write!(
            f,
            "the pull request names more than one task: {}; it is linked to none of them \
             (keep one `Task:` line, matching the branch name)",
            parts.join(", ")
        )
    }
}

/// Links a pull request to its task by the rule of this module. `branch_prefix` is
/// `workflow.branch_prefix` (default `feature/`); `head_ref` the head branch (a leading
/// `refs/heads/` is ignored); `title` is only looked at to report ids it names that do not link.
pub fn link_pull_request(
    branch_prefix: &str,
    head_ref: &str,
    title: &str,
    body: &str,
) -> Result<PrLink, LinkConflict> {
    // (the id, the sentence); the id is `None` for a `Task:` line without an id.
    let mut ignored: Vec<(Option<TaskId>, String)> = Vec::new();
    let mut named: Vec<(TaskId, LinkedBy)> = Vec::new();
    let branch = head_ref.strip_prefix("refs/heads/").unwrap_or(head_ref);
    match branch_task(branch_prefix, branch) {
        Some(found) => named.push(found),
        None => {
            if let Some(id) = loose_ids(branch).into_iter().next() {
                ignored.push((
                    Some(id),
                    format!(
                        "the branch name names {id}, but only `{branch_prefix}T-XXXX-…` and \
                         `{INTEGRATION_BRANCH_PREFIX}T-XXXX` branches link a task"
                    ),
                ));
            }
        }
    }
    let lines = body_task_lines(body);
    for line in &lines {
        match line {
            TaskLine::Id(id) => named.push((*id, LinkedBy::TaskLine)),
            TaskLine::NotAnId(n) => ignored.push((
                None,
                format!(
                    "body line {n} is a `Task:` line without exactly one task id in the form T-0001"
                ),
            )),
        }
    }
    for id in loose_ids(title) {
        ignored.push((
            Some(id),
            format!(
                "the title names {id}; a title does not link a task (write `Task: {id}` on a line of its own in the body)"
            ),
        ));
    }
    for (n, id) in body_mentions(body) {
        ignored.push((
            Some(id),
            format!("body line {n} mentions {id} in passing; a mention does not link a task"),
        ));
    }

    let mut distinct: Vec<(TaskId, LinkedBy)> = Vec::new();
    for (id, by) in &named {
        if !distinct.iter().any(|(d, _)| d == id) {
            distinct.push((*id, *by));
        }
    }
    if distinct.len() > 1 {
        return Err(LinkConflict { named: distinct });
    }
    let task = distinct.first().map(|(id, _)| *id);
    // Mentions of the linked task itself (`Implements T-0004: …`) are not worth reporting.
    let ignored: Vec<String> = ignored
        .into_iter()
        .filter(|(id, _)| id.is_none() || *id != task)
        .map(|(_, why)| why)
        .take(MAX_IGNORED)
        .collect();
    let mut by: Vec<LinkedBy> = named.iter().map(|(_, b)| *b).collect();
    by.sort();
    by.dedup();
    Ok(PrLink { task, by, ignored })
}

/// The task a branch name links: `<branch_prefix>T-0004` or `<branch_prefix>T-0004-slug`, or
/// `integrate/T-0004`. The id must be canonical (`T-0004`, not `T-4`).
pub fn branch_task(branch_prefix: &str, branch: &str) -> Option<(TaskId, LinkedBy)> {
    let (rest, by) = if !branch_prefix.is_empty()
        && let Some(rest) = branch.strip_prefix(branch_prefix)
    {
        (rest, LinkedBy::Branch)
    } else {
        (
            branch.strip_prefix(INTEGRATION_BRANCH_PREFIX)?,
            LinkedBy::IntegrationBranch,
        )
    };
    let digits = rest.strip_prefix("T-")?;
    let len = digits.bytes().take_while(u8::is_ascii_digit).count();
    let after = &digits[len..];
    if !(after.is_empty() || after.starts_with('-')) {
        return None;
    }
    TaskId::parse(&rest[..2 + len]).map(|id| (id, by))
}

enum TaskLine {
    Id(TaskId),
    /// A `Task:` line whose value is not one canonical id (1-based line number).
    NotAnId(usize),
}

/// The body's lines that count: outside fenced code blocks and HTML comments, not quoted.
fn live_lines(body: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut fence: Option<&str> = None;
    let mut in_comment = false;
    body.lines().enumerate().filter_map(move |(i, line)| {
        let t = line.trim();
        if in_comment {
            in_comment = !t.contains("-->");
            return None;
        }
        if let Some(f) = fence {
            if t.starts_with(f) {
                fence = None;
            }
            return None;
        }
        if t.starts_with("```") {
            fence = Some("```");
            return None;
        }
        if t.starts_with("~~~") {
            fence = Some("~~~");
            return None;
        }
        if t.starts_with("<!--") {
            in_comment = !t.contains("-->");
            return None;
        }
        if t.starts_with('>') {
            return None;
        }
        Some((i + 1, t))
    })
}

fn body_task_lines(body: &str) -> Vec<TaskLine> {
    live_lines(body)
        .filter_map(|(n, line)| {
            task_line_value(line).map(|v| match TaskId::parse(v) {
                Some(id) => TaskLine::Id(id),
                None => TaskLine::NotAnId(n),
            })
        })
        .collect()
}

/// For a `Task:` line (`Task: T-0004`, `**Task:** T-0004`, `- **Task**: \`T-0004\``,
/// `**Task: T-0004**`; the word in any case), the value after the colon, else `None`.
fn task_line_value(line: &str) -> Option<&str> {
    let line = ["- ", "* ", "+ "]
        .iter()
        .find_map(|m| line.strip_prefix(m))
        .map(str::trim_start)
        .unwrap_or(line);
    let emphasis = |c: char| c == '*' || c == '_';
    let opened = line.len() - line.trim_start_matches(emphasis).len();
    if opened > 2 {
        return None;
    }
    let rest = &line[opened..];
    if rest.len() < 4 || !rest.is_char_boundary(4) || !rest[..4].eq_ignore_ascii_case("task") {
        return None;
    }
    let rest = rest[4..].trim_start_matches(emphasis).strip_prefix(':')?;
    let value = rest
        .trim_start_matches(emphasis)
        .trim()
        .trim_end_matches(emphasis)
        .trim_end();
    let value = value
        .strip_prefix('`')
        .and_then(|v| v.strip_suffix('`'))
        .unwrap_or(value);
    Some(value.trim())
}

/// Ids mentioned in live body lines that are not `Task:` lines, with their line numbers.
fn body_mentions(body: &str) -> Vec<(usize, TaskId)> {
    live_lines(body)
        .filter(|(_, l)| task_line_value(l).is_none())
        .flat_map(|(n, l)| loose_ids(l).into_iter().map(move |id| (n, id)))
        .collect()
}

/// Everything that looks like a task id, loosely (`T-3`, `t-0003`, `T-0003`), canonicalised, at
/// most [`MAX_IGNORED`] distinct ones: only to report what did not link.
fn loose_ids(text: &str) -> Vec<TaskId> {
    let mut found: Vec<TaskId> = Vec::new();
    for (_, _, id) in id_spans(text, IdForm::Loose) {
        if found.len() == MAX_IGNORED {
            break;
        }
        if !found.contains(&id) {
            found.push(id);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(branch: &str, title: &str, body: &str) -> Option<String> {
        link_pull_request("feature/", branch, title, body)
            .unwrap()
            .task
            .map(|t| t.to_string())
    }

    /// The old rule (`roles/reviewer/link.rs`) linked each of these; the new one links none.
    #[test]
    fn mentions_titles_and_loose_ids_do_not_link() {
        // The README PR from the issue: T-3 in passing flipped T-0003 to done.
        let readme =
            "Fix a typo in the README.\n\nWhile here I noticed the wording from T-3 was off.\n";
        assert_eq!(
            link("fix-readme-typo", "Fix a typo in the README", readme),
            None
        );
        let got = link_pull_request("feature/", "fix-readme-typo", "Fix a typo", readme).unwrap();
        assert_eq!(
            got.ignored,
            vec!["body line 3 mentions T-0003 in passing; a mention does not link a task"]
        );
        assert_eq!(link("fix-bug", "[T-0003] Add", ""), None);
        assert_eq!(link("fix-bug", "T-0003 Add", ""), None);
        assert_eq!(link("feature/x", "", "see T-0042."), None);
        assert_eq!(link("feature/x", "", "Fixes T-0042"), None);
        // Not the configured prefix, not the integration branch.
        assert_eq!(link("fix/T-0004-login", "", ""), None);
        assert_eq!(link("dependabot/T-0004", "", ""), None);
        // The old rule canonicalised `T-12`; a `Task:` line must carry a canonical id.
        assert_eq!(link("fix-bug", "Fix", "blah\n**Task:** T-12\n"), None);
        assert_eq!(link("feature/T-4-x", "", ""), None);
        // Quoted, fenced or commented lines are not the PR's own `Task:` line.
        assert_eq!(link("x", "", "> Task: T-0003\n"), None);
        assert_eq!(link("x", "", "```\nTask: T-0003\n```\n"), None);
        assert_eq!(link("x", "", "~~~md\nTask: T-0003\n~~~\n"), None);
        assert_eq!(link("x", "", "<!--\nTask: T-0003\n-->\n"), None);
        assert_eq!(link("x", "", "<!-- Task: T-0003 -->\n"), None);
        // A line that goes on after the id is prose, not the link line.
        assert_eq!(link("x", "", "Task: T-0003 and T-0004\n"), None);
        assert_eq!(link("x", "", "Tasks: T-0003\n"), None);
        assert_eq!(link("x", "", "The task: T-0003\n"), None);
    }

    #[test]
    fn task_lines_as_the_developer_and_integrator_write_them() {
        // Developer: the last line of its PR body.
        let dev = "Implements T-0004: Add login\n\n### Files\n\n- src/a.py\nTask: T-0004\n";
        assert_eq!(
            link("somewhere", "Implements T-0004", dev).as_deref(),
            Some("T-0004")
        );
        for body in [
            "Task: T-0004",
            "  Task:   T-0004  ",
            "**Task:** T-0004",
            "**Task**: T-0004",
            "**Task: T-0004**",
            "__Task:__ T-0004",
            "- Task: T-0004",
            "* **Task:** `T-0004`",
            "task: T-0004",
            "Task: T-0004\r",
        ] {
            assert_eq!(link("x", "", body).as_deref(), Some("T-0004"), "{body:?}");
        }
        let got = link_pull_request("feature/", "x", "Implements T-0004", dev).unwrap();
        assert_eq!(got.by, vec![LinkedBy::TaskLine]);
        assert!(got.ignored.is_empty(), "{:?}", got.ignored);
        let other =
            link_pull_request("feature/", "x", "", "Also fixes T-0009.\nTask: T-0004").unwrap();
        assert_eq!(
            other.ignored,
            vec!["body line 1 mentions T-0009 in passing; a mention does not link a task"]
        );
        // A `Task:` line inside a code fence is quoted text, not a link.
        assert_eq!(
            link("x", "", "a\nTask: T-0004\n```\nTask: T-0009\n```\n").as_deref(),
            Some("T-0004")
        );
    }

    #[test]
    fn branch_names_with_the_configured_prefix_or_integrate() {
        assert_eq!(
            link("feature/T-0004-add-login", "x", "").as_deref(),
            Some("T-0004")
        );
        assert_eq!(link("feature/T-0004", "", "").as_deref(), Some("T-0004"));
        assert_eq!(
            link("refs/heads/feature/T-0004-a", "", "").as_deref(),
            Some("T-0004")
        );
        assert_eq!(link("feature/T-00045-x", "", ""), None);
        assert_eq!(link("feature/T-0004x", "", ""), None);
        assert_eq!(link("feature/a/T-0004-x", "", ""), None);
        let integ =
            link_pull_request("feature/", "integrate/T-0007", "", "Task: T-0007\n").unwrap();
        assert_eq!(integ.task, Some(TaskId(7)));
        assert_eq!(
            integ.by,
            vec![LinkedBy::IntegrationBranch, LinkedBy::TaskLine]
        );
        // A configured prefix replaces `feature/`.
        let dev = link_pull_request("dev/", "dev/T-0002-x", "", "").unwrap();
        assert_eq!(
            (dev.task, dev.by),
            (Some(TaskId(2)), vec![LinkedBy::Branch])
        );
        let other = link_pull_request("dev/", "feature/T-0002-x", "", "").unwrap();
        assert_eq!(other.task, None);
        assert_eq!(other.ignored.len(), 1, "{:?}", other.ignored);
        assert!(
            other.ignored[0].contains("`dev/T-XXXX-…`"),
            "{}",
            other.ignored[0]
        );
    }

    #[test]
    fn two_different_tasks_link_none() {
        let err =
            link_pull_request("feature/", "feature/T-0004-x", "", "Task: T-0005\n").unwrap_err();
        assert_eq!(
            err.named,
            vec![
                (TaskId(4), LinkedBy::Branch),
                (TaskId(5), LinkedBy::TaskLine)
            ]
        );
        assert!(
            err.to_string()
                .contains("T-0004 (the branch name), T-0005 (a `Task:` line)")
        );
        assert!(link_pull_request("feature/", "x", "", "Task: T-0001\nTask: T-0002\n").is_err());
        // The same task twice is fine.
        let same = link_pull_request("feature/", "feature/T-0004-x", "", "Task: T-0004").unwrap();
        assert_eq!(same.by, vec![LinkedBy::Branch, LinkedBy::TaskLine]);
    }

    #[test]
    fn ignored_mentions_are_bounded_and_never_quote_the_text() {
        let body: String = (1..=50)
            .map(|n| format!("see T-{n:04} <b>x</b>\n"))
            .collect();
        let got = link_pull_request("feature/", "x", "T-0001 @someone", &body).unwrap();
        assert_eq!(got.task, None);
        assert_eq!(got.ignored.len(), MAX_IGNORED);
        assert!(
            got.ignored
                .iter()
                .all(|s| !s.contains('<') && !s.contains('@'))
        );
        let odd = link_pull_request("feature/", "x", "", "Task: soon\n").unwrap();
        assert_eq!(
            odd.ignored,
            vec!["body line 1 is a `Task:` line without exactly one task id in the form T-0001"]
        );
    }
}
