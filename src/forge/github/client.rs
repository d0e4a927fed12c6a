//! The HTTP layer under the GitHub forge: our reqwest client (auth, base URL, GitHub's headers),
//! plus GitHub's rules for being a good citizen: wait out rate limits when cheap, back off
//! on secondary limits, retry reads on 5xx, never blindly retry a write, send writes one at a
//! time, revalidate polled reads with ETags, and say which setting to change on a 403.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::{HeaderMap, Method};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::forge::ForgeError;

/// The REST API version every request names (GitHub's current stable one).
const API_VERSION: &str = "2022-11-28";

/// How patient the client is.
#[derive(Debug, Clone)]
pub struct Settings {
    pub api_url: String,
    pub token: String,
    /// Whole-request timeout.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Wait for a primary rate-limit reset only if it comes within this.
    pub max_rate_wait: Duration,
    /// First back-off after a secondary rate limit without `retry-after` (GitHub asks ≥ 60 s).
    pub secondary_backoff: Duration,
    /// Back-off before retrying a read after a 5xx or a timeout.
    pub read_backoff: Duration,
    /// Attempts for reads, and rate-limit waits for any request.
    pub attempts: u32,
    /// The largest answer body read; a larger one is refused, not buffered.
    pub max_body_bytes: usize,
}

