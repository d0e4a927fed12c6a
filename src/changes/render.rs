//! A change set in words, for the job summary and stdout: what each write would do (observe mode
//! and dry runs) or did (a publish), with the model-written text made inert in Markdown.

use super::{BranchState, ChangeSet, Target, Write};
use crate::vocab::markdown::inert_clipped as inert;

/// What became (or would become) of one write.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "status", content = "detail", rename_all = "snake_case")]
pub enum Status {
    /// Not applied: observe mode or a dry run.
    Planned,
    Created(String),
    Updated(String),
    /// Already there as intended: nothing written.
    Unchanged(String),
    /// Not applied, for the reason given (e.g. a merge GitHub refused, an empty dispatch).
    Skipped(String),
}

impl Status {
    fn words(&self) -> String {
        match self {
            Status::Planned => "would be written".into(),
            Status::Created(d) | Status::Updated(d) => d.clone(),
            Status::Unchanged(d) => with("already done, nothing written", d),
            Status::Skipped(d) => with("not done", d),
        }
    }
}

fn with(word: &str, detail: &str) -> String {
    if detail.is_empty() {
        word.to_string()
    } else {
        format!("{word}: {detail}")
    }
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

fn code(text: &str) -> String {
    format!("`{}`", inert(text, 200))
}

fn target(t: &Target) -> String {
    match t {
        Target::Pr(n) => format!("#{n}"),
        Target::Head(h) => format!("the pull request from {}", code(h)),
    }
}

/// One line per write.
fn line(w: &Write) -> String {
    match w {
        Write::Commit(c) => {
            let files = if c.files.is_empty() {
                "no file changes (a marker commit)".to_string()
            } else {
                let names: Vec<String> = c
                    .files
                    .iter()
                    .take(20)
                    .map(|f| {
                        let what = match f.content() {
                            Some(b) => format!("{} bytes", b.len()),
                            None => "deleted".into(),
                        };
                        format!("{} ({what})", code(&f.path))
                    })
                    .collect();
                let more = c.files.len().saturating_sub(20);
                format!(
                    "{} file(s): {}{}",
                    c.files.len(),
                    names.join(", "),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    }
                )
            };
            let state = match c.branch_state {
                BranchState::New => format!("new branch from `{}`", short(&c.parent)),
                BranchState::Existing => format!("on top of `{}`", short(&c.parent)),
            };
            format!(
                "Commit on {} ({state}): \"{}\"; {files}",
                code(&c.branch),
                inert(c.message.lines().next().unwrap_or(""), 120)
            )
        }
        Write::PullRequest(p) => format!(
            "Pull request {} → {}: \"{}\"{}",
            code(&p.head),
            code(&p.base),
            inert(&p.title, 120),
            if p.draft { " (draft)" } else { "" }
        ),
        Write::Comment(c) => format!(
            "Comment on {} (found again by its marker), {} characters",
            target(&c.on),
            c.body.chars().count()
        ),
        Write::Review(r) => format!(
            "Review of {} at `{}`: {:?} with {} inline comment(s)",
            target(&r.on),
            short(&r.commit_id),
            r.event,
            r.comments.len()
        ),
        Write::Labels(l) => format!(
            "Labels on {}: {}",
            target(&l.on),
            l.add.iter().map(|a| code(a)).collect::<Vec<_>>().join(", ")
        ),
        Write::Dispatch(d) => {
            let mut inputs: Vec<String> = d
                .inputs
                .iter()
                .map(|(k, v)| format!("{}={}", inert(k, 40), inert(v, 80)))
                .collect();
            if let Some(t) = &d.pr_input {
                inputs.push(format!("pr=({})", target(t)));
            }
            format!(
                "Workflow dispatch of {} on {} with {}",
                code(&d.workflow),
                code(&d.git_ref),
                if inputs.is_empty() {
                    "no inputs".into()
                } else {
                    inputs.join(", ")
                }
            )
        }
        Write::Merge(m) => format!(
            "Merge {} with `{:?}` ({}){}",
            target(&m.on),
            m.method,
            inert(&m.reason, 160),
            if m.auto_merge_fallback {
                "; auto-merge when GitHub refuses for now"
            } else {
                ""
            }
        ),
    }
}

/// The change set as a Markdown list, each write with its status when one is given
/// (`statuses[i]` belongs to `set.writes[i]`).
pub fn markdown(set: &ChangeSet, statuses: Option<&[Status]>) -> String {
    if set.writes.is_empty() {
        return "**Change set:** no writes.\n".into();
    }
    let mut md = format!(
        "**Change set** ({}, {} write(s), computed from `{}` of `{}`):\n\n",
        set.role,
        set.writes.len(),
        short(&set.base),
        inert(&set.default_branch, 80)
    );
    for (i, w) in set.writes.iter().enumerate() {
        let status = statuses
            .and_then(|s| s.get(i))
            .map(|s| format!(" — {}", s.words()))
            .unwrap_or_default();
        md.push_str(&format!("{}. {}{status}\n", i + 1, line(w)));
    }
    md
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use super::*;

    #[test]
    fn lists_every_write_with_inert_text() {
        let mut set = ChangeSet::new(Role::Planner, "o/r", "main", "b".repeat(40), "gh-1");
        set.push(Write::PullRequest(PullRequestWrite {
            head: "plan/abc".into(),
            base: "main".into(),
            title: "<img src=x> @team".into(),
            body: String::new(),
            draft: false,
        }));
        let md = markdown(&set, Some(&[Status::Planned]));
        assert!(md.contains("&lt;img src=x&gt; @\u{200b}team"), "{md}");
        assert!(md.contains("would be written"), "{md}");
        assert!(!md.contains("0000000000"), "no placeholder shas");
        assert_eq!(
            markdown(
                &ChangeSet::new(Role::Planner, "o/r", "main", "b", "x"),
                None
            ),
            "**Change set:** no writes.\n"
        );
    }
}
