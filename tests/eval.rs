//! `eval` end to end: the real binary on the built-in cases against the fake model server, with
//! scripts that answer per request. Right edits score 100 % on the Developer cases, malformed
//! blocks 0 % well-formed and 0 % passed, plausible edits that fail the hidden tests 0 % passed and
//! 100 % well-formed; a reviewer that approves everything scores exactly the share of clean cases.
//! Each case runs in its own temp directory under TMPDIR and leaves nothing behind; the `--json`
//! contract is checked field by field and `--report x.html` carries an SVG.

use crate::support;
use crate::support::fake_ollama;

use std::path::{Path, PathBuf};

use fake_ollama::{ChatReply, FakeOllama};
use serde_json::{Value, json};

const MODEL: &str = "qwen3-coder:latest";

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/eval-cases")
}

fn read(case: &str, part: &str, path: &str) -> Option<String> {
    std::fs::read_to_string(cases_dir().join(case).join(part).join(path)).ok()
}

/// Every file under `dir`, relative.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            for f in files_under(&p) {
                out.push(format!("{}/{f}", e.file_name().to_string_lossy()));
            }
        } else {
            out.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    out.sort();
    out
}

/// The developer cases: their task title → (case name, the files to change).
fn developer_cases() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(cases_dir()).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let spec = std::fs::read_to_string(e.path().join("case.yml")).unwrap_or_default();
        if spec.contains("role: developer") {
            let title = spec
                .lines()
                .find_map(|l| l.strip_prefix("title: "))
                .unwrap()
                .to_string();
            out.push((title, name));
        }
    }
    out
}

/// A SEARCH/REPLACE block turning the whole of `old` (or nothing: a new file) into `new`.
fn block(path: &str, old: Option<&str>, new: &str) -> String {
    match old {
        Some(old) => format!(
            "{path}\n<<<<<<< SEARCH\n{}\n=======\n{}\n>>>>>>> REPLACE\n",
            old.trim_end_matches('\n'),
            new.trim_end_matches('\n')
        ),
        None => format!(
            "{path}\n<<<<<<< SEARCH\n=======\n{}\n>>>>>>> REPLACE\n",
            new.trim_end_matches('\n')
        ),
    }
}

/// The reference solution of a developer case as edits.
fn right_edits(case: &str) -> String {
    let dir = cases_dir().join(case).join("solution");
    let mut reply = String::from("Here is the change.\n\n");
    for f in files_under(&dir) {
        let new = std::fs::read_to_string(dir.join(&f)).unwrap();
        reply.push_str(&block(&f, read(case, "repo", &f).as_deref(), &new));
        reply.push('\n');
    }
    reply
}

/// Edits that look right and pass the visible tests, but miss what the hidden tests check.
fn plausible_wrong_edits(case: &str) -> String {
    let (path, new) = match case {
        "dev-py-slugify" => (
            "textutil/slug.py",
            "\"\"\"URL slugs.\"\"\"\n\n\ndef slugify(text):\n    \"\"\"Returns `text` as a URL slug.\"\"\"\n    return text.lower().replace(\" \", \"-\")\n",
        ),
        "dev-py-wordcount" => (
            "wordcount.py",
            "\"\"\"Word frequencies.\"\"\"\n\n\ndef count_words(text):\n    \"\"\"Returns a dict from each word of `text` to how often it occurs.\"\"\"\n    counts = {}\n    for word in text.lower().split():\n        counts[word] = counts.get(word, 0) + 1\n    return counts\n",
        ),
        "dev-sh-greet" => (
            "bin/greet.sh",
            "#!/bin/sh\n# Prints a greeting for the name given (default: world).\nname=\"${1:-world}\"\necho \"Hello, $name!\"\n# --upper: see the README\n",
        ),
        other => panic!("no wrong edits for {other}"),
    };
    block(path, read(case, "repo", path).as_deref(), new)
}

