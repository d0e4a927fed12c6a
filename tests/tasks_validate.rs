//! Validation: every error kind, exact cycle text, and broken files skipped without stopping
//! the others.

use codex_orchestrator::tasks::{Diagnostic, Severity, default_states, load_from_memory};

fn task(id: &str, extra: &str) -> String {
    format!(
        "---\nid: {id}\ntitle: Task {id}\ntype: feature\npriority: P2\nstatus: queued\nacceptance:\n  - \"check\"\n{extra}---\nbody\n"
    )
}

fn load(files: &[(&str, String)]) -> Vec<Diagnostic> {
    let files: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(p, t)| (format!("tasks/{p}"), t.as_bytes().to_vec()))
        .collect();
    load_from_memory(files, &default_states()).diagnostics
}

fn messages(d: &[Diagnostic]) -> Vec<String> {
    d.iter().map(|d| d.to_string()).collect()
}

#[test]
fn clean_set_has_no_diagnostics() {
    let d = load(&[
        ("T-0001-a.md", task("T-0001", "depends_on: []\n")),
        ("T-0002-b.md", task("T-0002", "depends_on: [T-0001]\n")),
    ]);
    assert!(d.is_empty(), "{:#?}", messages(&d));
}

#[test]
fn cycle_path_is_printed_exactly() {
    let d = load(&[
        ("T-0003-a.md", task("T-0003", "depends_on: [T-0005]\n")),
        ("T-0005-b.md", task("T-0005", "depends_on: [T-0003]\n")),
    ]);
    let cycles: Vec<&Diagnostic> = d.iter().filter(|d| d.message.contains("cycle")).collect();
    assert_eq!(cycles.len(), 1, "{:#?}", messages(&d));
    assert!(
        cycles[0].message.contains("T-0003 → T-0005 → T-0003"),
        "{}",
        cycles[0].message
    );
    assert_eq!(cycles[0].path, "tasks/T-0003-a.md");
    assert_eq!(cycles[0].line, Some(9), "line of depends_on");
    assert_eq!(cycles[0].severity, Severity::Error);
}

#[test]
fn longer_cycle_is_the_shortest_path_round_from_the_lowest_id() {
    let d = load(&[
        ("T-0001-a.md", task("T-0001", "depends_on: [T-0004]\n")),
        ("T-0002-b.md", task("T-0002", "depends_on: [T-0001]\n")),
        ("T-0003-c.md", task("T-0003", "depends_on: [T-0002]\n")),
        (
            "T-0004-d.md",
            task("T-0004", "depends_on: [T-0003, T-0002]\n"),
        ),
        ("T-0006-e.md", task("T-0006", "depends_on: [T-0004]\n")),
    ]);
    let cycles: Vec<&str> = d
        .iter()
        .filter(|d| d.message.contains("cycle"))
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(
        cycles,
        vec![
            "dependency cycle: T-0001 → T-0004 → T-0002 → T-0001; remove one of these dependencies"
        ]
    );
}

#[test]
fn missing_and_self_dependencies() {
    let d = load(&[(
        "T-0001-a.md",
        task("T-0001", "depends_on: [T-0001, T-0099, nope]\n"),
    )]);
    let m = messages(&d);
    assert!(
        m.iter().any(|s| s.contains("T-0001 depends on itself")),
        "{m:#?}"
    );
    assert!(
        m.iter()
            .any(|s| s.contains("T-0001 depends on T-0099, which does not exist")),
        "{m:#?}"
    );
    assert!(
        m.iter().any(|s| s.contains("`nope` is not a task id")),
        "{m:#?}"
    );
    assert!(d.iter().all(|d| d.line == Some(9)), "{m:#?}");
    assert!(
        !m.iter().any(|s| s.contains("cycle")),
        "self-dependency is not also a cycle: {m:#?}"
    );
}

#[test]
fn duplicate_ids_and_file_name_mismatch() {
    let d = load(&[
        ("T-0001-a.md", task("T-0001", "")),
        ("T-0001-b.md", task("T-0001", "")),
        ("T-0002-c.md", task("T-0007", "")),
    ]);
    let m = messages(&d);
    assert!(m.contains(&"tasks/T-0001-a.md:2: error: duplicate id T-0001, also used by tasks/T-0001-b.md; give one of them a new id (see docs/tasks.md)".to_string()), "{m:#?}");
    assert!(
        m.iter().any(|s| s.starts_with(
            "tasks/T-0001-b.md:2: error: duplicate id T-0001, also used by tasks/T-0001-a.md"
        )),
        "{m:#?}"
    );
    assert!(m.contains(&"tasks/T-0002-c.md:2: error: id T-0007 does not match the file name `T-0002-c.md`; name the file `T-0007-<short-title>.md` or fix the id".to_string()), "{m:#?}");
}

#[test]
fn unknown_status_priority_and_empty_acceptance() {
    let text = "---\nid: T-0001\ntitle: x\npriority: P9\nstatus: doing\nacceptance: []\n---\n";
    let d = load(&[("T-0001-x.md", text.to_string())]);
    let m = messages(&d);
    assert_eq!(
        m,
        vec![
            "tasks/T-0001-x.md:4: error: unknown priority `P9`; use one of P0, P1, P2, P3",
            "tasks/T-0001-x.md:5: error: unknown status `doing`; use one of: queued, in_review, ready_for_integration, done, blocked",
            "tasks/T-0001-x.md:6: error: acceptance list is empty; add at least one criterion a reviewer can check",
        ]
    );
}

