//! Task files written from the repository's own `tasks/_template.md`: the template's key order,
//! its extra keys and its body are kept, and the planner's values replace the placeholders. When
//! the template cannot be used (no front matter, or the result does not read back as the same
//! task), the built-in renderer writes the file instead, and the caller is told.

use crate::tasks::frontmatter;
use crate::tasks::{Task, TaskMeta, render_task};

/// A front-matter block: a top-level `key:` line with its indented or `- ` continuation lines,
/// or a line of its own (comment, blank).
fn blocks(yaml: &str) -> Vec<(Option<String>, String)> {
    let mut out: Vec<(Option<String>, String)> = Vec::new();
    for line in yaml.split_inclusive('\n') {
        let continuation = line.starts_with([' ', '\t', '-']) && !line.trim().is_empty();
        let key = (!continuation && !line.trim_start().starts_with('#'))
            .then(|| line.split_once(':'))
            .flatten()
            .map(|(k, _)| k.trim().trim_matches(['"', '\'']).to_string())
            .filter(|k| !k.is_empty());
        match out.last_mut() {
            Some((Some(_), text)) if continuation => text.push_str(line),
            _ => out.push((key, line.to_string())),
        }
    }
    out
}

fn same_task(parsed: &TaskMeta, meta: &TaskMeta) -> bool {
    parsed.id == meta.id
        && parsed.title == meta.title
        && parsed.task_type == meta.task_type
        && parsed.priority == meta.priority
        && parsed.depends_on == meta.depends_on
        && parsed.status == meta.status
        && parsed.estimate == meta.estimate
        && parsed.acceptance == meta.acceptance
        && parsed.files == meta.files
}

/// The file text for `meta` and `body`, and whether the template was used.
pub fn render(template: Option<&str>, path: &str, meta: &TaskMeta, body: &str) -> (String, bool) {
    let builtin = render_task(meta, body);
    let Some(template) = template else {
        return (builtin, false);
    };
    let template = template
        .trim_start_matches('\u{feff}')
        .replace("\r\n", "\n");
    let Ok(split) = frontmatter::split(&template) else {
        return (builtin, false);
    };
    let ours_text = render_task(meta, "");
    let ours_yaml = ours_text
        .strip_prefix("---\n")
        .and_then(|t| t.strip_suffix("---\n"))
        .unwrap_or("");
    let ours = blocks(ours_yaml);
    let mut used = vec![false; ours.len()];
    let mut yaml = String::new();
    for (key, text) in blocks(&template[split.yaml_start..split.yaml_end]) {
        let Some(key) = key else {
            yaml.push_str(&text);
            continue;
        };
        match ours
            .iter()
            .position(|(k, _)| k.as_deref() == Some(key.as_str()))
        {
            Some(i) => {
                yaml.push_str(&ours[i].1);
                used[i] = true;
            }
            // A key the engine knows but this task leaves unset: the placeholder goes.
            None if crate::tasks::task::KNOWN_KEYS.contains(&key.as_str()) => {}
            None => {
                yaml.push_str(&text);
                if !text.ends_with('\n') {
                    yaml.push('\n');
                }
            }
        }
    }
    for (i, (_, text)) in ours.iter().enumerate() {
        if !used[i] {
            yaml.push_str(text);
        }
    }
    let template_body = template[split.body_start..].trim();
    let mut text = format!("---\n{yaml}---\n{body}");
    if !template_body.is_empty() {
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text.push('\n');
        text.push_str(template_body);
        text.push('\n');
    }
    match Task::parse(path.to_string(), text.as_bytes()) {
        Ok(t) if same_task(t.meta(), meta) => (text, true),
        _ => (builtin, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::TaskId;

    const TEMPLATE: &str = "---\nid: T-0000\ntitle: <title>\ntype: feature|bugfix|doc|chore\npriority: P2\ndepends_on: []\nstatus: queued\nowner: unassigned\nteam: platform   # ours\nestimate: 2h\nacceptance:\n  - \"<acceptance 1>\"\n  - \"<acceptance 2>\"\nauto_policy: review_required\n---\n## Notes\n";

    fn meta() -> TaskMeta {
        let mut m = TaskMeta::new(TaskId(12), "Add: login \"page\"");
        m.depends_on = vec!["T-0003".into()];
        m.acceptance = vec!["a user can log in".into(), "yes".into()];
        m.files = vec!["src/login.py".into()];
        m.estimate = Some("4h".into());
        m
    }

    #[test]
    fn keeps_the_templates_order_extra_keys_and_body() {
        let (text, used) = render(
            Some(TEMPLATE),
            "tasks/T-0012-x.md",
            &meta(),
            "From the PRD.\n",
        );
        assert!(used, "{text}");
        assert!(text.contains("team: platform   # ours\n"), "{text}");
        assert!(!text.contains("<acceptance"), "{text}");
        assert!(text.ends_with("From the PRD.\n\n## Notes\n"), "{text}");
        let owner = text.find("owner:").unwrap();
        assert!(
            text.find("team:").unwrap() > owner
                && text.find("estimate:").unwrap() > text.find("team:").unwrap()
        );
        assert!(text.contains("files:\n  - src/login.py\n"), "{text}");
        let t = Task::parse("tasks/T-0012-x.md", text.as_bytes()).unwrap();
        assert_eq!(t.meta().title, "Add: login \"page\"");
        assert_eq!(t.meta().acceptance, ["a user can log in", "yes"]);
    }

    #[test]
    fn falls_back_without_a_usable_template() {
        let (text, used) = render(Some("no front matter"), "tasks/T-0012-x.md", &meta(), "");
        assert!(!used);
        assert_eq!(text, render_task(&meta(), ""));
        assert!(!render(None, "p", &meta(), "").1);
    }
}
