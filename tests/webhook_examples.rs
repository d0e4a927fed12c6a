//! Conformance against GitHub's own webhook examples (npm `@octokit/webhooks-examples`, every
//! event GitHub sends, for github.com and each GHES version): each payload is routed or ignored,
//! never a crash. `.ci/run` downloads the package and sets WEBHOOK_EXAMPLES_DIR; locally the test
//! prints a loud SKIP when the variable is absent (and fails under CI=true, so CI cannot skip it).

use crate::support;

use std::path::PathBuf;

use codex_orchestrator::event::{Decision, Event, RouteSettings, route};
use serde_json::Value;
use support::{cmd, run};

/// (event name, example payload, source file) for every example in the package.
fn examples() -> Option<Vec<(String, Value, String)>> {
    let Some(dir) = std::env::var_os("WEBHOOK_EXAMPLES_DIR").map(PathBuf::from) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "WEBHOOK_EXAMPLES_DIR is not set under CI: .ci/run must download @octokit/webhooks-examples"
        );
        support::loud_skip(
            "WEBHOOK_EXAMPLES_DIR is not set; the webhook-examples conformance test did NOT run.\n\
             *** Run .ci/run, or: npm pack @octokit/webhooks-examples && tar xzf octokit-webhooks-examples-*.tgz \
             && WEBHOOK_EXAMPLES_DIR=$PWD/package cargo test --test integration webhook_examples",
        );
        return None;
    };
    let mut out = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("WEBHOOK_EXAMPLES_DIR={}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path().join("index.json")))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no */index.json under {}", dir.display());
    for file in files {
        let events: Vec<Value> = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        let source = file
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        for event in events {
            let name = event["name"].as_str().unwrap().to_string();
            for example in event["examples"].as_array().unwrap() {
                out.push((name.clone(), example.clone(), source.clone()));
            }
        }
    }
    Some(out)
}

/// Events refused by design (fail closed): they run with write tokens next to untrusted code.
const REFUSED: [&str; 2] = ["workflow_run", "pull_request_target"];

#[test]
fn every_example_payload_is_routed_or_ignored() {
    let Some(examples) = examples() else { return };
    let settings = RouteSettings::default();
    let mut runs = 0;
    for (name, payload, source) in &examples {
        let bytes = serde_json::to_vec(payload).unwrap();
        let event = Event::parse(name, &bytes, source)
            .unwrap_or_else(|e| panic!("{source} {name}/{:?}: {e}", payload.get("action")));
        let r = route(&event, &settings);
        let refused = REFUSED.contains(&name.as_str());
        assert_eq!(
            r.decision == Decision::Refuse,
            refused,
            "{source} {name}: {}",
            r.reason
        );
        if r.decision == Decision::Run {
            runs += 1;
        }
        assert!(!r.reason.is_empty());
    }
    eprintln!(
        "routed {} example payloads ({runs} run a role, the rest ignored)",
        examples.len()
    );
    assert!(
        examples.len() >= 300,
        "only {} examples found",
        examples.len()
    );
}

#[test]
fn the_binary_routes_every_github_com_example() {
    let Some(examples) = examples() else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("event.json");
    let mut seen = 0;
    for (name, payload, source) in examples.iter().filter(|(_, _, s)| s == "api.github.com") {
        std::fs::write(&path, serde_json::to_vec(payload).unwrap()).unwrap();
        let r = run(cmd(dir.path())
            .args(["route", "--json", "--event-name", name, "--event-path"])
            .arg(&path));
        let expected = if REFUSED.contains(&name.as_str()) {
            2
        } else {
            0
        };
        assert_eq!(r.code, expected, "{source} {name}: {}", r.stderr);
        let v: Value = serde_json::from_str(&r.stdout).unwrap();
        for key in ["decision", "role", "reason", "pr", "task"] {
            assert!(v.get(key).is_some(), "{name}: no {key} in {v}");
        }
        seen += 1;
    }
    eprintln!("the binary routed {seen} github.com example payloads");
    assert!(seen >= 300);
}

/// Returns the first github.com example of `name` whose `action` is `action`.
fn example(examples: &[(String, Value, String)], name: &str, action: Option<&str>) -> Value {
    examples
        .iter()
        .find(|(n, p, s)| {
            n == name && s == "api.github.com" && p.get("action").and_then(Value::as_str) == action
        })
        .map(|(_, p, _)| p.clone())
        .unwrap_or_else(|| panic!("no {name}/{action:?} example"))
}

fn route_value(name: &str, payload: &Value) -> Value {
    let event = Event::parse(name, &serde_json::to_vec(payload).unwrap(), "example").unwrap();
    serde_json::to_value(route(&event, &RouteSettings::default())).unwrap()
}

#[test]
fn the_judged_examples_route_as_the_table_says() {
    let Some(examples) = examples() else { return };
    let opened = example(&examples, "pull_request", Some("opened"));
    let v = route_value("pull_request", &opened);
    assert_eq!(
        (&v["decision"], &v["role"]),
        (&"run".into(), &"reviewer".into())
    );
    assert_eq!(v["pr"], opened["number"]);

    let mut closed = example(&examples, "pull_request", Some("closed"));
    closed["pull_request"]["merged"] = Value::Bool(false);
    let v = route_value("pull_request", &closed);
    assert_eq!(
        (&v["role"], &v["merged"]),
        (&"integrator".into(), &false.into())
    );
    closed["pull_request"]["merged"] = Value::Bool(true);
    let v = route_value("pull_request", &closed);
    assert_eq!(
        (&v["role"], &v["merged"]),
        (&"integrator".into(), &true.into())
    );

    let mut dispatch = example(&examples, "workflow_dispatch", None);
    dispatch["inputs"] = serde_json::json!({"role": "developer"});
    assert_eq!(
        route_value("workflow_dispatch", &dispatch)["role"],
        "developer"
    );

    // A real pull_request payload sent as pull_request_target is refused.
    let v = route_value("pull_request_target", &opened);
    assert_eq!(v["decision"], "refuse");

    let comment = example(&examples, "issue_comment", Some("created"));
    assert_eq!(route_value("issue_comment", &comment)["decision"], "ignore");
}
