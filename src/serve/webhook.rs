//! `POST /webhook`: the signature is checked over the raw body before anything is parsed (the
//! global secret, or a repository's own), the delivery is recorded with the jobs the event
//! router asks for in one transaction, and GitHub gets its 2xx at once; the roles run from the
//! queue. A delivery id seen before is answered 200 and runs nothing.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::event::{Decision, Event, Payload, route};
use crate::roles::Role;

use super::App;
use super::error::{ApiError, ApiResult, json_response};
use super::poller::route_settings;
use super::signature::{self, SignatureError};
use super::store::{Delivery, NewJob, Recorded, Repo};

/// Which secret verified the delivery.
enum Signer {
    Global,
    Repo(i64),
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Verifies the body against the global secret, then each repository's own.
fn verify(app: &App, headers: &HeaderMap, body: &[u8]) -> Result<Signer, SignatureError> {
    let sig = signature::parse_header(
        headers.get("x-hub-signature-256").map(|v| v.as_bytes()),
        headers.contains_key("x-hub-signature"),
    )?;
    if signature::verify(app.settings.webhook_secret.expose().as_bytes(), body, &sig) {
        return Ok(Signer::Global);
    }
    for repo in app.store.repos().unwrap_or_default() {
        if let Some(name) = &repo.webhook_secret_env
            && let Some(secret) = app.settings.var(name)
            && signature::verify(secret.as_bytes(), body, &sig)
        {
            return Ok(Signer::Repo(repo.id));
        }
    }
    Err(SignatureError::Mismatch)
}

pub async fn receive(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let limit_mb = crate::event::payload::MAX_PAYLOAD_BYTES / 1024 / 1024;
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the delivery is larger than {limit_mb} MB; GitHub never sends more"),
            )
        } else {
            ApiError::bad_request(format!("cannot read the delivery: {}", r.body_text()))
        }
    })?;
    let signer = verify(&app, &headers, &body).map_err(|e| {
        app.metrics.signature_failure();
        tracing::warn!("webhook refused: {e}");
        ApiError::unauthorized(e.to_string())
    })?;
    // Signed: from here on the body is parsed.
    let event_name = header(&headers, "x-github-event").ok_or_else(|| {
        ApiError::bad_request("missing X-GitHub-Event: this does not look like a GitHub delivery")
    })?;
    let delivery_id = header(&headers, "x-github-delivery").ok_or_else(|| {
        ApiError::bad_request("missing X-GitHub-Delivery: every GitHub delivery carries its id")
    })?;
    if delivery_id.len() > 100 {
        return Err(ApiError::bad_request(
            "X-GitHub-Delivery is longer than 100 characters",
        ));
    }
    let mut delivery = Delivery {
        id: delivery_id.to_string(),
        event: event_name.chars().take(100).collect(),
        repo_id: None,
        outcome: String::new(),
        reason: String::new(),
        payload: None,
    };
    if event_name == "ping" {
        return settle(
            &app,
            &mut delivery,
            StatusCode::OK,
            "ping",
            "ping".into(),
            json!({"pong": true}),
        );
    }
    let event = match Event::parse(event_name, &body, "the webhook delivery") {
        Ok(e) => e,
        Err(e) => {
            delivery.outcome = "invalid".into();
            delivery.reason = e.to_string();
            app.store.record_delivery(&delivery, &[])?;
            return Err(ApiError::bad_request(e.to_string()));
        }
    };
    let full_name = event.repository.as_ref().map(|r| r.full_name.clone());
    let repo = match &full_name {
        Some(n) if !n.is_empty() => app.store.repo_by_name(n)?,
        _ => None,
    };
    if let (Signer::Repo(id), r) = (&signer, &repo)
        && r.as_ref().map(|r| r.id) != Some(*id)
    {
        return Err(ApiError::unauthorized(
            "the delivery is signed with one repository's secret but names another repository",
        ));
    }
    let Some(repo) = repo else {
        let reason = match full_name {
            Some(n) if !n.is_empty() => format!("{n} is not registered (POST /repos)"),
            _ => "the delivery names no repository".into(),
        };
        return ignored(&app, &mut delivery, reason);
    };
    delivery.repo_id = Some(repo.id);
    if matches!(event.payload, Payload::Other { .. })
        && !matches!(event_name, "pull_request_target" | "workflow_run")
    {
        let reason = format!("ignored: {event_name} events are not routed");
        return ignored(&app, &mut delivery, reason);
    }
    let routing = route(&event, &route_settings(&repo));
    delivery.reason = routing.reason.clone();
    let jobs = match routing.decision {
        Decision::Run => {
            delivery.outcome = "queued".into();
            delivery.payload = Some(body.to_vec());
            jobs_for(&app, &repo, &event, &routing, delivery_id)
        }
        Decision::Ignore => {
            delivery.outcome = "ignored".into();
            vec![]
        }
        Decision::Refuse => {
            delivery.outcome = "refused".into();
            vec![]
        }
    };
    let recorded = app.store.record_delivery(&delivery, &jobs)?;
    if matches!(recorded, Recorded::New { ref jobs } if !jobs.is_empty()) {
        app.wake.notify_waiters();
    }
    let extra = json!({"decision": routing.decision, "role": routing.role.map(Role::as_str)});
    Ok(answer(StatusCode::ACCEPTED, &delivery, &recorded, extra))
}

