//! The GitHub forge against the fake GitHub with faults on: no duplicate PRs after a timed-out
//! create, one comment across re-runs, moved branches rebuilt (never forced), the default branch
//! never written, observe mode writing nothing, and GitHub's 403/422/5xx answers handled.

use crate::support;

use std::time::Duration;

use codex_orchestrator::config::{Config, Mode};
use codex_orchestrator::forge::github::GitHub;
use codex_orchestrator::forge::github::client::Settings;
use codex_orchestrator::forge::{FileChange, Forge, ForgeError, ForgeRead, NewPullRequest, RepoId};
use codex_orchestrator::policy::{Guard, Guarded};
use support::fake_github::{FakeGitHub, FaultKind};
use support::upsert::{self, Upserted};

fn settings(fake: &FakeGitHub) -> Settings {
    let mut s = Settings::new(&fake.url, "ghs_test_token");
    s.timeout = Duration::from_millis(700);
    s.connect_timeout = Duration::from_millis(500);
    s.secondary_backoff = Duration::from_millis(10);
    s.read_backoff = Duration::from_millis(5);
    s
}

thread_local! {
    // One runtime per test thread: the client's pooled connections belong to it and outlive each call.
    static RT: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
}

fn github(fake: &FakeGitHub) -> GitHub {
    RT.with(|rt| {
        let _inside = rt.enter();
        GitHub::new(RepoId::parse("octo/app").unwrap(), settings(fake)).unwrap()
    })
}

fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    RT.with(|rt| rt.block_on(f))
}

fn new_pr(head: &str) -> NewPullRequest {
    NewPullRequest {
        title: "T-0001 Initialize basic CI".into(),
        head: head.into(),
        base: "main".into(),
        body: "Task: T-0001".into(),
        draft: false,
    }
}

#[test]
fn a_create_that_times_out_yields_exactly_one_pr() {
    let fake = FakeGitHub::start();
    fake.with(|s| s.commit_files("feature/T-0001-ci", &[("ci.yml", "on: push\n")], "ci"));
    fake.fault(
        "POST",
        "/pulls",
        FaultKind::SlowAfterApply(Duration::from_millis(1500)),
        1,
    );
    let gh = github(&fake);
    let pr = block(gh.create_pull_request(&new_pr("feature/T-0001-ci"))).unwrap();
    assert_eq!(pr.head_ref, "feature/T-0001-ci");
    assert_eq!(fake.with(|s| s.pulls.len()), 1, "exactly one PR");
    let posts = fake
        .writes()
        .into_iter()
        .filter(|l| l.path.ends_with("/pulls"))
        .count();
    assert_eq!(posts, 1, "the lookup found it, so no second POST");

    // Running the whole thing again (a re-run of the job) finds and keeps the same PR.
    let (again, what) = block(upsert::ensure_pr(&gh, &new_pr("feature/T-0001-ci"))).unwrap();
    assert_eq!((again.number, what), (pr.number, Upserted::Unchanged));
    // A 422 "already exists" on create is turned into an update of the existing PR.
    let mut changed = new_pr("feature/T-0001-ci");
    changed.body = "Task: T-0001\nupdated".into();
    let updated = block(gh.create_pull_request(&changed)).unwrap();
    assert_eq!(
        (updated.number, updated.body.as_str()),
        (pr.number, "Task: T-0001\nupdated")
    );
    assert_eq!(fake.with(|s| s.pulls.len()), 1);
}

#[test]
fn reruns_edit_one_comment() {
    let fake = FakeGitHub::start();
    let gh = github(&fake);
    let marker = upsert::marker("reviewer");
    let runs = [("sha-1", "first"), ("sha-1", "first"), ("sha-2", "second")];
    let mut results = Vec::new();
    for (sha, text) in runs {
        let body = format!("Reviewed {sha}: {text}");
        results.push(
            block(upsert::upsert_comment(&gh, 7, &marker, &body))
                .unwrap()
                .1,
        );
    }
    assert_eq!(
        results,
        [Upserted::Created, Upserted::Unchanged, Upserted::Updated]
    );
    let comments = fake.with(|s| s.comments.clone());
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0]
            .2
            .starts_with("<!-- codex-orchestrator:reviewer -->\nReviewed sha-2")
    );
    let comment_writes = fake
        .writes()
        .into_iter()
        .filter(|l| l.path.contains("comments"))
        .count();
    assert_eq!(
        comment_writes, 2,
        "one create, one edit, nothing for the unchanged re-run"
    );
}

