//! The GitHub App path of the forge's token resolution against a fake GitHub on 127.0.0.1 that
//! speaks GitHub's wire format: the JWT it receives must be RS256, name the App and verify with
//! the App's public key (ring signs it: no aws-lc-rs), and only then is an installation token
//! minted and returned, masked.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use codex_orchestrator::forge::RepoId;
use codex_orchestrator::forge::github::auth::resolve_token;
use ring::signature::{KeyPair, RSA_PKCS1_2048_8192_SHA256, RsaKeyPair, UnparsedPublicKey};
use serde_json::{Value, json};

const KEY: &str = include_str!("../src/crypto/test_rsa_key.pem");

#[derive(Clone)]
struct Fake {
    public_key: Arc<Vec<u8>>,
    seen: Arc<Mutex<Vec<String>>>,
}

/// Why the request is refused (answered 401), unless its Bearer token is an RS256 JWT for App
/// 123 signed by the App's key.
fn check_jwt(fake: &Fake, headers: &HeaderMap) -> Result<(), &'static str> {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let jwt = auth.strip_prefix("Bearer ").ok_or("no bearer")?;
    let parts: Vec<&str> = jwt.split('.').collect();
    if parts.len() != 3 {
        return Err("not a JWT");
    }
    let decode = |p: &str| URL_SAFE_NO_PAD.decode(p).map_err(|_| "not base64url");
    let header: Value = serde_json::from_slice(&decode(parts[0])?).map_err(|_| "header")?;
    let claims: Value = serde_json::from_slice(&decode(parts[1])?).map_err(|_| "claims")?;
    if header["alg"] != "RS256" || claims["iss"] != "123" {
        return Err("wrong alg or issuer");
    }
    let (iat, exp) = (
        claims["iat"].as_u64().unwrap_or(0),
        claims["exp"].as_u64().unwrap_or(0),
    );
    if exp <= iat || exp - iat > 600 {
        return Err("GitHub allows at most ten minutes");
    }
    let message = format!("{}.{}", parts[0], parts[1]);
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, fake.public_key.as_slice())
        .verify(message.as_bytes(), &decode(parts[2])?)
        .map_err(|_| "A JSON web token could not be decoded")?;
    fake.seen.lock().unwrap().push(jwt.to_string());
    Ok(())
}

fn deny(why: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({"message": why})),
    )
        .into_response()
}

fn account() -> Value {
    let u = "https://api.github.com/users/octo";
    json!({
        "login": "octo", "id": 1, "node_id": "MDQ6VXNlcjE=", "avatar_url": "https://avatars.githubusercontent.com/u/1",
        "gravatar_id": "", "url": u, "html_url": "https://github.com/octo", "followers_url": format!("{u}/followers"),
        "following_url": format!("{u}/following"), "gists_url": format!("{u}/gists"),
        "starred_url": format!("{u}/starred"), "subscriptions_url": format!("{u}/subscriptions"),
        "organizations_url": format!("{u}/orgs"), "repos_url": format!("{u}/repos"),
        "events_url": format!("{u}/events"), "received_events_url": format!("{u}/received_events"),
        "type": "User", "site_admin": false
    })
}

async fn installation(
    State(fake): State<Fake>,
    Path((owner, repo)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(why) = check_jwt(&fake, &headers) {
        return deny(why);
    }
    if (owner.as_str(), repo.as_str()) != ("octo", "app") {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"message": "Not Found"})),
        )
            .into_response();
    }
    axum::Json(json!({
        "id": 42, "account": account(), "app_id": 123, "target_id": 1, "target_type": "User",
        "access_tokens_url": "https://api.github.com/app/installations/42/access_tokens",
        "repositories_url": "https://api.github.com/installation/repositories",
        "html_url": "https://github.com/settings/installations/42",
        "permissions": {"contents": "write", "pull_requests": "write", "issues": "write"},
        "events": ["pull_request"], "repository_selection": "selected",
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"
    }))
    .into_response()
}

async fn access_token(
    State(fake): State<Fake>,
    Path(id): Path<u64>,
    headers: HeaderMap,
) -> Response {
    if let Err(why) = check_jwt(&fake, &headers) {
        return deny(why);
    }
    assert_eq!(
        id, 42,
        "the token is minted for the repository's installation"
    );
    (
        StatusCode::CREATED,
        axum::Json(json!({
            "token": "ghs_minted_installation_token", "expires_at": "2026-01-01T01:00:00Z",
            "permissions": {"contents": "write"}, "repository_selection": "selected"
        })),
    )
        .into_response()
}

#[test]
fn a_github_app_key_mints_an_installation_token_with_a_verified_rs256_jwt() {
    let pair = {
        let body: String = KEY.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap();
        RsaKeyPair::from_der(&der).unwrap()
    };
    let fake = Fake {
        public_key: Arc::new(pair.public_key().as_ref().to_vec()),
        seen: Arc::default(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let app = Router::new()
            .route("/repos/{owner}/{repo}/installation", get(installation))
            .route("/app/installations/{id}/access_tokens", post(access_token))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

        let env = |k: &str| match k {
            "GITHUB_APP_ID" => Some("123".to_string()),
            "GITHUB_APP_PRIVATE_KEY" => Some(KEY.to_string()),
            _ => None,
        };
        let masked = Mutex::new(Vec::<String>::new());
        let mask = |s: &str| masked.lock().unwrap().push(s.to_string());
        let repo = RepoId::parse("octo/app").unwrap();
        let token = resolve_token(&url, &repo, Some("ghp_ignored"), &env, &mask)
            .await
            .unwrap();
        assert_eq!(token, "ghs_minted_installation_token");
        let seen = fake.seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 2, "both calls carried a verified JWT");
        let masked = masked.lock().unwrap().clone();
        assert!(masked.contains(&KEY.to_string()), "the key is masked");
        assert!(masked.contains(&seen[0]), "the JWT is masked");
        assert!(masked.contains(&token), "the minted token is masked");

        // Not installed on the repository: a clear error naming the App and the repository.
        let other = RepoId::parse("octo/other").unwrap();
        let e = resolve_token(&url, &other, None, &env, &mask)
            .await
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("the GitHub App 123 is not installed on octo/other"),
            "{e}"
        );
    });
}