/// One job per role the routing names (`role`, then `then`).
fn jobs_for(
    app: &App,
    repo: &Repo,
    event: &Event,
    routing: &crate::event::Routing,
    delivery_id: &str,
) -> Vec<NewJob> {
    let head = match &event.payload {
        Payload::PullRequest(p) if !p.pull_request.head.sha.is_empty() => {
            Some(p.pull_request.head.sha.clone())
        }
        _ => None,
    };
    routing
        .role
        .into_iter()
        .chain(routing.then.iter().copied())
        .map(|role| {
            let mut job = NewJob::new(repo.id, role, "webhook", routing.reason.clone());
            job.pr = routing.pr;
            job.task = routing.task.clone();
            job.boost = routing.boost;
            job.delivery_id = Some(delivery_id.to_string());
            job.event_name = Some(event.name.clone());
            job.dedupe_key = Some(match (role, routing.merged, routing.pr) {
                // The key the poller uses too: a closing seen by both a delivery and a poll
                // is integrated once.
                (Role::Integrator, Some(merged), Some(pr)) => {
                    NewJob::integrate_key(repo.id, pr, merged)
                }
                _ => format!("delivery:{delivery_id}:{role}"),
            });
            job.max_attempts = app.settings.max_attempts;
            if role == Role::Reviewer {
                job.head_sha = head.clone();
            }
            job
        })
        .collect()
}

/// Records a delivery that is ignored (202, no job) with its reason, and answers it.
fn ignored(app: &App, delivery: &mut Delivery, reason: String) -> ApiResult {
    settle(
        app,
        delivery,
        StatusCode::ACCEPTED,
        "ignored",
        reason,
        json!({}),
    )
}

/// Records a delivery that queues no job, with its outcome and reason, and answers it.
fn settle(
    app: &App,
    delivery: &mut Delivery,
    status: StatusCode,
    outcome: &str,
    reason: String,
    extra: serde_json::Value,
) -> ApiResult {
    delivery.outcome = outcome.into();
    delivery.reason = reason;
    let recorded = app.store.record_delivery(delivery, &[])?;
    Ok(answer(status, delivery, &recorded, extra))
}

fn answer(
    status: StatusCode,
    delivery: &Delivery,
    recorded: &Recorded,
    extra: serde_json::Value,
) -> Response {
    let mut body = json!({"delivery": delivery.id, "event": delivery.event});
    match recorded {
        Recorded::Duplicate => {
            body["duplicate"] = json!(true);
            body["outcome"] =
                json!("duplicate: this delivery was received before; nothing new runs");
            return json_response(StatusCode::OK, &body);
        }
        Recorded::New { jobs } => {
            body["outcome"] = json!(delivery.outcome);
            body["reason"] = json!(delivery.reason);
            body["jobs"] = json!(jobs);
        }
    }
    if let (Some(obj), Some(more)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in more {
            obj.insert(k.clone(), v.clone());
        }
    }
    json_response(status, &body)
}