#[test]
fn a_moved_branch_is_rebuilt_on_its_new_head_never_forced() {
    let fake = FakeGitHub::start();
    let head = fake.with(|s| s.commit_files("feature/T-0002-x", &[("a.py", "a = 1\n")], "start"));
    fake.fault(
        "PATCH",
        "/git/refs/heads/feature/T-0002-x",
        FaultKind::ConcurrentPush("feature/T-0002-x"),
        1,
    );
    let gh = github(&fake);
    let changes = [FileChange::write("b.py", "b = 2\n")];
    let sha = block(upsert::commit_to_branch(
        &gh,
        "feature/T-0002-x",
        "Add b",
        &changes,
        None,
        3,
    ))
    .unwrap();
    fake.with(|s| {
        assert_eq!(s.refs["feature/T-0002-x"], sha);
        let parent = &s.commits[&sha].parents[0];
        assert_ne!(
            *parent, head,
            "rebuilt on the concurrent push, not on the stale head"
        );
        assert_eq!(s.commits[parent].message, "concurrent push");
        assert_eq!(
            s.file("feature/T-0002-x", "CONCURRENT.md").as_deref(),
            Some("pushed by someone else\n")
        );
        assert_eq!(
            s.file("feature/T-0002-x", "b.py").as_deref(),
            Some("b = 2\n")
        );
    });
    for l in fake.writes() {
        assert_ne!(
            l.body["force"],
            serde_json::json!(true),
            "never forced: {l:?}"
        );
    }
    let patches = fake
        .writes()
        .into_iter()
        .filter(|l| l.method == "PATCH")
        .count();
    assert_eq!(patches, 2, "one refused fast-forward, one success");

    // Moving the branch to where it already is succeeds (a re-run); a move from a stale
    // expectation to somewhere else is reported, not forced.
    block(gh.update_branch("feature/T-0002-x", &head, &sha)).unwrap();
    let stale_child = block(gh.create_commit(&codex_orchestrator::forge::NewCommit {
        parent: head.clone(),
        message: "built on the stale head".into(),
        changes: vec![FileChange::write("c.py", "c\n")],
        author: None,
    }))
    .unwrap();
    let err = block(gh.update_branch("feature/T-0002-x", &head, &stale_child)).unwrap_err();
    assert!(
        matches!(&err, ForgeError::BranchMoved { current, .. } if *current == sha),
        "{err}"
    );
    assert_eq!(fake.with(|s| s.refs["feature/T-0002-x"].clone()), sha);
}

fn guarded(fake: &FakeGitHub, mode: Mode, protected_branches: &[&str]) -> Guarded<GitHub> {
    let mut config = Config {
        mode,
        ..Config::default()
    };
    config.workflow.protected_branches = protected_branches.iter().map(|s| s.to_string()).collect();
    Guarded::new(github(fake), Guard::new(&config, "main").unwrap())
}

#[test]
fn the_default_branch_is_never_written() {
    let fake = FakeGitHub::start();
    let gh = guarded(&fake, Mode::Pr, &["release/*"]);
    let main = fake.with(|s| s.refs["main"].clone());
    let changes = [FileChange::write("x.md", "x\n")];
    for branch in ["main", "refs/heads/main", "MAIN"] {
        let e = block(gh.update_branch(branch, &main, &main)).unwrap_err();
        assert!(matches!(e, ForgeError::Refused(_)), "{branch}: {e}");
        let e = block(gh.create_branch(branch, &main)).unwrap_err();
        assert!(matches!(e, ForgeError::Refused(_)), "{branch}: {e}");
    }
    let e = block(upsert::commit_to_branch(
        &gh, "main", "direct", &changes, None, 1,
    ))
    .unwrap_err();
    assert!(matches!(e, ForgeError::Refused(_)), "{e}");
    let e = block(gh.create_branch("release/1.0", &main)).unwrap_err();
    assert!(e.to_string().contains("workflow.protected_branches"), "{e}");
    let e = block(gh.merge_pull_request(1, codex_orchestrator::forge::MergeMethod::Squash, &main))
        .unwrap_err();
    assert!(e.to_string().contains("not allowed to merge"), "{e}");

    // Protected paths and escapes are refused before anything is uploaded.
    for path in [
        ".github/workflows/x.yml",
        ".GITHUB/workflows/x.yml",
        "../../etc/passwd",
        "infra/main.tf",
        "a/.git/config",
    ] {
        let e = block(upsert::commit_to_branch(
            &gh,
            "feature/x",
            "m",
            &[FileChange::write(path, "x")],
            None,
            1,
        ));
        assert!(e.is_err(), "{path}");
    }
    for l in fake.writes() {
        assert!(
            !l.path.contains("/git/refs/heads/main"),
            "wrote the default branch: {l:?}"
        );
        assert_ne!(l.body["ref"], serde_json::json!("refs/heads/main"), "{l:?}");
        assert!(
            !l.path.contains("/git/blobs"),
            "uploaded content of a refused change: {l:?}"
        );
    }
}