#[test]
fn missing_fields_are_reported() {
    let d = load(&[("T-0001-x.md", "---\nid: T-0001\n---\n".to_string())]);
    let m = messages(&d).join("\n");
    for needle in [
        "missing `title`",
        "missing `status`",
        "missing `priority`",
        "acceptance list is empty",
    ] {
        assert!(m.contains(needle), "{needle} not in {m}");
    }
}

#[test]
fn states_come_from_configuration() {
    let text = task("T-0001", "");
    let files = vec![("tasks/T-0001-x.md".to_string(), text.into_bytes())];
    let states = vec!["todo".to_string(), "done".to_string()];
    let d = load_from_memory(files, &states).diagnostics;
    assert_eq!(d.len(), 1);
    assert!(
        d[0].message
            .contains("unknown status `queued`; use one of: todo, done")
    );
}

#[test]
fn malformed_yaml_reports_file_and_line_and_others_still_load() {
    let broken = "---\nid: T-0002\ntitle: ok\nacceptance:\n  - \"unterminated\n---\n";
    let files = vec![
        (
            "tasks/T-0001-a.md".to_string(),
            task("T-0001", "").into_bytes(),
        ),
        ("tasks/T-0002-b.md".to_string(), broken.as_bytes().to_vec()),
        (
            "tasks/T-0003-c.md".to_string(),
            task("T-0003", "").into_bytes(),
        ),
    ];
    let set = load_from_memory(files, &default_states());
    assert_eq!(set.tasks.len(), 2);
    assert_eq!(set.files.len(), 3);
    assert_eq!(set.diagnostics.len(), 1, "{:#?}", set.diagnostics);
    let d = &set.diagnostics[0];
    assert_eq!(d.path, "tasks/T-0002-b.md");
    assert!(
        d.message.starts_with("malformed YAML front matter"),
        "{}",
        d.message
    );
    assert!(d.message.ends_with("(file skipped)"), "{}", d.message);
    assert!(matches!(d.line, Some(5..=6)), "{d}");
}

#[test]
fn yaml_error_line_is_a_file_line() {
    let broken = "---\nid: T-0001\ntitle: ok\nstatus: [queued\npriority: P1\n---\n";
    let set = load_from_memory(
        vec![("tasks/T-0001.md", broken.as_bytes().to_vec())],
        &default_states(),
    );
    let d = &set.diagnostics[0];
    assert!(d.line.is_some_and(|l| (4..=6).contains(&l)), "{d}");
}

#[test]
fn wrong_field_shapes_are_reported_but_the_task_loads() {
    let text = "---\nid: T-0001\ntitle: x\npriority: P1\nstatus: queued\nacceptance: just one string\ndepends_on: {a: 1}\n---\n";
    let set = load_from_memory(
        vec![("tasks/T-0001.md", text.as_bytes().to_vec())],
        &default_states(),
    );
    assert_eq!(set.tasks.len(), 1);
    let m = messages(&set.diagnostics);
    assert!(m.contains(&"tasks/T-0001.md:6: error: `acceptance` must be a list (`[]` or `- item` lines), found a string; the value is ignored".to_string()), "{m:#?}");
    assert!(
        m.iter()
            .any(|s| s.starts_with("tasks/T-0001.md:7: error: `depends_on` must be a list")),
        "{m:#?}"
    );
}

#[test]
fn template_and_readme_are_not_tasks() {
    let files = vec![
        ("tasks/_template.md", b"---\nid: T-0000\n---\n".to_vec()),
        ("tasks/README.md", b"# Tasks\n".to_vec()),
        ("tasks/notes.txt", b"x".to_vec()),
    ];
    let set = load_from_memory(files, &default_states());
    assert!(set.tasks.is_empty() && set.diagnostics.is_empty() && set.files.is_empty());
}

#[test]
fn annotations_point_at_file_and_line() {
    let d = load(&[("T-0001-a.md", task("T-0001", "depends_on: [T-0099]\n"))]);
    assert_eq!(
        codex_orchestrator::cli::tasks_cmd::to_annotation(&d[0]),
        "::error file=tasks/T-0001-a.md,line=9::T-0001 depends on T-0099, which does not exist (no task file has that id); fix or remove it"
    );
}

#[test]
fn unreadable_estimate_and_unknown_type_are_warnings() {
    let text = "---\nid: T-0001\ntitle: x\ntype: epic\npriority: P1\nstatus: queued\nestimate: soon\nacceptance: [x]\n---\n";
    let d = load(&[("T-0001-x.md", text.to_string())]);
    assert_eq!(
        messages(&d),
        vec![
            "tasks/T-0001-x.md:4: warning: unknown type `epic`; use one of: feature, bugfix, doc, chore",
            "tasks/T-0001-x.md:7: warning: estimate `soon` is not understood; write it like 90m, 2h, 1d, 1.5d or 3 days",
        ]
    );
}