fn text_of(req: &Value) -> String {
    req["messages"]
        .as_array()
        .map(|m| {
            m.iter()
                .map(|x| x["content"].as_str().unwrap_or(""))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

/// Which kind of request: the JSON schema says reviewer or planner; none is the developer.
fn kind(req: &Value) -> &'static str {
    // Ollama sends the schema as `format`, an OpenAI-compatible server gets `response_format`.
    let schema = format!("{}{}", req["format"], req["response_format"]);
    if schema.contains("\"verdict\"") {
        "reviewer"
    } else if schema.contains("\"tasks\"") {
        "planner"
    } else {
        "developer"
    }
}

fn approve_everything() -> ChatReply {
    let met = json!({"criterion": "", "status": "met", "evidence": "the diff does it"});
    ChatReply::text(
        &json!({"summary": "Looks good.", "verdict": "approve",
                "criteria": [met.clone(), met.clone(), met.clone(), met], "findings": []})
        .to_string(),
    )
}

fn plan_answer() -> ChatReply {
    ChatReply::text(
        &json!({"tasks": [
            {"title": "Add the todo add command", "type": "feature", "priority": "P1", "depends_on": [],
             "acceptance": ["todo add TEXT appends TEXT to todo.txt", "a unit test covers add"],
             "files": ["todo.py"], "estimate": "2h"},
            {"title": "Add the todo list command", "type": "feature", "priority": "P1", "depends_on": [],
             "acceptance": ["todo list prints the open items numbered from 1", "a unit test covers list"],
             "files": ["todo.py"], "estimate": "2h"},
            {"title": "Add the todo done command", "type": "feature", "priority": "P2", "depends_on": [],
             "acceptance": ["todo done N marks item N done", "done items are not listed"],
             "files": ["todo.py"], "estimate": "3h"}
        ]})
        .to_string(),
    )
}

/// How the developer side of a script answers.
#[derive(Clone, Copy)]
enum Dev {
    Right,
    Malformed,
    PlausibleWrong,
}

/// A fake server whose answers depend on the request: the developer's by the case's task
/// title in the prompt, the reviewer approving everything, the planner a valid plan.
fn server(dev: Dev) -> (tokio::runtime::Runtime, FakeOllama) {
    let (rt, fake) = FakeOllama::serve(fake_ollama::default_models());
    let cases = developer_cases();
    fake.respond_with(move |req| match kind(req) {
        "reviewer" => approve_everything(),
        "planner" => plan_answer(),
        _ => {
            let text = text_of(req);
            let Some((_, case)) = cases
                .iter()
                .find(|(title, _)| text.contains(title.as_str()))
            else {
                return ChatReply::text("I do not know this task.");
            };
            ChatReply::text(&match dev {
                Dev::Right => right_edits(case),
                Dev::PlausibleWrong => plausible_wrong_edits(case),
                Dev::Malformed => format!(
                    "I would rewrite the function.\n\n{}\n<<<<<<< SEARCH\ndef something():\n",
                    case
                ),
            })
        }
    });
    (rt, fake)
}

struct Eval {
    dir: tempfile::TempDir,
}

impl Eval {
    fn new() -> Eval {
        let dir = tempfile::tempdir().unwrap();
        for d in ["tmp", "cwd"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        Eval { dir }
    }

    fn tmp(&self) -> PathBuf {
        self.dir.path().join("tmp")
    }

    fn run(&self, fake: &FakeOllama, args: &[&str]) -> support::Run {
        let mut c = support::cmd(&self.dir.path().join("cwd"));
        c.env("TMPDIR", self.tmp())
            .env("OLLAMA_BASE_URL", &fake.base_url)
            .arg("eval")
            .args(["--models", MODEL])
            .args(args);
        support::run(&mut c)
    }

    fn json(&self, fake: &FakeOllama, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let r = self.run(fake, &all);
        assert_eq!(r.code, 0, "stderr: {}", r.stderr);
        serde_json::from_str(r.stdout.trim())
            .unwrap_or_else(|e| panic!("--json prints one JSON object ({e}): {}", r.stdout))
    }

    /// Nothing is left in TMPDIR or the working directory after a run.
    fn assert_clean(&self) {
        assert_eq!(
            files_under(&self.tmp()),
            Vec::<String>::new(),
            "TMPDIR is empty after eval"
        );
        assert_eq!(
            files_under(&self.dir.path().join("cwd")),
            Vec::<String>::new(),
            "nothing is written in the working directory"
        );
    }
}

fn summary<'a>(v: &'a Value, role: &str) -> &'a Value {
    v["summary"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["role"] == role)
        .unwrap_or_else(|| panic!("a summary for {role}: {v}"))
}

fn results<'a>(v: &'a Value, role: &str) -> Vec<&'a Value> {
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["role"] == role)
        .collect()
}