#[test]
fn rate_limits_and_server_errors_are_waited_out_for_reads() {
    let fake = FakeGitHub::start();
    let gh = github(&fake);
    fake.fault(
        "GET",
        "/repos/octo/app",
        FaultKind::SecondaryLimit(Some(0)),
        1,
    );
    fake.fault("GET", "/repos/octo/app", FaultKind::SecondaryLimit(None), 1);
    fake.fault("GET", "/repos/octo/app", FaultKind::Status(502), 1);
    let repo = block(gh.repository()).unwrap();
    assert_eq!(repo.default_branch, "main");
    assert_eq!(gh.request_count(), 4);

    // A 5xx on a write is not blindly repeated: the create looks first.
    fake.with(|s| s.commit_files("feature/T-0005-w", &[("w.py", "w\n")], "w"));
    fake.fault("POST", "/pulls", FaultKind::Status(500), 1);
    let pr = block(gh.create_pull_request(&new_pr("feature/T-0005-w"))).unwrap();
    assert_eq!(fake.with(|s| s.pulls.len()), 1);
    assert_eq!(pr.head_ref, "feature/T-0005-w");
}

#[test]
fn permission_errors_say_what_to_change() {
    let fake = FakeGitHub::start();
    let gh = github(&fake);
    fake.with(|s| s.commit_files("feature/T-0006-v", &[("v.py", "v\n")], "v"));
    fake.fault(
        "POST",
        "/pulls",
        FaultKind::Forbidden("GitHub Actions is not permitted to create or approve pull requests."),
        1,
    );
    let e = block(gh.create_pull_request(&new_pr("feature/T-0006-v"))).unwrap_err();
    assert!(
        e.to_string()
            .contains("Allow GitHub Actions to create and approve pull requests"),
        "{e}"
    );
    fake.fault(
        "POST",
        "/comments",
        FaultKind::Forbidden("Resource not accessible by integration"),
        1,
    );
    let e = block(gh.create_comment(1, "x")).unwrap_err();
    assert!(e.to_string().contains("pull-requests: write"), "{e}");
}

#[test]
fn a_huge_pr_diff_is_refused_by_the_api_and_files_are_paginated() {
    let fake = FakeGitHub::start();
    let files: Vec<(String, String)> = (0..400)
        .map(|i| (format!("src/m{i}.py"), format!("x = {i}\n")))
        .collect();
    fake.with(|s| {
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let main = s.refs["main"].clone();
        s.refs.insert("feature/T-0007-big".into(), main);
        s.commit_files("feature/T-0007-big", &refs, "big");
    });
    let gh = github(&fake);
    let pr = block(gh.create_pull_request(&new_pr("feature/T-0007-big"))).unwrap();
    let e = block(gh.pull_request_diff(pr.number)).unwrap_err();
    assert!(matches!(e, ForgeError::DiffTooLarge { .. }), "{e}");
    let listed = block(gh.pull_request_files(pr.number)).unwrap();
    assert_eq!(listed.len(), 400);
}

#[test]
fn polled_reads_revalidate_with_etags_and_commits_go_through_git_data() {
    let fake = FakeGitHub::start();
    let gh = github(&fake);
    block(gh.create_comment(3, "one")).unwrap();
    let first = block(gh.comments(3)).unwrap();
    let second = block(gh.comments(3)).unwrap();
    assert_eq!(first, second);
    assert_eq!(fake.with(|s| s.etag_hits), 1, "the second read was a 304");

    let main = fake.with(|s| s.refs["main"].clone());
    block(gh.create_branch("feature/T-0008-u", &main)).unwrap();
    block(gh.create_branch("feature/T-0008-u", &main)).unwrap();
    let changes = [
        FileChange::write("docs/new.md", "new\n"),
        FileChange::delete("README.md"),
    ];
    let sha = block(upsert::commit_to_branch(
        &gh,
        "feature/T-0008-u",
        "docs",
        &changes,
        None,
        1,
    ))
    .unwrap();
    assert_eq!(
        block(gh.file_at("docs/new.md", &sha)).unwrap().as_deref(),
        Some(&b"new\n"[..])
    );
    assert_eq!(
        block(gh.file_at("README.md", "feature/T-0008-u")).unwrap(),
        None
    );
    assert_eq!(
        block(gh.file_at("README.md", "main")).unwrap().as_deref(),
        Some(&b"# app\n"[..])
    );
    let other = fake.with(|s| s.commit_files("elsewhere", &[("z", "z")], "z"));
    let e = block(gh.create_branch("feature/T-0008-u", &other)).unwrap_err();
    assert!(matches!(e, ForgeError::BranchExists { .. }), "{e}");
}

