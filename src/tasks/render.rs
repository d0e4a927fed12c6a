//! Writes a new task file (for the Taskmaster's seed and the planner) deterministically: the
//! template's key order, LF line endings, and every string quoted when YAML could misread it.

use serde_json::Value;

use super::task::TaskMeta;
use super::yaml_text::{double_quoted, quote};

fn push_list(out: &mut String, key: &str, items: &[String], force_double: bool) {
    if items.is_empty() {
        out.push_str(&format!("{key}: []\n"));
        return;
    }
    out.push_str(&format!("{key}:\n"));
    for item in items {
        let q = if force_double {
            double_quoted(item)
        } else {
            quote(item)
        };
        out.push_str(&format!("  - {q}\n"));
    }
}

/// Renders a JSON value as YAML flow text (JSON is valid YAML; strings use YAML quoting).
fn flow(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => double_quoted(s),
        Value::Array(a) => format!("[{}]", a.iter().map(flow).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", double_quoted(k), flow(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The full text of a task file for `meta` followed by `body` (Markdown; a trailing newline is
/// added when missing). Keys follow the template order; optional keys are written when set;
/// unknown keys (`extra`) come last in name order.
pub fn render_task(meta: &TaskMeta, body: &str) -> String {
    let mut out = String::from("---\n");
    out.push_str(&format!("id: {}\n", meta.id));
    out.push_str(&format!("title: {}\n", quote(&meta.title)));
    if let Some(t) = &meta.task_type {
        out.push_str(&format!("type: {}\n", quote(t)));
    }
    out.push_str(&format!("priority: {}\n", quote(meta.priority.as_str())));
    if meta.depends_on.is_empty() {
        out.push_str("depends_on: []\n");
    } else {
        // Flow context: a plain `,` would split the item, so such ids are double-quoted.
        let deps: Vec<String> = meta
            .depends_on
            .iter()
            .map(|d| {
                if d.contains(',') {
                    double_quoted(d)
                } else {
                    quote(d)
                }
            })
            .collect();
        out.push_str(&format!("depends_on: [{}]\n", deps.join(", ")));
    }
    out.push_str(&format!("status: {}\n", quote(&meta.status)));
    if let Some(o) = &meta.owner {
        out.push_str(&format!("owner: {}\n", quote(o)));
    }
    if let Some(e) = &meta.estimate {
        out.push_str(&format!("estimate: {}\n", quote(e)));
    }
    push_list(&mut out, "acceptance", &meta.acceptance, true);
    if let Some(a) = &meta.auto_policy {
        out.push_str(&format!("auto_policy: {}\n", quote(a)));
    }
    if !meta.files.is_empty() {
        push_list(&mut out, "files", &meta.files, false);
    }
    if !meta.out_of_scope.is_empty() {
        push_list(&mut out, "out_of_scope", &meta.out_of_scope, false);
    }
    for (k, v) in &meta.extra {
        out.push_str(&format!("{}: {}\n", quote(k), flow(v)));
    }
    out.push_str("---\n");
    out.push_str(body);
    if !body.is_empty() && !body.ends_with('\n') {
        out.push('\n');
    }
    out
}