#[test]
fn right_edits_score_every_developer_case_and_each_case_has_its_own_temp_forge() {
    let (_rt, fake) = server(Dev::Right);
    let eval = Eval::new();
    let v = eval.json(&fake, &["--roles", "developer"]);
    let s = summary(&v, "developer");
    assert_eq!(s["cases"], 3, "{v}");
    assert_eq!(s["passed"], 3, "{v}");
    assert_eq!(s["pass_rate"], 1.0);
    assert_eq!(s["well_formed_rate"], 1.0);
    assert_eq!(s["replies"], 3, "one answer per case");
    assert_eq!(s["replies_parsed_rate"], 1.0);
    let rs = results(&v, "developer");
    for r in &rs {
        assert_eq!(r["developer"]["hidden_tests_passed"], true, "{r}");
        assert_eq!(r["developer"]["fix_rounds"], 0);
        assert_eq!(r["developer"]["replies_parsed"], r["developer"]["replies"]);
        assert!(
            r["output_tokens"].as_u64().unwrap() > 0,
            "tokens counted: {r}"
        );
        assert!(r["peak_context"].as_u64().unwrap() > 0);
        assert!(r["context_size"].as_u64().unwrap() >= r["peak_context"].as_u64().unwrap());
    }
    // One temp directory per case, inside TMPDIR, gone afterwards.
    let mut dirs: Vec<&str> = rs.iter().map(|r| r["workdir"].as_str().unwrap()).collect();
    for d in &dirs {
        assert!(Path::new(d).starts_with(eval.tmp()), "{d} is under TMPDIR");
        assert!(!Path::new(d).exists(), "{d} was removed");
    }
    dirs.dedup();
    assert_eq!(dirs.len(), 3, "each case had its own directory");
    eval.assert_clean();
    assert_eq!(v["recommendation"]["developer"], MODEL);
}

#[test]
fn malformed_blocks_score_nothing_well_formed_and_nothing_passed() {
    let (_rt, fake) = server(Dev::Malformed);
    let eval = Eval::new();
    let v = eval.json(&fake, &["--roles", "developer"]);
    let s = summary(&v, "developer");
    assert_eq!(s["cases"], 3);
    assert_eq!(s["passed"], 0, "{v}");
    assert_eq!(s["well_formed_rate"], 0.0, "{v}");
    assert_eq!(
        s["replies_parsed_rate"], 0.0,
        "the share of answers that parse"
    );
    for r in results(&v, "developer") {
        assert!(r["developer"]["replies"].as_u64().unwrap() >= 1, "{r}");
        assert_eq!(r["developer"]["replies_parsed"], 0, "{r}");
        assert_eq!(r["developer"]["change_proposed"], false);
    }
    assert_eq!(v["recommendation"]["developer"], Value::Null);
    eval.assert_clean();
}

