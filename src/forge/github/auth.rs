//! Which token the GitHub forge uses: a token from the environment (`GH_TOKEN`/`GITHUB_TOKEN`, a
//! PAT or the job token), or a GitHub App (app id + private key → installation token for the
//! repository). Every token found or minted is handed to `mask` (the runner hides it in the
//! Actions log) before it is used.

use http::Method;
use serde_json::Value;

use super::client::{Client, Settings, encode};
use crate::forge::{ForgeError, RepoId};

/// Returns the token to use: the GitHub App's installation token when `GITHUB_APP_ID` and
/// `GITHUB_APP_PRIVATE_KEY` are set, else `token`.
pub async fn resolve_token(
    api_url: &str,
    repo: &RepoId,
    token: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
    mask: &dyn Fn(&str),
) -> Result<String, ForgeError> {
    let app_id = env("GITHUB_APP_ID").filter(|v| !v.trim().is_empty());
    let key = env("GITHUB_APP_PRIVATE_KEY").filter(|v| !v.trim().is_empty());
    match (app_id, key) {
        (Some(id), Some(key)) => {
            mask(&key);
            let id: u64 = id.trim().parse().map_err(|_| ForgeError::Permission {
                message: format!("GITHUB_APP_ID must be the App's numeric id, got {id:?}"),
            })?;
            let key = crate::crypto::AppKey::from_pem(&key).map_err(|e| ForgeError::Permission {
                message: format!("GITHUB_APP_PRIVATE_KEY is {e}"),
            })?;
            crate::crypto::install();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let jwt = key.jwt(id, now).map_err(|message| ForgeError::Permission { message })?;
            mask(&jwt);
            // The JWT authenticates as the App (a Bearer token) for these two calls only.
            let app = Client::new(Settings::new(api_url, &jwt))?;
            let path = format!("/repos/{}/{}/installation", encode(&repo.owner, false), encode(&repo.name, false));
            let installation: Value = app.get(&path).await.map_err(|e| ForgeError::Permission {
                message: format!("the GitHub App {id} is not installed on {repo} (or cannot be reached): {e}"),
            })?;
            let installation = installation["id"].as_u64().ok_or_else(|| ForgeError::Decode {
                what: path.clone(),
                message: "the installation has no numeric `id`".into(),
            })?;
            let path = format!("/app/installations/{installation}/access_tokens");
            let minted = app.send(Method::POST, &path, None, None).await;
            let token = match minted {
                Ok(a) if a.ok() => a.json::<Value>(&path)?["token"].as_str().map(str::to_string),
                Ok(a) => {
                    return Err(ForgeError::Permission {
                        message: format!("minting an installation token failed: {}", app.error(&Method::POST, &path, &a)),
                    });
                }
                Err(e) => {
                    return Err(ForgeError::Permission { message: format!("minting an installation token failed: {e}") });
                }
            };
            let token = token.ok_or_else(|| ForgeError::Decode {
                what: path,
                message: "the answer has no `token`".into(),
            })?;
            mask(&token);
            Ok(token)
        }
        (Some(_), None) | (None, Some(_)) => Err(ForgeError::Permission {
            message: "set both GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY to use a GitHub App, or neither".into(),
        }),
        (None, None) => token.map(str::to_string).ok_or_else(|| ForgeError::Permission {
            message: "no GitHub token: set GH_TOKEN or GITHUB_TOKEN (the action passes its github-token input), \
                      or GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY"
                .into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_with(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    fn repo() -> RepoId {
        RepoId::parse("octo/app").unwrap()
    }

    #[tokio::test]
    async fn tokens_and_app_settings_are_checked_with_clear_errors() {
        let runner = |_: &str| {};
        let none = env_with(&[]);
        let t = resolve_token("http://127.0.0.1:9", &repo(), Some("ghp_x"), &none, &runner).await;
        assert_eq!(t.unwrap(), "ghp_x");
        let e = resolve_token("http://127.0.0.1:9", &repo(), None, &none, &runner)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("no GitHub token"), "{e}");

        let half = env_with(&[("GITHUB_APP_ID", "123")]);
        let e = resolve_token("http://127.0.0.1:9", &repo(), Some("ghp_x"), &half, &runner)
            .await
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("set both GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY"),
            "{e}"
        );

        let bad_id = env_with(&[("GITHUB_APP_ID", "my-app"), ("GITHUB_APP_PRIVATE_KEY", "x")]);
        let e = resolve_token("http://127.0.0.1:9", &repo(), None, &bad_id, &runner)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("numeric id"), "{e}");

        let bad_key = env_with(&[
            ("GITHUB_APP_ID", "123"),
            ("GITHUB_APP_PRIVATE_KEY", "-----BEGIN NOTHING-----"),
        ]);
        let e = resolve_token("http://127.0.0.1:9", &repo(), None, &bad_key, &runner)
            .await
            .unwrap_err();
        assert!(
            e.to_string().contains("not an RSA private key in PEM form"),
            "{e}"
        );
    }
}
