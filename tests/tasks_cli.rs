//! The `tasks` subcommands over a repository directory: output, JSON shape, exit codes and
//! Actions annotations.

use clap::Parser;
use codex_orchestrator::cli::tasks_cmd::{TasksCommand, TasksContext, run, run_on};
use codex_orchestrator::tasks::load_repo_tasks;

fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("tasks")).unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join("tasks").join(name), text).unwrap();
    }
    dir
}

fn task(id: &str, priority: &str, status: &str, deps: &str) -> String {
    format!(
        "---\nid: {id}\ntitle: Task {id}\npriority: {priority}\nstatus: {status}\ndepends_on: [{deps}]\nacceptance: [\"ok\"]\n---\nBody of {id}.\n"
    )
}

fn exec(cmd: TasksCommand, ctx: &TasksContext) -> (i32, String) {
    let mut out = Vec::new();
    let code = run(&cmd, ctx, &mut out).unwrap();
    (code, String::from_utf8(out).unwrap())
}

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: TasksCommand,
}

#[test]
fn clap_parses_the_subcommands() {
    let c = Cli::parse_from(["x", "list", "--status", "queued", "--json"]);
    assert_eq!(
        c.cmd,
        TasksCommand::List {
            status: Some("queued".into()),
            json: true
        }
    );
    assert_eq!(
        Cli::parse_from(["x", "next"]).cmd,
        TasksCommand::Next { json: false }
    );
    assert_eq!(
        Cli::parse_from(["x", "validate"]).cmd,
        TasksCommand::Validate
    );
    assert_eq!(
        Cli::parse_from(["x", "show", "T-0001"]).cmd,
        TasksCommand::Show {
            id: "T-0001".into()
        }
    );
}

#[test]
fn list_next_show_on_a_small_repo() {
    let a = task("T-0001", "P1", "done", "");
    let b = task("T-0002", "P2", "queued", "T-0001");
    let c = task("T-0003", "P0", "queued", "T-0002");
    let dir = repo(&[
        ("T-0001-a.md", &a),
        ("T-0002-b.md", &b),
        ("T-0003-c.md", &c),
    ]);
    let ctx = TasksContext::new(dir.path());

    let (code, out) = exec(
        TasksCommand::List {
            status: None,
            json: false,
        },
        &ctx,
    );
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(out.starts_with("T-0001  done"), "{out}");

    let (_, out) = exec(
        TasksCommand::List {
            status: Some("queued".into()),
            json: true,
        },
        &ctx,
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["T-0002", "T-0003"]);
    assert_eq!(v[0]["path"], "tasks/T-0002-b.md");
    assert_eq!(v[0]["depends_on"][0], "T-0001");

    let (code, out) = exec(TasksCommand::Next { json: false }, &ctx);
    assert_eq!(code, 0);
    assert_eq!(out, "next: T-0002 Task T-0002 (P2; 1 eligible)\n");
    let (_, out) = exec(TasksCommand::Next { json: true }, &ctx);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["next"]["id"], "T-0002");
    assert_eq!(v["eligible"], serde_json::json!(["T-0002"]));

    let (code, out) = exec(
        TasksCommand::Show {
            id: "T-0003".into(),
        },
        &ctx,
    );
    assert_eq!((code, out.as_str()), (0, c.as_str()));
    let (code, out) = exec(
        TasksCommand::Show {
            id: "T-0009".into(),
        },
        &ctx,
    );
    assert_eq!(code, 1);
    assert!(out.contains("no task with id T-0009"));
}

#[test]
fn next_explains_why_none() {
    let a = task("T-0001", "P1", "in_review", "");
    let b = task("T-0002", "P2", "queued", "T-0001");
    let dir = repo(&[("T-0001-a.md", &a), ("T-0002-b.md", &b)]);
    let (code, out) = exec(
        TasksCommand::Next { json: false },
        &TasksContext::new(dir.path()),
    );
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "none of the 1 queued tasks has all its dependencies done\n- T-0002 waits for T-0001 (in_review)\n"
    );
    let (_, out) = exec(
        TasksCommand::Next { json: true },
        &TasksContext::new(dir.path()),
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["next"], serde_json::Value::Null);
    assert_eq!(
        v["blocked"][0]["waiting_for"][0],
        serde_json::json!({"id": "T-0001", "status": "in_review"})
    );
}

#[test]
fn validate_exit_codes_and_annotations() {
    let good = task("T-0001", "P1", "queued", "");
    let dir = repo(&[("T-0001-a.md", &good)]);
    let ctx = TasksContext::new(dir.path());
    let set = load_repo_tasks(dir.path(), "tasks", &ctx.states);
    let mut out = Vec::new();
    assert_eq!(
        run_on(&TasksCommand::Validate, &ctx, &set, false, &mut out).unwrap(),
        0
    );
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "1 task files, 1 loaded: 0 errors, 0 warnings\n"
    );

    let bad_dep = task("T-0002", "P1", "queued", "T-0003");
    let cyc_a = task("T-0003", "P1", "queued", "T-0005");
    let cyc_b = task("T-0005", "P1", "queued", "T-0003");
    let dir = repo(&[
        ("T-0001-a.md", &good),
        ("T-0002-b.md", &bad_dep.replace("T-0003", "T-0042")),
        ("T-0003-c.md", &cyc_a),
        ("T-0005-d.md", &cyc_b),
        (
            "T-0006-broken.md",
            "---\nid: T-0006\ntitle: [unclosed\n---\n",
        ),
    ]);
    let ctx = TasksContext::new(dir.path());
    let set = load_repo_tasks(dir.path(), "tasks", &ctx.states);
    let mut out = Vec::new();
    assert_eq!(
        run_on(&TasksCommand::Validate, &ctx, &set, true, &mut out).unwrap(),
        1
    );
    let out = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert_eq!(
        lines[0],
        "::error file=tasks/T-0002-b.md,line=6::T-0002 depends on T-0042, which does not exist (no task file has that id); fix or remove it"
    );
    assert_eq!(
        lines[1],
        "::error file=tasks/T-0003-c.md,line=6::dependency cycle: T-0003 → T-0005 → T-0003; remove one of these dependencies"
    );
    assert!(
        lines[2].starts_with("::error file=tasks/T-0006-broken.md,line="),
        "{}",
        lines[2]
    );
    assert_eq!(lines[3], "5 task files, 4 loaded: 3 errors, 0 warnings");

    // Plain output when not in Actions; the public `run` agrees on the exit code.
    let (code, out) = exec(TasksCommand::Validate, &ctx);
    assert_eq!(code, 1);
    if std::env::var("GITHUB_ACTIONS").as_deref() != Ok("true") {
        assert!(
            out.contains("tasks/T-0003-c.md:6: error: dependency cycle: T-0003 → T-0005 → T-0003"),
            "{out}"
        );
    }
}