#[test]
fn plausible_edits_that_fail_the_hidden_tests_are_well_formed_but_do_not_pass() {
    let (_rt, fake) = server(Dev::PlausibleWrong);
    let eval = Eval::new();
    let v = eval.json(&fake, &["--roles", "developer"]);
    let s = summary(&v, "developer");
    assert_eq!(s["passed"], 0, "{v}");
    assert_eq!(s["pass_rate"], 0.0);
    assert_eq!(s["well_formed_rate"], 1.0, "{v}");
    for r in results(&v, "developer") {
        // The visible tests pass, so the role proposes the change; the hidden tests catch it.
        assert_eq!(r["developer"]["change_proposed"], true, "{r}");
        assert_eq!(r["developer"]["hidden_tests_passed"], false, "{r}");
    }
    eval.assert_clean();
}

#[test]
fn a_reviewer_that_approves_everything_scores_exactly_the_share_of_clean_cases() {
    let (_rt, fake) = server(Dev::Right);
    let eval = Eval::new();
    let v = eval.json(&fake, &["--roles", "reviewer"]);
    let rs = results(&v, "reviewer");
    let clean = rs
        .iter()
        .filter(|r| r["case"].as_str().unwrap().starts_with("rev-clean"))
        .count();
    assert_eq!(rs.len(), 4);
    assert_eq!(clean, 2);
    let s = summary(&v, "reviewer");
    assert_eq!(s["passed"], clean, "{v}");
    assert_eq!(s["pass_rate"], clean as f64 / rs.len() as f64);
    assert_eq!(s["well_formed_rate"], 1.0);
    for r in &rs {
        let clean = r["case"].as_str().unwrap().starts_with("rev-clean");
        assert_eq!(r["passed"], clean, "{r}");
        assert_eq!(r["reviewer"]["verdict"], "approve", "{r}");
        assert_eq!(r["reviewer"]["json_first_try"], true);
        assert_eq!(r["reviewer"]["false_alarms"], 0);
    }
    eval.assert_clean();
}

#[test]
fn an_openai_compatible_server_is_measured_the_same_way() {
    let (_rt, fake) = server(Dev::Right);
    fake.openai_only();
    fake.llama_cpp(fake_ollama::LlamaCpp {
        n_ctx: 8192,
        tokenize: true,
        refuse_formats: vec![],
        predicted_per_second: 12.5,
    });
    let eval = Eval::new();
    let v = eval.json(&fake, &["--api", "openai", "--roles", "reviewer,developer"]);
    assert_eq!(summary(&v, "developer")["passed"], 3, "{v}");
    assert_eq!(summary(&v, "reviewer")["passed"], 2, "{v}");
    assert_eq!(fake.hits("/api/chat"), 0, "no Ollama call");
    assert!(fake.hits("/v1/chat/completions") >= 7);
    for r in v["results"].as_array().unwrap() {
        assert_eq!(r["context_size"], 8192, "the server's context: {r}");
        assert_eq!(r["tokens_per_second"], 12.5, "the server's own rate: {r}");
    }
    eval.assert_clean();
}