#[test]
fn primary_rate_limits_wait_when_cheap_and_fail_clearly_when_not() {
    let fake = FakeGitHub::start();
    let mut s = settings(&fake);
    s.max_rate_wait = Duration::from_secs(2);
    let gh = RT.with(|rt| {
        let _inside = rt.enter();
        GitHub::new(RepoId::parse("octo/app").unwrap(), s).unwrap()
    });
    fake.fault("GET", "/repos/octo/app", FaultKind::PrimaryLimit(0), 1);
    let started = std::time::Instant::now();
    assert_eq!(block(gh.repository()).unwrap().default_branch, "main");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "waited for the reset"
    );

    fake.fault("GET", "/repos/octo/app", FaultKind::PrimaryLimit(3600), 1);
    let e = block(gh.repository()).unwrap_err();
    assert!(matches!(e, ForgeError::RateLimited { .. }), "{e}");
    assert!(e.to_string().contains("API budget is used up"), "{e}");
}

/// A `retry-after: 86400` must not make the run sleep a day: the wait is capped by one
/// setting and the run stops at once with a message naming the wait and the setting.
#[test]
fn a_retry_after_beyond_the_cap_stops_at_once_with_a_message() {
    let fake = FakeGitHub::start();
    let mut s = settings(&fake);
    s.max_rate_wait = Duration::from_secs(300);
    let gh = RT.with(|rt| {
        let _inside = rt.enter();
        GitHub::new(RepoId::parse("octo/app").unwrap(), s).unwrap()
    });
    fake.fault(
        "GET",
        "/repos/octo/app",
        FaultKind::SecondaryLimit(Some(86400)),
        1,
    );
    let started = std::time::Instant::now();
    let e = block(gh.repository()).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "no day-long sleep"
    );
    assert!(matches!(e, ForgeError::RateLimited { .. }), "{e}");
    let text = e.to_string();
    assert!(text.contains("86400s"), "{text}");
    assert!(text.contains("CODEX_GITHUB_MAX_WAIT"), "{text}");

    // A short Retry-After within the cap is still honoured.
    fake.fault(
        "GET",
        "/repos/octo/app",
        FaultKind::SecondaryLimit(Some(1)),
        1,
    );
    assert_eq!(block(gh.repository()).unwrap().default_branch, "main");
}

/// Every body read from GitHub is bounded: an answer above the limit is refused with a clear
/// error instead of being buffered whole, and the read is not retried.
#[test]
fn an_answer_larger_than_the_body_limit_is_refused_not_buffered() {
    let fake = FakeGitHub::start();
    let mut s = settings(&fake);
    s.max_body_bytes = 64;
    let gh = RT.with(|rt| {
        let _inside = rt.enter();
        GitHub::new(RepoId::parse("octo/app").unwrap(), s).unwrap()
    });
    let before = fake.log().len();
    let e = block(gh.repository()).unwrap_err();
    assert!(matches!(e, ForgeError::Decode { .. }), "{e}");
    assert!(e.to_string().contains("larger than 64 bytes"), "{e}");
    assert_eq!(fake.log().len() - before, 1, "not retried");
}

#[test]
fn merges_are_permitted_only_for_the_integrators_own_prs() {
    let fake = FakeGitHub::start();
    let gh = guarded(&fake, Mode::Pr, &[]);
    let main = fake.with(|s| s.refs["main"].clone());
    let mut numbers = Vec::new();
    for branch in ["feature/T-0002-x", "integrate/T-0002"] {
        block(gh.create_branch(branch, &main)).unwrap();
        let changes = [FileChange::write(format!("{branch}.md"), "x\n")];
        block(upsert::commit_to_branch(
            &gh, branch, "work", &changes, None, 1,
        ))
        .unwrap();
        let pr = block(gh.create_pull_request(&NewPullRequest {
            title: branch.into(),
            head: branch.into(),
            base: "main".into(),
            body: String::new(),
            draft: false,
        }))
        .unwrap();
        numbers.push((pr.number, pr.head_sha));
    }
    gh.permit_merges_from("integrate/");
    let squash = codex_orchestrator::forge::MergeMethod::Squash;
    let e = block(gh.merge_pull_request(numbers[0].0, squash, &numbers[0].1)).unwrap_err();
    assert!(e.to_string().contains("not allowed to merge"), "{e}");
    assert_eq!(
        fake.with(|s| s.refs["main"].clone()),
        main,
        "nothing merged"
    );
    block(gh.merge_pull_request(numbers[1].0, squash, &numbers[1].1)).unwrap();
    assert_ne!(
        fake.with(|s| s.refs["main"].clone()),
        main,
        "the integration PR merged"
    );
    // Auto-merge goes through the same check; GitHub's needs GraphQL, not in this build.
    let e = block(gh.enable_auto_merge(numbers[0].0, squash)).unwrap_err();
    assert!(e.to_string().contains("not allowed to merge"), "{e}");
}