#[test]
fn missing_tasks_dir_is_an_empty_valid_set() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out) = exec(TasksCommand::Validate, &TasksContext::new(dir.path()));
    assert_eq!(code, 0);
    assert_eq!(out, "0 task files, 0 loaded: 0 errors, 0 warnings\n");
    let (_, out) = exec(
        TasksCommand::Next { json: false },
        &TasksContext::new(dir.path()),
    );
    assert_eq!(out, "no tasks: the tasks directory has no task files\n");
}

fn messy_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, bytes) in crate::tasks_next::messy_set() {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    dir
}

#[test]
fn next_skips_invalid_tasks_and_exits_1_on_errors() {
    let dir = messy_repo();
    let ctx = TasksContext::new(dir.path());
    let (code, out) = exec(TasksCommand::Next { json: false }, &ctx);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with(
            "next: T-0050 Valid (P2; 1 eligible)\nskipped 7 task file(s) with errors:\n"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "\n- tasks/T-0015-wrong-id.md (T-0010): id T-0010 does not match the file name"
        ),
        "{out}"
    );
    let (code, out) = exec(TasksCommand::Next { json: true }, &ctx);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["next"]["id"], "T-0050");
    assert_eq!(v["skipped"][1]["path"], "tasks/T-0015-wrong-id.md");
    assert_eq!(v["skipped"][1]["id"], "T-0010");
    assert_eq!(v["skipped"][1]["status"], "queued");
    assert!(
        v["skipped"][1]["reasons"][0]
            .as_str()
            .unwrap()
            .contains("T-0010")
    );
    assert!(v["errors"].as_u64().unwrap() >= 7, "{v}");

    // A valid set: exit 0 and the same JSON with nothing skipped.
    let ok = task("T-0001", "P1", "queued", "");
    let dir = repo(&[("T-0001-a.md", &ok)]);
    let (code, out) = exec(
        TasksCommand::Next { json: true },
        &TasksContext::new(dir.path()),
    );
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (v["skipped"].clone(), v["errors"].clone()),
        (serde_json::json!([]), serde_json::json!(0))
    );
}

#[test]
fn list_with_an_unknown_status_is_an_error_naming_the_states() {
    let a = task("T-0001", "P1", "queued", "");
    let dir = repo(&[("T-0001-a.md", &a)]);
    let mut out = Vec::new();
    let err = run(
        &TasksCommand::List {
            status: Some("bogus".into()),
            json: false,
        },
        &TasksContext::new(dir.path()),
        &mut out,
    )
    .unwrap_err();
    assert!(out.is_empty());
    assert_eq!(
        err.to_string(),
        "unknown status `bogus` for --status; use one of: queued, in_review, ready_for_integration, done, blocked (tasks.states in .llm-team.yml)"
    );
    // Configured states are the valid ones.
    let mut ctx = TasksContext::new(dir.path());
    ctx.states = vec!["todo".into(), "queued".into()];
    let (code, _) = exec(
        TasksCommand::List {
            status: Some("todo".into()),
            json: false,
        },
        &ctx,
    );
    assert_eq!(code, 0);
}

#[test]
fn the_binary_exit_codes_for_next_and_list() {
    use crate::support::{cmd, run as run_bin};
    let dir = messy_repo();
    let next = run_bin(cmd(dir.path()).args(["tasks", "next"]));
    assert_eq!(next.code, 1, "{}{}", next.stdout, next.stderr);
    assert!(next.stdout.starts_with("next: T-0050 "), "{}", next.stdout);
    assert!(
        next.stdout.contains("tasks/T-0015-wrong-id.md (T-0010)"),
        "{}",
        next.stdout
    );
    let bogus = run_bin(cmd(dir.path()).args(["tasks", "list", "--status", "bogus"]));
    assert_eq!(bogus.code, 2, "{}{}", bogus.stdout, bogus.stderr);
    assert_eq!(bogus.stdout, "");
    assert!(
        bogus
            .stderr
            .contains("unknown status `bogus` for --status; use one of: queued, in_review"),
        "{}",
        bogus.stderr
    );
    std::fs::remove_file(dir.path().join("tasks/T-0015-wrong-id.md")).unwrap();
    let list = run_bin(cmd(dir.path()).args(["tasks", "list", "--status", "queued"]));
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert!(list.stdout.starts_with("T-0010  queued"), "{}", list.stdout);
}