impl Settings {
    pub fn new(api_url: &str, token: &str) -> Self {
        Settings {
            api_url: api_url.trim_end_matches('/').to_string(),
            token: token.to_string(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_rate_wait: Duration::from_secs(120),
            secondary_backoff: Duration::from_secs(60),
            read_backoff: Duration::from_secs(2),
            attempts: 4,
            max_body_bytes: MAX_BODY_BYTES,
        }
    }
}

/// A raw answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn json<T: DeserializeOwned>(&self, what: &str) -> Result<T, ForgeError> {
        serde_json::from_slice(&self.body).map_err(|e| ForgeError::Decode {
            what: what.to_string(),
            message: e.to_string(),
        })
    }

    /// GitHub's error message (`message` plus `errors[].message`), for matching 422s.
    pub fn message(&self) -> String {
        let Ok(v) = serde_json::from_slice::<Value>(&self.body) else {
            return String::from_utf8_lossy(&self.body)
                .chars()
                .take(300)
                .collect();
        };
        let mut parts = vec![v["message"].as_str().unwrap_or("").to_string()];
        for e in v["errors"].as_array().into_iter().flatten() {
            if let Some(m) = e["message"].as_str().or_else(|| e.as_str()) {
                parts.push(m.to_string());
            }
        }
        parts.retain(|p| !p.is_empty());
        parts.join(": ")
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub struct Client {
    http: reqwest::Client,
    settings: Settings,
    etags: Mutex<HashMap<String, (String, Vec<u8>)>>,
    writes: tokio::sync::Mutex<()>,
    requests: AtomicU64,
}

enum Transport {
    /// Not sent (connection refused, DNS): safe to retry any request.
    Connect(String),
    /// Sent, no clear answer (timeout, reset).
    Lost(String),
    /// The answer's body is larger than `max_body_bytes`; not read further.
    TooLarge,
}

/// The largest answer body read from GitHub by default. Its biggest legitimate answers (a recursive tree,
/// a 20,000-line diff) stay far below this; anything larger is refused, not buffered.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

impl Client {
    pub fn new(settings: Settings) -> Result<Client, ForgeError> {
        crate::crypto::install();
        let http = reqwest::Client::builder()
            .user_agent(concat!("codex-orchestrator/", env!("CARGO_PKG_VERSION")))
            .timeout(settings.timeout)
            .connect_timeout(settings.connect_timeout)
            .build()
            .map_err(|e| unreachable(&settings.api_url, &e))?;
        if let Err(e) = reqwest::Url::parse(&settings.api_url) {
            return Err(ForgeError::Unreachable {
                url: settings.api_url.clone(),
                message: format!("not a usable API URL: {e}"),
            });
        }
        Ok(Client {
            http,
            settings,
            etags: Mutex::new(HashMap::new()),
            writes: tokio::sync::Mutex::new(()),
            requests: AtomicU64::new(0),
        })
    }

    /// Requests sent so far (each retry counts).
    pub fn request_count(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    async fn once(
        &self,
        method: &Method,
        path: &str,
        body: Option<&Value>,
        headers: &HeaderMap,
    ) -> Result<Answer, Transport> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let url = if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", self.settings.api_url)
        };
        let mut token = http::HeaderValue::try_from(format!("Bearer {}", self.settings.token))
            .map_err(|_| {
                Transport::Connect("the GitHub token holds characters a header cannot carry".into())
            })?;
        token.set_sensitive(true);
        let mut request = self
            .http
            .request(method.clone(), url)
            .header(http::header::AUTHORIZATION, token)
            .header("x-github-api-version", API_VERSION)
            .headers(headers.clone());
        if !headers.contains_key(http::header::ACCEPT) {
            request = request.header(http::header::ACCEPT, "application/vnd.github+json");
        }
        request = match body {
            Some(b) => request.json(b),
            None => request.header(http::header::CONTENT_LENGTH, "0"),
        };
        let response = request.send().await.map_err(classify_transport)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        // Read chunk by chunk so an answer above the limit is refused, not buffered whole.
        let mut response = response;
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| Transport::Lost(e.to_string()))?
        {
            if body.len() + chunk.len() > self.settings.max_body_bytes {
                return Err(Transport::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    /// Sends a request, waiting out rate limits. Reads are retried on 5xx and timeouts; a write
    /// that got no clear answer is `Ambiguous`, for the caller to look before retrying.
    /// GitHub's GraphQL endpoint for this API (`https://api.github.com/graphql`). `None` on GitHub
    /// Enterprise Server (`…/api/v3`), whose `/api/graphql` lies outside the REST base path
    /// the client prepends to every request.
    pub fn graphql_path(&self) -> Option<&'static str> {
        (!self
            .settings
            .api_url
            .trim_end_matches('/')
            .ends_with("/api/v3"))
        .then_some("/graphql")
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        accept: Option<&str>,
    ) -> Result<Answer, ForgeError> {
        let write = method != Method::GET;
        let _serial = if write {
            Some(self.writes.lock().await)
        } else {
            None
        };
        let mut headers = HeaderMap::new();
        if let Some(a) = accept.and_then(|a| a.parse().ok()) {
            headers.insert(http::header::ACCEPT, a);
        }
        let cache_key = (!write && accept.is_none()).then(|| path.to_string());
        if let Some(key) = &cache_key
            && let Some((etag, _)) = self.etags.lock().ok().and_then(|m| m.get(key).cloned())
            && let Ok(v) = etag.parse()
        {
            headers.insert(http::header::IF_NONE_MATCH, v);
        }
        let mut secondary_wait = self.settings.secondary_backoff;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= self.settings.attempts;
            let answer = match self.once(&method, path, body, &headers).await {
                Ok(a) => a,
                Err(Transport::Connect(m)) if !last => {
                    tracing::warn!("GitHub unreachable ({m}); retrying");
                    tokio::time::sleep(self.settings.read_backoff * attempt).await;
                    continue;
                }
                Err(Transport::Connect(m)) => {
                    return Err(ForgeError::Unreachable {
                        url: self.settings.api_url.clone(),
                        message: m,
                    });
                }
                Err(Transport::Lost(m)) if !write && !last => {
                    tracing::warn!("GET {path}: {m}; retrying");
                    tokio::time::sleep(self.settings.read_backoff * attempt).await;
                    continue;
                }
                Err(Transport::Lost(m)) => {
                    return Err(ForgeError::Ambiguous {
                        message: format!("{method} {path}: {m}"),
                    });
                }
                Err(Transport::TooLarge) => {
                    return Err(ForgeError::Decode {
                        what: format!("{method} {path}"),
                        message: format!(
                            "the answer is larger than {} bytes, so it was not read; \
                             check GITHUB_API_URL points at GitHub's API",
                            self.settings.max_body_bytes
                        ),
                    });
                }
            };
            if let Some(wait) = self.rate_limit_wait(&answer, &mut secondary_wait)? {
                if last {
                    return Err(ForgeError::RateLimited {
                        message: format!(
                            "still limited after {attempt} attempts: {}",
                            answer.message()
                        ),
                    });
                }
                tracing::warn!("GitHub rate limit on {method} {path}; waiting {wait:?}");
                tokio::time::sleep(wait).await;
                continue;
            }
            if answer.status >= 500 {
                if !write && !last {
                    tokio::time::sleep(self.settings.read_backoff * attempt).await;
                    continue;
                }
                if write {
                    return Err(ForgeError::Ambiguous {
                        message: format!("{method} {path}: HTTP {}", answer.status),
                    });
                }
            }
            if let Some(key) = cache_key {
                return Ok(self.revalidate(key, answer));
            }
            return Ok(answer);
        }
    }

    /// Serves a 304 from the ETag cache; stores fresh 200s that carry an ETag.
    fn revalidate(&self, key: String, answer: Answer) -> Answer {
        let Ok(mut cache) = self.etags.lock() else {
            return answer;
        };
        if answer.status == 304
            && let Some((_, body)) = cache.get(&key)
        {
            return Answer {
                status: 200,
                headers: answer.headers,
                body: body.clone(),
            };
        }
        if answer.status == 200
            && let Some(etag) = answer.header("etag")
        {
            cache.insert(key, (etag.to_string(), answer.body.clone()));
        }
        answer
    }

    /// `Some(wait)` when the answer is a rate limit worth waiting for; an error when the wait
    /// would be too long.
    fn rate_limit_wait(
        &self,
        a: &Answer,
        secondary_wait: &mut Duration,
    ) -> Result<Option<Duration>, ForgeError> {
        if a.status != 403 && a.status != 429 {
            return Ok(None);
        }
        let message = a.message().to_ascii_lowercase();
        if let Some(secs) = a
            .header("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            let wait = Duration::from_secs(secs).max(Duration::from_millis(1));
            return self
                .within_cap(wait, "GitHub asked to retry after")
                .map(Some);
        }
        if a.header("x-ratelimit-remaining") == Some("0") {
            let reset = a
                .header("x-ratelimit-reset")
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let wait = Duration::from_secs(reset.saturating_sub(now) + 1);
            if wait > self.settings.max_rate_wait {
                return Err(ForgeError::RateLimited {
                    message: format!(
                        "the API budget is used up until {reset} (unix time, in {}s, more than CODEX_GITHUB_MAX_WAIT allows); try later or use a token with its own budget (a GitHub App)",
                        wait.as_secs()
                    ),
                });
            }
            return Ok(Some(wait));
        }
        if message.contains("secondary rate limit") || a.status == 429 {
            let wait = *secondary_wait;
            *secondary_wait = secondary_wait.saturating_mul(2);
            return self
                .within_cap(wait, "a secondary rate limit backs off for")
                .map(Some);
        }
        Ok(None)
    }

    /// `wait` when it is within `max_rate_wait`; else the error that names both.
    fn within_cap(&self, wait: Duration, what: &str) -> Result<Duration, ForgeError> {
        if wait <= self.settings.max_rate_wait {
            return Ok(wait);
        }
        Err(ForgeError::RateLimited {
            message: format!(
                "{what} {}s, more than the {}s this run may wait (CODEX_GITHUB_MAX_WAIT); \
                 stopped instead of waiting. Re-run later, or raise CODEX_GITHUB_MAX_WAIT",
                wait.as_secs(),
                self.settings.max_rate_wait.as_secs()
            ),
        })
    }

    /// Turns a non-2xx answer into the error a user can act on.
    pub fn error(&self, method: &Method, path: &str, a: &Answer) -> ForgeError {
        let message = a.message();
        let lower = message.to_ascii_lowercase();
        match a.status {
            404 => ForgeError::NotFound {
                what: format!("{method} {path}"),
            },
            403 if lower.contains("not permitted to create or approve pull requests") => {
                ForgeError::Permission {
                    message: format!(
                        "GitHub refused: {message}. Allow it in the repository (or organization) settings: \
                     Settings → Actions → General → Workflow permissions → \"Allow GitHub Actions to create \
                     and approve pull requests\", or use a PAT / GitHub App token"
                    ),
                }
            }
            403 if lower.contains("resource not accessible by integration") => {
                ForgeError::Permission {
                    message: format!(
                        "GitHub refused {method} {path}: {message}. The token lacks a permission: give the job \
                     `permissions:` contents: write, pull-requests: write, issues: write (and actions: write to \
                     dispatch workflows), or use a PAT / GitHub App token with them"
                    ),
                }
            }
            401 => ForgeError::Permission {
                message: format!(
                    "GitHub rejected the token ({message}); check GH_TOKEN / GITHUB_TOKEN / the github-token input"
                ),
            },
            406 | 422
                if lower.contains("diff")
                    && (lower.contains("too large")
                        || lower.contains("too_large")
                        || lower.contains("exceeded")) =>
            {
                ForgeError::DiffTooLarge { message }
            }
            status => ForgeError::Api {
                status,
                method: method.to_string(),
                path: path.to_string(),
                message,
            },
        }
    }

    /// GET and decode, with the error mapping.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ForgeError> {
        let a = self.send(Method::GET, path, None, None).await?;
        if !a.ok() {
            return Err(self.error(&Method::GET, path, &a));
        }
        a.json(path)
    }

    /// All pages of a list endpoint (`per_page=100`, following `Link: rel="next"` by page number).
    pub async fn get_all<T: DeserializeOwned>(
        &self,
        path: &str,
        max_pages: usize,
    ) -> Result<Vec<T>, ForgeError> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut out = Vec::new();
        for page in 1..=max_pages {
            let p = format!("{path}{sep}per_page=100&page={page}");
            let a = self.send(Method::GET, &p, None, None).await?;
            if !a.ok() {
                return Err(self.error(&Method::GET, &p, &a));
            }
            let items: Vec<T> = a.json(&p)?;
            let more = a.header("link").is_some_and(|l| l.contains("rel=\"next\""));
            let full = items.len() == 100;
            out.extend(items);
            if !more && !full {
                break;
            }
            if !more {
                // No Link header (some proxies strip it): a full page means try the next one.
                continue;
            }
        }
        Ok(out)
    }
}

