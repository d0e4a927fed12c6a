//! Conditional GETs for polling GitHub (serve mode): `If-None-Match` with the caller's ETag, so
//! an unchanged list costs no rate-limit budget (a 304), and the rate-limit and `X-Poll-Interval`
//! headers of every answer, so the caller can pace itself. The ETag cache itself is the caller's.

use std::time::Duration;

use futures_util::StreamExt;
use serde::Deserialize;

use crate::forge::{ForgeError, RepoId};

use super::client::encode;

/// Bodies larger than this are not a list we poll.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// The rate-limit headers of one answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RateLimit {
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
    /// Unix seconds when the budget is refilled.
    pub reset: Option<u64>,
}

/// One conditional GET's answer.
#[derive(Debug, Clone)]
pub struct Polled {
    pub status: u16,
    /// Empty on a 304.
    pub body: Vec<u8>,
    pub etag: Option<String>,
    pub rate: RateLimit,
    /// `X-Poll-Interval`: the fewest seconds GitHub asks between polls of this resource.
    pub poll_interval: Option<u64>,
}

impl Polled {
    pub fn not_modified(&self) -> bool {
        self.status == 304
    }
}

/// A pull request as the list endpoint gives it: what polling decides on.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq, Eq)]
pub struct PolledPull {
    pub number: u64,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub draft: bool,
    #[serde(default)]
    pub merged_at: Option<String>,
    #[serde(default)]
    pub closed_at: Option<String>,
    pub head: PolledRef,
    pub base: PolledRef,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq, Eq)]
pub struct PolledRef {
    #[serde(rename = "ref", default)]
    pub name: String,
    #[serde(default)]
    pub sha: String,
}

/// Reads the list endpoints serve mode polls.
pub struct Poller {
    http: reqwest::Client,
    api_url: String,
}

impl Poller {
    pub fn new(api_url: &str, timeout: Duration) -> Result<Poller, ForgeError> {
        crate::crypto::install();
        let http = reqwest::Client::builder()
            .user_agent(concat!("codex-orchestrator/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| ForgeError::Unreachable {
                url: api_url.to_string(),
                message: e.to_string(),
            })?;
        Ok(Poller {
            http,
            api_url: api_url.trim_end_matches('/').to_string(),
        })
    }

    /// `/repos/{owner}/{repo}/pulls?state=open…`: the open pull requests, newest first.
    pub fn open_pulls_path(repo: &RepoId) -> String {
        format!(
            "/repos/{}/{}/pulls?state=open&sort=created&direction=desc&per_page=100",
            encode(&repo.owner, false),
            encode(&repo.name, false)
        )
    }

    /// The most recently updated closed pull requests (merged or not).
    pub fn closed_pulls_path(repo: &RepoId) -> String {
        format!(
            "/repos/{}/{}/pulls?state=closed&sort=updated&direction=desc&per_page=30",
            encode(&repo.owner, false),
            encode(&repo.name, false)
        )
    }

    pub fn repo_path(repo: &RepoId) -> String {
        format!(
            "/repos/{}/{}",
            encode(&repo.owner, false),
            encode(&repo.name, false)
        )
    }

    /// One GET of `path` with `token`; `etag` makes it conditional. Never retried: a poll that
    /// fails is simply tried on the next cycle.
    pub async fn get(
        &self,
        path: &str,
        token: &str,
        etag: Option<&str>,
    ) -> Result<Polled, ForgeError> {
        let url = format!("{}{path}", self.api_url);
        let mut req = self
            .http
            .get(&url)
            .header(http::header::ACCEPT, "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28")
            .bearer_auth(token);
        if let Some(tag) = etag {
            req = req.header(http::header::IF_NONE_MATCH, tag);
        }
        let response = req.send().await.map_err(|e| ForgeError::Unreachable {
            url: self.api_url.clone(),
            message: describe(&e),
        })?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let number = |name: &str| header(name).and_then(|v| v.trim().parse::<u64>().ok());
        let rate = RateLimit {
            limit: number("x-ratelimit-limit"),
            remaining: number("x-ratelimit-remaining"),
            reset: number("x-ratelimit-reset"),
        };
        let poll_interval = number("x-poll-interval");
        let etag = header("etag");
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| ForgeError::Unreachable {
                url: self.api_url.clone(),
                message: describe(&e),
            })?;
            if body.len() + chunk.len() > MAX_BODY {
                return Err(ForgeError::Decode {
                    what: path.to_string(),
                    message: format!("the answer is larger than {} MB", MAX_BODY >> 20),
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Polled {
            status,
            body,
            etag,
            rate,
            poll_interval,
        })
    }
}

/// reqwest's message (the URL in it carries nothing secret: the token travels in a header).
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if e.is_timeout() {
        text.push_str(" (timed out)");
    }
    text
}

/// Parses a pull request list answer.
pub fn parse_pulls(body: &[u8], what: &str) -> Result<Vec<PolledPull>, ForgeError> {
    serde_json::from_slice(body).map_err(|e| ForgeError::Decode {
        what: what.to_string(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_lists_parse_with_only_what_polling_needs() {
        let body = br#"[{"number": 5, "state": "open", "draft": false, "head": {"ref": "feature/x", "sha": "abc"}, "base": {"ref": "main", "sha": "def"}, "extra": 1}]"#;
        let pulls = parse_pulls(body, "pulls").unwrap();
        assert_eq!(pulls[0].number, 5);
        assert_eq!(pulls[0].head.sha, "abc");
        assert!(parse_pulls(b"{}", "pulls").is_err());
    }

    #[test]
    fn paths_encode_the_repository() {
        let repo = RepoId::parse("octo/app").unwrap();
        assert!(Poller::open_pulls_path(&repo).starts_with("/repos/octo/app/pulls?state=open"));
    }
}