#[test]
fn the_json_contract_holds_field_by_field_and_the_html_report_has_a_chart() {
    let (_rt, fake) = server(Dev::Right);
    let eval = Eval::new();
    let report = eval.dir.path().join("report.html");
    let v = eval.json(
        &fake,
        &[
            "--roles",
            "reviewer,planner",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    let obj = v.as_object().unwrap();
    for key in ["results", "summary", "recommendation"] {
        assert!(obj.contains_key(key), "{key} in {v}");
    }
    for r in v["results"].as_array().unwrap() {
        assert!(r["model"].is_string() && r["role"].is_string() && r["case"].is_string());
        assert!(r["passed"].is_boolean() && r["well_formed"].is_boolean());
        assert!(r["prompt_tokens"].is_u64() && r["output_tokens"].is_u64());
        assert!(r["seconds"].is_f64(), "{r}");
    }
    let summaries = v["summary"].as_array().unwrap();
    assert_eq!(summaries.len(), 2, "one per model × role");
    for s in summaries {
        assert_eq!(s["model"], MODEL);
        assert!(s["role"].is_string());
        assert!(s["cases"].is_u64() && s["passed"].is_u64());
        for k in ["pass_rate", "well_formed_rate", "median_seconds"] {
            assert!(s[k].is_f64(), "{k} in {s}");
        }
    }
    let rec = v["recommendation"].as_object().unwrap();
    assert_eq!(
        rec.keys().collect::<Vec<_>>(),
        ["developer", "planner", "reviewer"]
    );
    assert_eq!(rec["developer"], Value::Null, "not measured");
    assert_eq!(rec["reviewer"], MODEL, "50 % clears the default threshold");
    assert_eq!(rec["planner"], MODEL, "{v}");
    let planner = results(&v, "planner");
    assert_eq!(planner[0]["planner"]["tasks_proposed"], 3, "{v}");
    assert_eq!(planner[0]["passed"], true);

    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        html.contains("<svg") && html.contains("</svg>"),
        "an inline chart"
    );
    assert!(html.contains(MODEL));
    eval.assert_clean();
}

#[test]
fn the_table_and_the_markdown_report_and_the_job_summary() {
    let (_rt, fake) = server(Dev::Right);
    let eval = Eval::new();
    let md = eval.dir.path().join("report.md");
    let summary_file = eval.dir.path().join("summary.md");
    let mut c = support::cmd(&eval.dir.path().join("cwd"));
    c.env("TMPDIR", eval.tmp())
        .env("OLLAMA_BASE_URL", &fake.base_url)
        .env("GITHUB_STEP_SUMMARY", &summary_file)
        .args([
            "eval",
            "--models",
            MODEL,
            "--roles",
            "reviewer",
            "--threshold",
            "0.75",
        ])
        .args(["--report", md.to_str().unwrap()]);
    let r = support::run(&mut c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("reviewer") && r.stdout.contains("50 %"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("no model passes 75 %"),
        "the threshold decides: {}",
        r.stdout
    );
    assert!(
        r.stderr.contains("eval: case 1 of 4") && r.stderr.contains("tokens so far"),
        "progress on stderr: {}",
        r.stderr
    );
    let report = std::fs::read_to_string(&md).unwrap();
    assert!(report.contains("| reviewer |") && report.contains("<svg"));
    let job = std::fs::read_to_string(&summary_file).unwrap();
    assert!(job.contains("### codex-orchestrator eval"), "{job}");
    eval.assert_clean();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn a_failing_first_edit_fixed_after_the_test_output_counts_one_fix_round() {
    let (_rt, fake) = FakeOllama::serve(fake_ollama::default_models());
    let path = "textutil/slug.py";
    let original = read("dev-py-slugify", "repo", path).unwrap();
    let solution = read("dev-py-slugify", "solution", path).unwrap();
    let broken = original.replace("raise NotImplementedError(\"slugify\")", "return text");
    fake.respond_with(move |req| {
        let text = text_of(req);
        ChatReply::text(&if text.contains("the tests failed") {
            block(path, Some(&broken), &solution)
        } else {
            block(path, Some(&original), &broken)
        })
    });
    let eval = Eval::new();
    let cases = eval.dir.path().join("cases");
    copy_dir(
        &cases_dir().join("dev-py-slugify"),
        &cases.join("dev-py-slugify"),
    );
    let v = eval.json(&fake, &["--cases", cases.to_str().unwrap()]);
    let r = results(&v, "developer")[0];
    assert_eq!(r["passed"], true, "{r}");
    assert_eq!(r["developer"]["fix_rounds"], 1, "{r}");
    assert_eq!(r["developer"]["replies"], 2);
    assert_eq!(r["developer"]["edits_applied"], 2);
    assert_eq!(r["calls"], 2);
    eval.assert_clean();
}

#[test]
fn a_plan_outside_the_cases_bounds_does_not_pass() {
    let (_rt, fake) = FakeOllama::serve(fake_ollama::default_models());
    fake.respond_with(|_| {
        ChatReply::text(
            &json!({"tasks": [{"title": "Build the whole todo tool", "type": "feature", "priority": "P1",
                "depends_on": [], "acceptance": ["it works"], "files": [], "estimate": "6h"}]})
            .to_string(),
        )
    });
    let eval = Eval::new();
    let v = eval.json(&fake, &["--roles", "planner"]);
    let r = results(&v, "planner")[0];
    assert_eq!(r["well_formed"], true, "{r}");
    assert_eq!(r["passed"], false, "{r}");
    assert!(
        r["planner"]["problems"][0]
            .as_str()
            .unwrap()
            .contains("fewer than expect.min_tasks 2"),
        "{r}"
    );
    let r = eval.run(&fake, &["--roles", "planner"]);
    assert!(
        r.stdout.contains("planner: no model passes 50 %"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_cancelled_run_removes_the_temp_forge_of_its_case() {
    let (_rt, fake) = FakeOllama::serve(fake_ollama::default_models());
    fake.respond_with(|_| ChatReply::text("late").delayed(std::time::Duration::from_secs(30)));
    let eval = Eval::new();
    let mut c = support::cmd(&eval.dir.path().join("cwd"));
    c.env("TMPDIR", eval.tmp())
        .env("OLLAMA_BASE_URL", &fake.base_url)
        .args(["eval", "--models", MODEL, "--roles", "reviewer"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = c.spawn().unwrap();
    let started = std::time::Instant::now();
    while files_under(&eval.tmp()).is_empty() {
        assert!(started.elapsed().as_secs() < 30, "the first case started");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // Let the case reach its model call (its forge is built by then).
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(!files_under(&eval.tmp()).is_empty());
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "exits as cancelled");
    eval.assert_clean();
}

#[test]
fn bad_input_is_a_clear_usage_error() {
    let (_rt, fake) = server(Dev::Right);
    let eval = Eval::new();
    let r = eval.run(&fake, &["--roles", "integrator"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("not a role eval measures"),
        "{}",
        r.stderr
    );
    let r = eval.run(&fake, &["--cases", "/nonexistent/cases"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("not a directory"), "{}", r.stderr);
    let cases = eval.dir.path().join("cases");
    std::fs::create_dir_all(cases.join("broken/repo")).unwrap();
    std::fs::write(cases.join("broken/repo/a.py"), "x = 1\n").unwrap();
    std::fs::write(
        cases.join("broken/case.yml"),
        "role: reviewer\ntitle: t\nacceptance: [a]\n",
    )
    .unwrap();
    let r = eval.run(&fake, &["--cases", cases.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("case broken") && r.stderr.contains("head/"),
        "{}",
        r.stderr
    );
    let r = eval.run(&fake, &["--report", "x.pdf"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[test]
fn a_teams_own_cases_load_from_a_folder() {
    let (_rt, fake) = server(Dev::Right);
    let eval = Eval::new();
    let v = eval.json(
        &fake,
        &[
            "--cases",
            cases_dir().to_str().unwrap(),
            "--roles",
            "developer",
        ],
    );
    assert_eq!(summary(&v, "developer")["passed"], 3, "{v}");
}

#[test]
fn the_built_in_table_matches_the_cases_folder() {
    let src =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/eval/builtin.rs"))
            .unwrap();
    let listed: Vec<&str> = src
        .lines()
        .filter_map(|l| l.trim().strip_prefix('"'))
        .filter_map(|l| l.strip_suffix("\","))
        .collect();
    let on_disk: Vec<String> = files_under(&cases_dir())
        .into_iter()
        .filter(|f| !f.contains("/solution/"))
        .collect();
    assert_eq!(
        listed, on_disk,
        "run scripts/gen-eval-builtin.sh after changing examples/eval-cases/"
    );
}
