//! Keeps the fake GitHub honest: every route it serves must exist in GitHub's OpenAPI description
//! (npm `@octokit/openapi`) with that method, every status it answers must be documented for the
//! operation, and every key our client sends in a request body must be a documented property.
//! `.ci/run` downloads the package and sets OCTOKIT_OPENAPI_DIR; locally the test SKIPs loudly.

use crate::support;

use std::time::Duration;

use codex_orchestrator::forge::github::GitHub;
use codex_orchestrator::forge::github::client::Settings;
use codex_orchestrator::forge::{
    FileChange, Forge, InlineComment, MergeMethod, NewPullRequest, NewReview, RepoId, ReviewEvent,
};
use serde_json::Value;
use support::fake_github::{FakeGitHub, ROUTES};
use support::upsert;

fn spec() -> Option<Value> {
    let Some(dir) = std::env::var_os("OCTOKIT_OPENAPI_DIR") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "OCTOKIT_OPENAPI_DIR is not set under CI: .ci/run must download @octokit/openapi"
        );
        support::loud_skip(
            "OCTOKIT_OPENAPI_DIR is not set; the fake GitHub was NOT checked against GitHub's OpenAPI description.\n\
             *** Run .ci/run, or: npm pack @octokit/openapi && tar xzf octokit-openapi-*.tgz && \
             OCTOKIT_OPENAPI_DIR=$PWD/package cargo test --test integration fake_github_openapi",
        );
        return None;
    };
    let path = std::path::Path::new(&dir).join("generated/api.github.com.json");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Some(serde_json::from_slice(&bytes).unwrap())
}

fn resolve<'a>(spec: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => r
            .trim_start_matches("#/")
            .split('/')
            .fold(spec, |node, key| &node[key.replace("~1", "/")]),
        None => v,
    }
}

/// The route template a concrete request path falls under.
fn template_of(path: &str) -> Option<&'static str> {
    let path = path.split('?').next().unwrap();
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    ROUTES.iter().map(|r| r.1).find(|t| {
        let ts: Vec<&str> = t.trim_start_matches('/').split('/').collect();
        let greedy = ts.last().is_some_and(|l| *l == "{ref}" || *l == "{path}");
        if greedy && segs.len() >= ts.len() || segs.len() == ts.len() {
            ts.iter()
                .zip(&segs)
                .all(|(t, s)| t.starts_with('{') || t == s)
        } else {
            false
        }
    })
}

#[test]
fn every_route_and_status_of_the_fake_is_in_the_openapi_description() {
    let Some(spec) = spec() else { return };
    let mut checked = 0;
    for (method, template, statuses) in ROUTES {
        let op = &spec["paths"][*template][method.to_lowercase()];
        assert!(op.is_object(), "{method} {template} is not in GitHub's API");
        for status in *statuses {
            // GitHub answers 404 for a missing resource on every endpoint, documented or not.
            if *status == 404 {
                continue;
            }
            // A dispatch with an input the workflow does not declare is a 422 "Unexpected inputs
            // provided: [...]" on GitHub, though the description lists only 204.
            if *status == 422 && template.ends_with("/dispatches") {
                continue;
            }
            assert!(
                op["responses"].get(status.to_string()).is_some(),
                "{method} {template} never answers {status} in GitHub's API: {:?}",
                op["responses"]
                    .as_object()
                    .map(|m| m.keys().collect::<Vec<_>>())
            );
            checked += 1;
        }
    }
    eprintln!("checked {} routes and {checked} statuses", ROUTES.len());
}

#[test]
fn every_request_body_key_our_client_sends_is_documented() {
    let Some(spec) = spec() else { return };
    let fake = FakeGitHub::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _inside = rt.enter();
    let mut settings = Settings::new(&fake.url, "ghs_x");
    settings.timeout = Duration::from_secs(5);
    let gh = GitHub::new(RepoId::parse("octo/app").unwrap(), settings).unwrap();
    let main = fake.with(|s| s.refs["main"].clone());
    rt.block_on(async {
        gh.create_branch("feature/T-0001-a", &main).await.unwrap();
        let sha = upsert::commit_to_branch(
            &gh,
            "feature/T-0001-a",
            "m",
            &[
                FileChange::write("a.py", "a\nb\n"),
                FileChange::delete("README.md"),
            ],
            Some(codex_orchestrator::forge::Signature {
                name: "bot".into(),
                email: "bot@example.com".into(),
            }),
            1,
        )
        .await
        .unwrap();
        let pr = gh
            .create_pull_request(&NewPullRequest {
                title: "t".into(),
                head: "feature/T-0001-a".into(),
                base: "main".into(),
                body: "b".into(),
                draft: false,
            })
            .await
            .unwrap();
        gh.update_pull_request(
            pr.number,
            &codex_orchestrator::forge::PrUpdate {
                title: Some("t2".into()),
                body: Some("b2".into()),
                state: None,
            },
        )
        .await
        .unwrap();
        let c = gh.create_comment(pr.number, "hi").await.unwrap();
        gh.update_comment(c.id, "hi again").await.unwrap();
        gh.create_review(
            pr.number,
            &NewReview {
                commit_id: sha.clone(),
                body: "r".into(),
                event: ReviewEvent::Comment,
                comments: vec![InlineComment {
                    path: "a.py".into(),
                    line: 2,
                    body: "x".into(),
                }],
            },
        )
        .await
        .unwrap();
        gh.dispatch_workflow("review.yml", "main", &serde_json::json!({"pr": "1"}))
            .await
            .unwrap();
        gh.merge_pull_request(pr.number, MergeMethod::Squash, &sha)
            .await
            .unwrap();
    });
    let writes = fake.writes();
    assert!(writes.len() >= 10, "{writes:?}");
    for w in writes {
        let template =
            template_of(&w.path).unwrap_or_else(|| panic!("no route for {} {}", w.method, w.path));
        let op = &spec["paths"][template][w.method.to_lowercase()];
        let schema = resolve(&spec, &op["requestBody"]);
        let schema = resolve(&spec, &schema["content"]["application/json"]["schema"]);
        let props = schema["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{template}: no body schema"));
        for key in w.body.as_object().into_iter().flatten().map(|(k, _)| k) {
            assert!(
                props.contains_key(key),
                "{} {template}: GitHub documents no body key {key:?}",
                w.method
            );
        }
        for required in schema["required"].as_array().into_iter().flatten() {
            let key = required.as_str().unwrap();
            assert!(
                w.body.get(key).is_some(),
                "{} {template}: our client omits required key {key:?}",
                w.method
            );
        }
    }
}
