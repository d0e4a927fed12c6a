//! The summary comment: a hidden marker (so re-runs edit it), the head SHA reviewed, the verdict
//! (and why it differs from the model's), acceptance criteria, deterministic findings, model
//! findings, and what the model did not read in full, each file once.

use super::{CriterionStatus, ReviewResult, Verdict};

/// Files named in a list before the rest is counted (a comment has a size limit).
const MAX_LISTED: usize = 100;

/// Marks the comment as ours and records which head it reviewed.
pub fn head_marker(sha: &str) -> String {
    format!("<!-- codex-orchestrator:reviewer-head {sha} -->")
}

/// Text from the model or the PR, made safe for a Markdown table cell or list item.
fn safe(text: &str) -> String {
    text.replace('\r', "")
        .replace('\n', " ")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub fn markdown(r: &ReviewResult, tokens_note: Option<&str>) -> String {
    let mut md = String::new();
    if let Some(sha) = &r.head_sha {
        md.push_str(&head_marker(sha));
        md.push('\n');
    }
    let icon = match r.verdict {
        Verdict::Approve => "✅ approve",
        Verdict::RequestChanges => "❌ request changes",
        Verdict::Comment => "💬 comment",
    };
    md.push_str(&format!("### codex-orchestrator review: {icon}\n\n"));
    let mut meta = Vec::new();
    if let Some(sha) = &r.head_sha {
        meta.push(format!("head `{}`", &sha[..sha.len().min(12)]));
    }
    meta.push(match &r.model {
        Some(m) => format!("model `{m}`"),
        None => "no model (deterministic checks only)".into(),
    });
    if let Some(t) = tokens_note {
        meta.push(t.to_string());
    }
    if let Some(task) = &r.task {
        meta.push(format!("task {task}"));
    }
    md.push_str(&format!("_{}_\n\n", meta.join(" · ")));
    if !r.summary.is_empty() {
        md.push_str(&safe(&r.summary));
        md.push_str("\n\n");
    }
    for n in &r.verdict_notes {
        md.push_str(&format!("> **Verdict:** {}\n\n", safe(n)));
    }
    if let Some(e) = &r.model_error {
        md.push_str(&format!("> ⚠️ Model review failed: {}\n\n", safe(e)));
    }
    for f in &r.model_failures {
        md.push_str(&format!(
            "> ⚠️ A part of the model review failed (its files are listed below as not reviewed): {}\n\n",
            safe(&crate::llm::progress::first_chars(f, 400))
        ));
    }
    if !r.criteria.is_empty() {
        md.push_str("| Acceptance criterion | Status | Evidence |\n|---|---|---|\n");
        for c in &r.criteria {
            let s = match c.status {
                CriterionStatus::Met => "✅ met",
                CriterionStatus::NotMet => "❌ not met",
                CriterionStatus::Unclear => "❔ unclear",
            };
            md.push_str(&format!(
                "| {} | {s} | {} |\n",
                safe(&c.criterion),
                safe(&c.evidence)
            ));
        }
        md.push('\n');
    }
    if !r.deterministic.is_empty() {
        md.push_str("**Checks**\n\n");
        for c in &r.deterministic {
            let forced = if c.forces_changes {
                " (blocks approval)"
            } else {
                ""
            };
            md.push_str(&format!(
                "- {:?}{forced}: {}\n",
                c.severity,
                safe(&c.message)
            ));
        }
        md.push('\n');
    }
    let all: Vec<_> = r.findings.iter().chain(&r.general_findings).collect();
    if !all.is_empty() {
        md.push_str("**Findings**\n\n");
        for f in all {
            md.push_str(&format!(
                "- `{}:{}` {:?}: {}\n",
                safe(&f.path).replace('`', "'"),
                f.line,
                f.severity,
                safe(&f.message)
            ));
        }
        md.push('\n');
    }
    md.push_str(&format!("Files reviewed: {}", r.files_reviewed.len()));
    if r.files_clipped.is_empty() {
        md.push_str(".\n");
    } else {
        md.push_str(&format!(
            "; not fully reviewed ({}):\n",
            r.files_clipped.len()
        ));
        list(&mut md, &r.files_clipped);
    }
    if !r.files_covered.is_empty() {
        md.push_str(&format!(
            "\nNot read in full, covered by the deterministic checks ({}):\n",
            r.files_covered.len()
        ));
        list(&mut md, &r.files_covered);
    }
    md
}

fn list(md: &mut String, items: &[String]) {
    for f in items.iter().take(MAX_LISTED) {
        md.push_str(&format!("- {}\n", safe(f)));
    }
    if items.len() > MAX_LISTED {
        md.push_str(&format!(
            "- … and {} more (`review --json` lists them all)\n",
            items.len() - MAX_LISTED
        ));
    }
}