fn classify_transport(e: reqwest::Error) -> Transport {
    if e.is_connect() || e.is_builder() {
        return Transport::Connect(e.to_string());
    }
    if e.is_timeout() {
        return Transport::Lost(format!("timed out ({e})"));
    }
    Transport::Lost(e.to_string())
}

fn unreachable(url: &str, e: &dyn std::fmt::Display) -> ForgeError {
    ForgeError::Unreachable {
        url: url.to_string(),
        message: e.to_string(),
    }
}

/// What a path segment keeps unencoded: RFC 3986's unreserved characters.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// A path of segments (branch names in ref paths, file paths): `/` kept too.
const PATH: &AsciiSet = &SEGMENT.remove(b'/');

/// Percent-encodes a path segment as UTF-8 (keeps `/` when `keep_slash`, for branch names in ref
/// paths).
pub fn encode(s: &str, keep_slash: bool) -> String {
    utf8_percent_encode(s, if keep_slash { PATH } else { SEGMENT }).to_string()
}

#[cfg(test)]
mod tests {
    use super::encode;

    #[test]
    fn names_are_encoded_as_github_expects() {
        assert_eq!(encode("a-b_c.d~e09AZ", false), "a-b_c.d~e09AZ");
        assert_eq!(
            encode("my file#1?x=y&z", false),
            "my%20file%231%3Fx%3Dy%26z"
        );
        assert_eq!(encode("feat/x y", false), "feat%2Fx%20y");
        assert_eq!(encode("feat/x y", true), "feat/x%20y");
        assert_eq!(encode("docs/é 文.md", true), "docs/%C3%A9%20%E6%96%87.md");
        assert_eq!(encode("100%", false), "100%25");
        assert_eq!(encode("", false), "");
    }
}
