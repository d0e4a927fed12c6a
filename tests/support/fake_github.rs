//! A fake GitHub for tests: a stateful REST server on 127.0.0.1 speaking GitHub's JSON shapes for
//! the routes the forge uses (repos, pulls, comments, reviews, git data, contents, dispatches),
//! with fault injection (5xx, secondary rate limits, slow answers after the write happened,
//! concurrent pushes) and a request log. `ROUTES` lists what it serves, with the statuses it
//! can answer, so `fake_github_openapi.rs` can check it against GitHub's OpenAPI description.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};

/// (method, OpenAPI path template, statuses this fake answers besides injected faults).
pub const ROUTES: &[(&str, &str, &[u16])] = &[
    ("GET", "/repos/{owner}/{repo}", &[200, 404]),
    ("GET", "/repos/{owner}/{repo}/pulls", &[200]),
    ("POST", "/repos/{owner}/{repo}/pulls", &[201, 422]),
    (
        "GET",
        "/repos/{owner}/{repo}/pulls/{pull_number}",
        &[200, 404, 406],
    ),
    (
        "PATCH",
        "/repos/{owner}/{repo}/pulls/{pull_number}",
        &[200, 404],
    ),
    (
        "PUT",
        "/repos/{owner}/{repo}/pulls/{pull_number}/merge",
        &[200, 404, 405, 409],
    ),
    (
        "GET",
        "/repos/{owner}/{repo}/pulls/{pull_number}/files",
        &[200, 404],
    ),
    (
        "GET",
        "/repos/{owner}/{repo}/pulls/{pull_number}/comments",
        &[200],
    ),
    (
        "POST",
        "/repos/{owner}/{repo}/pulls/{pull_number}/reviews",
        &[200, 404, 422],
    ),
    (
        "GET",
        "/repos/{owner}/{repo}/issues/{issue_number}/comments",
        &[200],
    ),
    (
        "POST",
        "/repos/{owner}/{repo}/issues/{issue_number}/comments",
        &[201, 403],
    ),
    (
        "PATCH",
        "/repos/{owner}/{repo}/issues/comments/{comment_id}",
        &[200],
    ),
    ("GET", "/repos/{owner}/{repo}/git/ref/{ref}", &[200, 404]),
    ("POST", "/repos/{owner}/{repo}/git/refs", &[201, 422]),
    ("PATCH", "/repos/{owner}/{repo}/git/refs/{ref}", &[200, 422]),
    (
        "GET",
        "/repos/{owner}/{repo}/git/commits/{commit_sha}",
        &[200, 404],
    ),
    ("POST", "/repos/{owner}/{repo}/git/commits", &[201, 422]),
    ("POST", "/repos/{owner}/{repo}/git/blobs", &[201]),
    ("POST", "/repos/{owner}/{repo}/git/trees", &[201, 422]),
    (
        "GET",
        "/repos/{owner}/{repo}/contents/{path}",
        &[200, 304, 404],
    ),
    (
        "POST",
        "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches",
        &[204, 422],
    ),
    ("GET", "/user", &[200, 403]),
    (
        "GET",
        "/repos/{owner}/{repo}/pulls/{pull_number}/reviews",
        &[200],
    ),
    (
        "GET",
        "/repos/{owner}/{repo}/issues/{issue_number}/labels",
        &[200],
    ),
    (
        "POST",
        "/repos/{owner}/{repo}/issues/{issue_number}/labels",
        &[200],
    ),
    (
        "GET",
        "/repos/{owner}/{repo}/git/matching-refs/{ref}",
        &[200],
    ),
    (
        "GET",
        "/repos/{owner}/{repo}/git/trees/{tree_sha}",
        &[200, 404],
    ),
    (
        "GET",
        "/repos/{owner}/{repo}/compare/{basehead}",
        &[200, 404],
    ),
];

/// What a token may do on the fake: who it acts as, whether it may write, and whether it is an
/// installation token (which cannot read `GET /user`, as on GitHub).
#[derive(Debug, Clone)]
pub struct TokenInfo {
    pub login: String,
    pub write: bool,
    pub installation: bool,
}

/// Git's id of an object.
fn git_hash(kind: gix::objs::Kind, data: &[u8]) -> String {
    gix::objs::compute_hash(gix::hash::Kind::Sha1, kind, data)
        .expect("sha1")
        .to_string()
}

/// A commit object with a fixed author and committer.
pub fn commit_bytes(tree: &str, parents: &[String], message: &str) -> Vec<u8> {
    let mut s = format!("tree {tree}\n");
    for p in parents {
        s.push_str(&format!("parent {p}\n"));
    }
    s.push_str("author t <t@example.com> 0 +0000\ncommitter t <t@example.com> 0 +0000\n\n");
    s.push_str(message);
    s.into_bytes()
}

/// The git tree objects of a flat path map: (root id, every tree object as (id, bytes)).
pub fn tree_objects(flat: &BTreeMap<String, (String, String)>) -> (String, Vec<(String, Vec<u8>)>) {
    fn build(
        entries: &BTreeMap<String, (String, String)>,
        out: &mut Vec<(String, Vec<u8>)>,
    ) -> String {
        let mut files: Vec<(String, String, String)> = Vec::new();
        let mut dirs: BTreeMap<String, BTreeMap<String, (String, String)>> = BTreeMap::new();
        for (path, (mode, id)) in entries {
            match path.split_once('/') {
                Some((dir, rest)) => {
                    dirs.entry(dir.to_string())
                        .or_default()
                        .insert(rest.to_string(), (mode.clone(), id.clone()));
                }
                None => files.push((path.clone(), mode.clone(), id.clone())),
            }
        }
        for (dir, sub) in &dirs {
            let id = build(sub, out);
            files.push((dir.clone(), "40000".into(), id));
        }
        // Git orders entries by name, a folder's name as if it ended in `/`.
        let key = |(name, mode, _): &(String, String, String)| {
            if mode == "40000" {
                format!("{name}/")
            } else {
                name.clone()
            }
        };
        files.sort_by_key(key);
        let mut bytes = Vec::new();
        for (name, mode, id) in &files {
            bytes.extend_from_slice(format!("{mode} {name}\0").as_bytes());
            bytes.extend_from_slice(&hex::decode(id).unwrap_or_else(|_| vec![0; 20]));
        }
        let id = git_hash(gix::objs::Kind::Tree, &bytes);
        out.push((id.clone(), bytes));
        id
    }
    let mut out = Vec::new();
    let root = build(flat, &mut out);
    (root, out)
}

/// The bearer token of a request (empty without one).
fn token_of(headers: &HeaderMap) -> &str {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.trim_start_matches("Bearer ")
                .trim_start_matches("token ")
                .trim()
        })
        .unwrap_or("")
}

/// The login an unknown token acts as (the default test token among them).
pub const DEFAULT_LOGIN: &str = "codex-bot";

#[derive(Debug, Clone)]
pub enum FaultKind {
    /// Answer this status without doing anything.
    Status(u16),
    /// 403 "secondary rate limit", with `retry-after` seconds when given.
    SecondaryLimit(Option<u64>),
    /// Do the request, then stall before answering (the client times out; the write happened).
    SlowAfterApply(Duration),
    /// 403 with `x-ratelimit-remaining: 0` and a reset this many seconds from now.
    PrimaryLimit(u64),
    /// Answer 403 with this message (permission problems).
    Forbidden(&'static str),
    /// Before doing the request, move this branch forward by one commit (a concurrent push).
    ConcurrentPush(&'static str),
    /// Do the request, then answer this status instead of its own (a 5xx after the write).
    StatusAfterApply(u16),
}

#[derive(Debug, Clone)]
pub struct Fault {
    pub method: &'static str,
    /// Matches when the request path contains this (ends with it, when it ends with `$`).
    pub path: String,
    pub kind: FaultKind,
    pub times: usize,
    /// Matching requests to let through before the fault strikes.
    pub skip: usize,
}

#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub body: Value,
    /// The login of the token the request came with.
    pub by: String,
}

#[derive(Debug, Clone, Default)]
pub struct Pull {
    pub number: u64,
    pub title: String,
    pub body: String,
    pub open: bool,
    pub merged: bool,
    pub draft: bool,
    pub head: String,
    pub base: String,
    pub merge_sha: Option<String>,
    /// Who opened it (empty: the default bot).
    pub author: String,
    pub labels: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct CommitObj {
    pub tree: String,
    pub parents: Vec<String>,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct State {
    pub owner: String,
    pub repo: String,
    pub default_branch: String,
    pub refs: BTreeMap<String, String>,
    pub commits: HashMap<String, CommitObj>,
    /// tree sha → path → (mode, blob sha)
    pub trees: HashMap<String, BTreeMap<String, (String, String)>>,
    pub blobs: HashMap<String, Vec<u8>>,
    pub pulls: Vec<Pull>,
    /// (id, issue, body, author)
    pub comments: Vec<(u64, u64, String, String)>,
    /// (pr, path, line, body)
    pub review_comments: Vec<(u64, String, u64, String)>,
    pub reviews: Vec<Value>,
    pub dispatches: Vec<Value>,
    /// GraphQL enablePullRequestAutoMerge calls: (PR number, merge method).
    pub auto_merges: Vec<(u64, String)>,
    /// When set, GraphQL answers with this error (HTTP 200 and an `errors` list, as GitHub does).
    pub graphql_error: Option<String>,
    pub log: Vec<Logged>,
    pub faults: Vec<Fault>,
    next: u64,
    pub etag_hits: usize,
    /// Tokens with their own identity or read-only access; any other token is the default bot
    /// with write access.
    pub tokens: HashMap<String, TokenInfo>,
    /// Recursive tree listings answer `truncated: true` (a very large repository).
    pub truncate_trees: bool,
    /// Only the tokens in `tokens` are accepted; any other gets 401.
    pub strict_tokens: bool,
    /// Blob, tree and commit ids are git's own (computed from the content, commits with a fixed
    /// author and date), so a checkout can hold the fake's commits under the same ids.
    pub git_ids: bool,
    /// Per-token scopes like a job's `permissions:` (`contents`, `pull-requests`, `issues`,
    /// `actions` → `read` or `write`); a token listed here may do only what they allow.
    pub scopes: HashMap<String, BTreeMap<String, String>>,
    /// In-progress runs by workflow file, as (run id, event): what `GET …/runs?status=` lists.
    pub active_runs: HashMap<String, Vec<(u64, String)>>,
    /// Serve mode's rate-limit budget (see the block at the end of this file).
    pub serve: ServeFake,
    /// Called with the state after every request that is not a GET (serve's loop test keeps
    /// the git repository serve clones from in step with it).
    pub after_write: Option<AfterWrite>,
}

/// A hook run after each write.
#[derive(Clone)]
pub struct AfterWrite(pub Arc<dyn Fn(&State) + Send + Sync>);

impl std::fmt::Debug for AfterWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AfterWrite")
    }
}

impl State {
    /// The identity of a request's `Authorization` header.
    pub fn caller(&self, headers: &HeaderMap) -> TokenInfo {
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.trim_start_matches("Bearer ")
                    .trim_start_matches("token ")
                    .trim()
            })
            .unwrap_or("");
        self.tokens.get(token).cloned().unwrap_or(TokenInfo {
            login: DEFAULT_LOGIN.into(),
            write: true,
            installation: false,
        })
    }

    /// A comment on `issue` written by someone else (a look-alike, a person).
    pub fn comment_as(&mut self, issue: u64, author: &str, body: &str) -> u64 {
        let id = self.id();
        self.comments.push((id, issue, body.into(), author.into()));
        id
    }

    fn id(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    /// A fresh id that looks like a git object id (not a run of zeros).
    fn sha(&mut self) -> String {
        let n = self.id();
        format!(
            "{:016x}{n:024x}",
            n.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1 << 63
        )
    }

    /// A new blob's id: git's when `git_ids` is on, else a fresh one.
    fn blob_id(&mut self, bytes: &[u8]) -> String {
        if self.git_ids {
            git_hash(gix::objs::Kind::Blob, bytes)
        } else {
            self.sha()
        }
    }

    fn tree_id(&mut self, flat: &BTreeMap<String, (String, String)>) -> String {
        if self.git_ids {
            tree_objects(flat).0
        } else {
            self.sha()
        }
    }

    fn commit_id(&mut self, tree: &str, parents: &[String], message: &str) -> String {
        if self.git_ids {
            git_hash(
                gix::objs::Kind::Commit,
                &commit_bytes(tree, parents, message),
            )
        } else {
            self.sha()
        }
    }

    /// Every git object the fake holds, as (kind, id, bytes): with `git_ids` on, writing them
    /// into a repository gives it the fake's history under the same commit ids.
    pub fn git_objects(&self) -> Vec<(&'static str, String, Vec<u8>)> {
        let mut out: Vec<(&'static str, String, Vec<u8>)> = self
            .blobs
            .iter()
            .map(|(id, b)| ("blob", id.clone(), b.clone()))
            .collect();
        for flat in self.trees.values() {
            for (id, bytes) in tree_objects(flat).1 {
                out.push(("tree", id, bytes));
            }
        }
        for (id, c) in &self.commits {
            out.push((
                "commit",
                id.clone(),
                commit_bytes(&c.tree, &c.parents, &c.message),
            ));
        }
        out
    }

    /// The flat file map of a commit.
    pub fn files_at(&self, commit: &str) -> BTreeMap<String, (String, String)> {
        self.commits
            .get(commit)
            .and_then(|c| self.trees.get(&c.tree))
            .cloned()
            .unwrap_or_default()
    }

    /// A file's text at a branch.
    pub fn file(&self, branch: &str, path: &str) -> Option<String> {
        let sha = self.refs.get(branch)?;
        let (_, blob) = self.files_at(sha).get(path)?.clone();
        Some(String::from_utf8_lossy(self.blobs.get(&blob)?).into_owned())
    }

    /// Commits `files` (path → content) on `branch` (created from its parent or empty).
    pub fn commit_files(&mut self, branch: &str, files: &[(&str, &str)], message: &str) -> String {
        let parent = self.refs.get(branch).cloned();
        let mut tree = parent
            .as_ref()
            .map(|p| self.files_at(p))
            .unwrap_or_default();
        for (path, content) in files {
            let blob = self.blob_id(content.as_bytes());
            self.blobs.insert(blob.clone(), content.as_bytes().to_vec());
            tree.insert(path.to_string(), ("100644".into(), blob));
        }
        let tree_sha = self.tree_id(&tree);
        self.trees.insert(tree_sha.clone(), tree);
        let parents: Vec<String> = parent.into_iter().collect();
        let sha = self.commit_id(&tree_sha, &parents, message);
        self.commits.insert(
            sha.clone(),
            CommitObj {
                tree: tree_sha,
                parents,
                message: message.into(),
            },
        );
        self.refs.insert(branch.to_string(), sha.clone());
        sha
    }

    /// Squash-merges pull request `number` as GitHub does: the head's changes since the merge
    /// base applied to the base branch (a three-way merge by path; both sides changing a path
    /// differently is a conflict). `expected` is the head sha the caller saw, if it names one.
    pub fn merge_pull(
        &mut self,
        number: u64,
        expected: Option<&str>,
    ) -> Result<String, (u16, &'static str)> {
        let Some(i) = self.pulls.iter().position(|p| p.number == number) else {
            return Err((404, "Not Found"));
        };
        let p = self.pulls[i].clone();
        if !p.open {
            return Err((405, "Pull Request is not mergeable"));
        }
        let head_sha = self.refs[&p.head].clone();
        if expected.is_some_and(|s| s != head_sha) {
            return Err((
                409,
                "Head branch was modified. Review and try the merge again.",
            ));
        }
        let base_sha = self.refs[&p.base].clone();
        let mut ours_ancestors = std::collections::HashSet::new();
        let mut stack = vec![base_sha.clone()];
        while let Some(c) = stack.pop() {
            if ours_ancestors.insert(c.clone())
                && let Some(obj) = self.commits.get(&c)
            {
                stack.extend(obj.parents.iter().cloned());
            }
        }
        let mut queue = std::collections::VecDeque::from([head_sha.clone()]);
        let mut seen = std::collections::HashSet::new();
        let mut merge_base = None;
        while let Some(c) = queue.pop_front() {
            if ours_ancestors.contains(&c) {
                merge_base = Some(c);
                break;
            }
            if seen.insert(c.clone())
                && let Some(obj) = self.commits.get(&c)
            {
                queue.extend(obj.parents.iter().cloned());
            }
        }
        let common = merge_base.map(|m| self.files_at(&m)).unwrap_or_default();
        let ours = self.files_at(&base_sha);
        let theirs = self.files_at(&head_sha);
        let mut tree = BTreeMap::new();
        let paths: std::collections::BTreeSet<&String> = common
            .keys()
            .chain(ours.keys())
            .chain(theirs.keys())
            .collect();
        for path in paths {
            let (b, o, t) = (common.get(path), ours.get(path), theirs.get(path));
            let pick = if t == b || o == t {
                o
            } else if o == b {
                t
            } else {
                return Err((405, "Merge conflict"));
            };
            if let Some(entry) = pick {
                tree.insert(path.clone(), entry.clone());
            }
        }
        let tree_sha = self.tree_id(&tree);
        self.trees.insert(tree_sha.clone(), tree);
        let message = format!("{} (#{})", p.title, p.number);
        let parents = vec![base_sha];
        let sha = self.commit_id(&tree_sha, &parents, &message);
        self.commits.insert(
            sha.clone(),
            CommitObj {
                tree: tree_sha,
                parents,
                message,
            },
        );
        self.refs.insert(p.base.clone(), sha.clone());
        let pr = &mut self.pulls[i];
        pr.open = false;
        pr.merged = true;
        pr.merge_sha = Some(sha.clone());
        Ok(sha)
    }

    fn is_ancestor(&self, ancestor: &str, of: &str) -> bool {
        let mut stack = vec![of.to_string()];
        let mut seen = std::collections::HashSet::new();
        while let Some(c) = stack.pop() {
            if c == ancestor {
                return true;
            }
            if seen.insert(c.clone())
                && let Some(obj) = self.commits.get(&c)
            {
                stack.extend(obj.parents.iter().cloned());
            }
        }
        false
    }

    pub fn pull_json(&self, p: &Pull) -> Value {
        let head_sha = self.refs.get(&p.head).cloned().unwrap_or_default();
        let base_sha = self.refs.get(&p.base).cloned().unwrap_or_default();
        let repo = json!({"full_name": format!("{}/{}", self.owner, self.repo), "name": self.repo});
        json!({
            "url": format!("https://api.github.com/repos/{}/{}/pulls/{}", self.owner, self.repo, p.number),
            "id": p.number + 1000, "node_id": format!("PR_kw{}", p.number), "number": p.number,
            "html_url": format!("https://github.com/{}/{}/pull/{}", self.owner, self.repo, p.number),
            "state": if p.open { "open" } else { "closed" }, "locked": false,
            "title": p.title, "body": if p.body.is_empty() { Value::Null } else { json!(p.body) },
            "user": {"login": if p.author.is_empty() { DEFAULT_LOGIN } else { p.author.as_str() }, "id": 1, "type": "Bot"},
            "draft": p.draft, "merged": p.merged,
            "merged_at": if p.merged { json!("2026-01-01T00:00:00Z") } else { Value::Null },
            "merge_commit_sha": p.merge_sha, "mergeable": p.open.then_some(true),
            "head": {"label": format!("{}:{}", self.owner, p.head), "ref": p.head, "sha": head_sha, "repo": repo},
            "base": {"label": format!("{}:{}", self.owner, p.base), "ref": p.base, "sha": base_sha, "repo": repo},
        })
    }

    fn changed_files(&self, p: &Pull) -> Vec<Value> {
        let head = self
            .refs
            .get(&p.head)
            .map(|s| self.files_at(s))
            .unwrap_or_default();
        let base = self
            .refs
            .get(&p.base)
            .map(|s| self.files_at(s))
            .unwrap_or_default();
        let lines = |blob: &str| {
            self.blobs
                .get(blob)
                .map(|b| String::from_utf8_lossy(b).lines().count())
                .unwrap_or(0) as u64
        };
        let mut out = Vec::new();
        for (path, (_, blob)) in &head {
            match base.get(path) {
                None => out.push(json!({"filename": path, "status": "added", "additions": lines(blob), "deletions": 0, "changes": lines(blob), "patch": format!("@@ -0,0 +1,{} @@", lines(blob))})),
                Some((_, old)) if old != blob => out.push(json!({"filename": path, "status": "modified", "additions": lines(blob), "deletions": lines(old), "changes": lines(blob) + lines(old)})),
                _ => {}
            }
        }
        for (path, (_, old)) in &base {
            if !head.contains_key(path) {
                out.push(json!({"filename": path, "status": "removed", "additions": 0, "deletions": lines(old), "changes": lines(old)}));
            }
        }
        out
    }
}

pub struct FakeGitHub {
    pub url: String,
    pub state: Arc<Mutex<State>>,
}

impl FakeGitHub {
    /// Starts a fake for `owner/repo` whose default branch `main` holds one commit with a README.
    pub fn start() -> FakeGitHub {
        let mut st = State {
            owner: "octo".into(),
            repo: "app".into(),
            default_branch: "main".into(),
            ..State::default()
        };
        st.commit_files("main", &[("README.md", "# app\n")], "initial commit");
        let state = Arc::new(Mutex::new(st));
        let shared = state.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                let app = axum::Router::new().fallback(handle).with_state(shared);
                axum::serve(listener, app).await.unwrap();
            });
        });
        let addr = rx.recv().unwrap();
        FakeGitHub {
            url: format!("http://{addr}"),
            state,
        }
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    pub fn fault(&self, method: &'static str, path: &'static str, kind: FaultKind, times: usize) {
        self.with(|s| {
            s.faults.push(Fault {
                method,
                path: path.to_string(),
                kind,
                times,
                skip: 0,
            })
        });
    }

    /// One fault on the `nth` (0-based) request matching `method` and `path` from now on.
    pub fn fault_nth(&self, method: &'static str, path: &str, kind: FaultKind, nth: usize) {
        self.with(|s| {
            s.faults.push(Fault {
                method,
                path: path.to_string(),
                kind,
                times: 1,
                skip: nth,
            })
        });
    }

    pub fn log(&self) -> Vec<Logged> {
        self.with(|s| s.log.clone())
    }

    /// Requests that change state (anything but GET and GraphQL queries that only read).
    pub fn writes(&self) -> Vec<Logged> {
        self.log()
            .into_iter()
            .filter(|l| l.method != "GET")
            .filter(|l| {
                !(l.path == "/graphql"
                    && l.body["query"]
                        .as_str()
                        .is_some_and(|q| q.trim_start().starts_with("query")))
            })
            .collect()
    }
}

fn reply(status: u16, body: Value) -> Response {
    (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
}

fn forbidden_integration() -> Response {
    reply(
        403,
        json!({"message": "Resource not accessible by integration", "documentation_url": "https://docs.github.com/rest", "status": "403"}),
    )
}

fn not_found() -> Response {
    reply(
        404,
        json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"}),
    )
}

fn validation(message: &str) -> Response {
    reply(
        422,
        json!({"message": "Validation Failed", "errors": [{"resource": "PullRequest", "code": "custom", "message": message}], "documentation_url": "https://docs.github.com/rest", "status": "422"}),
    )
}

async fn handle(
    AxState(state): AxState<Arc<Mutex<State>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let query: HashMap<String, String> = uri
        .query()
        .map(|q| {
            q.split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), percent_decode(v)))
                .collect()
        })
        .unwrap_or_default();
    let json_body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let fault = {
        let mut st = state.lock().unwrap();
        let hit = st.faults.iter().position(|f| {
            let at = match f.path.strip_suffix('$') {
                Some(end) => path.ends_with(end),
                None => path.contains(f.path.as_str()),
            };
            f.method == method.as_str() && at && f.times > 0
        });
        hit.and_then(|i| {
            if st.faults[i].skip > 0 {
                st.faults[i].skip -= 1;
                return None;
            }
            st.faults[i].times -= 1;
            Some(st.faults[i].kind.clone())
        })
    };
    let mut delay = None;
    let mut after_apply = None;
    let early = match fault {
        Some(FaultKind::Status(s)) => Some(reply(s, json!({"message": "Server Error"}))),
        Some(FaultKind::SecondaryLimit(after)) => {
            let mut r = reply(
                403,
                json!({"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.", "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}),
            );
            if let Some(secs) = after {
                r.headers_mut()
                    .insert("retry-after", secs.to_string().parse().unwrap());
            }
            Some(r)
        }
        Some(FaultKind::PrimaryLimit(secs)) => {
            let reset = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
                + secs;
            let mut r = reply(
                403,
                json!({"message": "API rate limit exceeded for installation ID 1.", "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}),
            );
            r.headers_mut()
                .insert("x-ratelimit-remaining", "0".parse().unwrap());
            r.headers_mut()
                .insert("x-ratelimit-reset", reset.to_string().parse().unwrap());
            Some(r)
        }
        Some(FaultKind::Forbidden(m)) => Some(reply(
            403,
            json!({"message": m, "documentation_url": "https://docs.github.com/rest"}),
        )),
        Some(FaultKind::SlowAfterApply(d)) => {
            delay = Some(d);
            None
        }
        Some(FaultKind::StatusAfterApply(s)) => {
            after_apply = Some(s);
            None
        }
        Some(FaultKind::ConcurrentPush(branch)) => {
            state.lock().unwrap().commit_files(
                branch,
                &[("CONCURRENT.md", "pushed by someone else\n")],
                "concurrent push",
            );
            None
        }
        None => None,
    };
    let mut response = match early {
        Some(r) => r,
        None => {
            let mut st = state.lock().unwrap();
            let r = route(&mut st, &method, &path, &query, &headers, &json_body);
            if method != Method::GET
                && let Some(hook) = st.after_write.clone()
            {
                (hook.0)(&st);
            }
            match after_apply {
                Some(s) => reply(s, json!({"message": "Server Error"})),
                None => r,
            }
        }
    };
    if method == Method::GET && response.status() == StatusCode::OK {
        response = with_etag(response, &headers, &state).await;
    }
    serve_rate_limit(&state, &headers, &mut response);
    {
        let mut st = state.lock().unwrap();
        let status = response.status().as_u16();
        let shown = match uri.query() {
            Some(q) => format!("{path}?{q}"),
            None => path.clone(),
        };
        let by = st.caller(&headers).login;
        st.log.push(Logged {
            method: method.to_string(),
            path: shown,
            status,
            body: json_body,
            by,
        });
    }
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    response
}

/// Adds an ETag to a 200 and answers 304 when the client already has it, as GitHub does.
async fn with_etag(response: Response, headers: &HeaderMap, state: &Arc<Mutex<State>>) -> Response {
    use std::hash::{Hash, Hasher};
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    let etag = format!("W/\"{:016x}\"", h.finish());
    if headers.get("if-none-match").and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        state.lock().unwrap().etag_hits += 1;
        return (StatusCode::NOT_MODIFIED, [("etag", etag)]).into_response();
    }
    parts.headers.insert("etag", etag.parse().unwrap());
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn route(
    st: &mut State,
    method: &Method,
    path: &str,
    q: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &Value,
) -> Response {
    let caller = st.caller(headers);
    if st.strict_tokens
        && !st
            .tokens
            .values()
            .any(|t| t.login == caller.login && caller.login != DEFAULT_LOGIN)
    {
        return reply(
            401,
            json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"}),
        );
    }
    // GitHub's GraphQL endpoint (not part of the REST description): the viewer and the
    // auto-merge mutation.
    if method == Method::POST && path == "/graphql" {
        if body["query"].as_str().is_some_and(|q| q.contains("viewer")) {
            return reply(200, json!({"data": {"viewer": {"login": caller.login}}}));
        }
        if !caller.write {
            return forbidden_integration();
        }
        return graphql(st, body);
    }
    if method == Method::GET && path == "/user" {
        if caller.installation {
            return forbidden_integration();
        }
        return reply(200, json!({"login": caller.login, "id": 7, "type": "User"}));
    }
    if method != Method::GET && !caller.write {
        return forbidden_integration();
    }
    let prefix = format!("/repos/{}/{}", st.owner, st.repo);
    let Some(rest) = path.strip_prefix(&prefix) else {
        return not_found();
    };
    let rest = percent_decode(rest);
    let seg: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    if let Some(scopes) = st.scopes.get(token_of(headers)) {
        let level = if method == Method::GET {
            "read"
        } else {
            "write"
        };
        let allowed = |scope: &str| match scopes.get(scope).map(String::as_str) {
            Some("write") => true,
            Some("read") => level == "read",
            _ => false,
        };
        let ok = match seg.first().copied() {
            None => true, // repository metadata
            Some("pulls") if seg.get(2) == Some(&"merge") => {
                allowed("pull-requests") && allowed("contents")
            }
            Some("pulls") => allowed("pull-requests"),
            // Comments and labels on a pull request: either permission will do.
            Some("issues") => allowed("issues") || allowed("pull-requests"),
            Some("actions") => allowed("actions"),
            Some(_) => allowed("contents"),
        };
        if !ok {
            return forbidden_integration();
        }
    }
    match (method.as_str(), seg.as_slice()) {
        ("GET", []) => reply(
            200,
            json!({"id": 1, "name": st.repo, "full_name": format!("{}/{}", st.owner, st.repo), "default_branch": st.default_branch, "private": false}),
        ),
        ("GET", ["pulls"]) => {
            let head = q
                .get("head")
                .map(|h| h.split_once(':').map_or(h.as_str(), |(_, b)| b).to_string());
            let state = q.get("state").map(String::as_str).unwrap_or("open");
            let mut list: Vec<Value> = st
                .pulls
                .iter()
                .rev()
                .filter(|p| head.as_ref().is_none_or(|h| *h == p.head))
                .filter(|p| state == "all" || (state == "open") == p.open)
                .map(|p| st.pull_json(p))
                .collect();
            list.truncate(100);
            reply(200, Value::Array(list))
        }
        ("POST", ["pulls"]) => {
            let head = body["head"].as_str().unwrap_or("").to_string();
            let base = body["base"].as_str().unwrap_or("").to_string();
            if !st.refs.contains_key(&head) || !st.refs.contains_key(&base) {
                return validation("head or base branch does not exist");
            }
            if st.pulls.iter().any(|p| p.open && p.head == head) {
                return validation(&format!(
                    "A pull request already exists for {}:{head}.",
                    st.owner
                ));
            }
            if st.refs[&head] == st.refs[&base] {
                return validation(&format!("No commits between {base} and {head}"));
            }
            let number = st.id();
            let p = Pull {
                number,
                title: body["title"].as_str().unwrap_or("").into(),
                body: body["body"].as_str().unwrap_or("").into(),
                open: true,
                draft: body["draft"].as_bool().unwrap_or(false),
                head,
                base,
                author: caller.login.clone(),
                ..Pull::default()
            };
            let v = st.pull_json(&p);
            st.pulls.push(p);
            reply(201, v)
        }
        (m, ["pulls", n, tail @ ..]) => {
            let Ok(n) = n.parse::<u64>() else {
                return not_found();
            };
            let Some(i) = st.pulls.iter().position(|p| p.number == n) else {
                return not_found();
            };
            match (m, tail) {
                ("GET", []) => {
                    let accept = headers
                        .get("accept")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    if accept.contains("diff") {
                        let files = st.changed_files(&st.pulls[i].clone());
                        if files.len() > 300 {
                            return reply(
                                406,
                                json!({"message": "Sorry, the diff exceeded the maximum number of files (300). Consider using 'List pull requests files' API or locally cloning the repository instead.", "errors": [{"resource": "PullRequest", "field": "diff", "code": "too_large"}]}),
                            );
                        }
                        return (
                            StatusCode::OK,
                            files
                                .iter()
                                .map(|f| {
                                    format!(
                                        "diff --git a/{0} b/{0}\n",
                                        f["filename"].as_str().unwrap()
                                    )
                                })
                                .collect::<String>(),
                        )
                            .into_response();
                    }
                    reply(200, st.pull_json(&st.pulls[i].clone()))
                }
                ("PATCH", []) => {
                    let p = &mut st.pulls[i];
                    if let Some(t) = body["title"].as_str() {
                        p.title = t.into();
                    }
                    if let Some(b) = body["body"].as_str() {
                        p.body = b.into();
                    }
                    if let Some(s) = body["state"].as_str() {
                        p.open = s == "open";
                    }
                    let p = p.clone();
                    reply(200, st.pull_json(&p))
                }
                ("PUT", ["merge"]) => match st.merge_pull(n, body["sha"].as_str()) {
                    Ok(sha) => reply(
                        200,
                        json!({"sha": sha, "merged": true, "message": "Pull Request successfully merged"}),
                    ),
                    Err((status, message)) => reply(status, json!({"message": message})),
                },
                ("GET", ["files"]) => {
                    let files = st.changed_files(&st.pulls[i].clone());
                    let per = q
                        .get("per_page")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(30usize);
                    let page = q.get("page").and_then(|v| v.parse().ok()).unwrap_or(1usize);
                    let chunk: Vec<Value> = files
                        .iter()
                        .skip((page - 1) * per)
                        .take(per)
                        .cloned()
                        .collect();
                    let mut r = reply(200, Value::Array(chunk));
                    if page * per < files.len() {
                        let link =
                            format!("<{path}?per_page={per}&page={}>; rel=\"next\"", page + 1);
                        r.headers_mut().insert("link", link.parse().unwrap());
                    }
                    r
                }
                ("GET", ["comments"]) => {
                    let list: Vec<Value> = st.review_comments.iter().filter(|c| c.0 == n).map(|c| json!({"id": 1, "path": c.1, "line": c.2, "original_line": c.2, "body": c.3, "user": {"login": "codex-bot"}})).collect();
                    reply(200, Value::Array(list))
                }
                ("POST", ["reviews"]) => {
                    let p = st.pulls[i].clone();
                    let head = st.files_at(&st.refs[&p.head].clone());
                    for c in body["comments"].as_array().into_iter().flatten() {
                        let path = c["path"].as_str().unwrap_or("");
                        let line = c["line"].as_u64().unwrap_or(0);
                        let lines = head
                            .get(path)
                            .and_then(|(_, b)| st.blobs.get(b))
                            .map(|b| String::from_utf8_lossy(b).lines().count() as u64)
                            .unwrap_or(0);
                        if line == 0 || line > lines {
                            return reply(
                                422,
                                json!({"message": "Unprocessable Entity", "errors": ["Line could not be resolved"]}),
                            );
                        }
                    }
                    for c in body["comments"].as_array().into_iter().flatten() {
                        st.review_comments.push((
                            n,
                            c["path"].as_str().unwrap_or("").into(),
                            c["line"].as_u64().unwrap_or(0),
                            c["body"].as_str().unwrap_or("").into(),
                        ));
                    }
                    let id = st.id();
                    let state = match body["event"].as_str() {
                        Some("APPROVE") => "APPROVED",
                        Some("REQUEST_CHANGES") => "CHANGES_REQUESTED",
                        _ => "COMMENTED",
                    };
                    let review = json!({"id": id, "state": state, "event": body["event"], "body": body["body"], "commit_id": body["commit_id"], "user": {"login": caller.login}, "pr": n});
                    st.reviews.push(review.clone());
                    reply(200, review)
                }
                ("GET", ["reviews"]) => {
                    let list: Vec<Value> = st
                        .reviews
                        .iter()
                        .filter(|r| r["pr"].as_u64().is_none_or(|p| p == n))
                        .cloned()
                        .collect();
                    reply(200, Value::Array(list))
                }
                _ => not_found(),
            }
        }
        ("GET", ["issues", n, "comments"]) => {
            let n: u64 = n.parse().unwrap_or(0);
            let per = q
                .get("per_page")
                .and_then(|v| v.parse().ok())
                .unwrap_or(30usize);
            let page = q.get("page").and_then(|v| v.parse().ok()).unwrap_or(1usize);
            let list: Vec<Value> = st
                .comments
                .iter()
                .filter(|c| c.1 == n)
                .skip((page - 1) * per)
                .take(per)
                .map(|c| json!({"id": c.0, "body": c.2, "user": {"login": c.3, "type": "Bot"}}))
                .collect();
            reply(200, Value::Array(list))
        }
        ("POST", ["issues", n, "comments"]) => {
            let n: u64 = n.parse().unwrap_or(0);
            let id = st.id();
            let text = body["body"].as_str().unwrap_or("").to_string();
            st.comments
                .push((id, n, text.clone(), caller.login.clone()));
            reply(
                201,
                json!({"id": id, "body": text, "user": {"login": caller.login, "type": "Bot"}}),
            )
        }
        ("PATCH", ["issues", "comments", id]) => {
            let id: u64 = id.parse().unwrap_or(0);
            let Some(c) = st.comments.iter_mut().find(|c| c.0 == id) else {
                return not_found();
            };
            c.2 = body["body"].as_str().unwrap_or("").into();
            let c = c.clone();
            reply(200, json!({"id": c.0, "body": c.2, "user": {"login": c.3}}))
        }
        ("GET", ["issues", n, "labels"]) => {
            let n: u64 = n.parse().unwrap_or(0);
            let labels: Vec<Value> = st
                .pulls
                .iter()
                .find(|p| p.number == n)
                .map(|p| p.labels.iter().map(|l| json!({"name": l})).collect())
                .unwrap_or_default();
            reply(200, Value::Array(labels))
        }
        ("POST", ["issues", n, "labels"]) => {
            let n: u64 = n.parse().unwrap_or(0);
            let Some(p) = st.pulls.iter_mut().find(|p| p.number == n) else {
                return not_found();
            };
            for l in body["labels"].as_array().into_iter().flatten() {
                if let Some(l) = l.as_str()
                    && !p.labels.iter().any(|x| x == l)
                {
                    p.labels.push(l.into());
                }
            }
            let labels: Vec<Value> = p.labels.iter().map(|l| json!({"name": l})).collect();
            reply(200, Value::Array(labels))
        }
        ("GET", ["git", "matching-refs", "heads", prefix @ ..]) => {
            let prefix = prefix.join("/");
            let list: Vec<Value> = st
                .refs
                .iter()
                .filter(|(b, _)| b.starts_with(&prefix))
                .map(|(b, sha)| json!({"ref": format!("refs/heads/{b}"), "node_id": "REF_x", "url": "", "object": {"type": "commit", "sha": sha, "url": ""}}))
                .collect();
            reply(200, Value::Array(list))
        }
        ("GET", ["git", "trees", sha]) => {
            // Trees are stored flat; `<tree>:<dir>` names a folder of one (as listings answer).
            let (root, dir) = sha.split_once(':').unwrap_or((sha, ""));
            let Some(tree) = st.trees.get(root).cloned() else {
                return not_found();
            };
            let recursive = q.contains_key("recursive");
            if recursive && st.truncate_trees {
                return reply(200, json!({"sha": sha, "truncated": true, "tree": []}));
            }
            let under = if dir.is_empty() {
                String::new()
            } else {
                format!("{dir}/")
            };
            let mut entries: Vec<Value> = Vec::new();
            let mut dirs = std::collections::BTreeSet::new();
            for (path, (mode, blob)) in &tree {
                let Some(rel) = path.strip_prefix(&under) else {
                    continue;
                };
                let parts: Vec<&str> = rel.split('/').collect();
                for n in 1..parts.len() {
                    dirs.insert(parts[..n].join("/"));
                }
                if recursive || parts.len() == 1 {
                    let kind = if mode == "160000" { "commit" } else { "blob" };
                    entries.push(json!({"path": rel, "mode": mode, "type": kind, "sha": blob}));
                }
            }
            for d in dirs {
                if recursive || !d.contains('/') {
                    entries.push(json!({"path": d, "mode": "040000", "type": "tree", "sha": format!("{root}:{under}{d}")}));
                }
            }
            reply(
                200,
                json!({"sha": sha, "truncated": false, "tree": entries}),
            )
        }
        ("GET", ["compare", range]) => {
            let Some((a, b)) = range.split_once("...") else {
                return not_found();
            };
            let resolve = |r: &str| st.refs.get(r).cloned().unwrap_or_else(|| r.to_string());
            let (a, b) = (resolve(a), resolve(b));
            if !st.commits.contains_key(&a) || !st.commits.contains_key(&b) {
                return not_found();
            }
            let status = if a == b {
                "identical"
            } else if st.is_ancestor(&a, &b) {
                "ahead"
            } else if st.is_ancestor(&b, &a) {
                "behind"
            } else {
                "diverged"
            };
            reply(
                200,
                json!({"status": status, "ahead_by": 0, "behind_by": 0, "total_commits": 0}),
            )
        }
        ("GET", ["git", "ref", "heads", branch @ ..]) => {
            let b = branch.join("/");
            match st.refs.get(&b) {
                Some(sha) => reply(
                    200,
                    json!({"ref": format!("refs/heads/{b}"), "node_id": "REF_x", "url": "", "object": {"type": "commit", "sha": sha, "url": ""}}),
                ),
                None => not_found(),
            }
        }
        ("POST", ["git", "refs"]) => {
            let r = body["ref"].as_str().unwrap_or("");
            let sha = body["sha"].as_str().unwrap_or("").to_string();
            let Some(b) = r.strip_prefix("refs/heads/") else {
                return validation("ref must start with refs/heads/");
            };
            if st.refs.contains_key(b) {
                return reply(
                    422,
                    json!({"message": "Reference already exists", "documentation_url": "https://docs.github.com/rest/git/refs#create-a-reference", "status": "422"}),
                );
            }
            if !st.commits.contains_key(&sha) {
                return reply(422, json!({"message": "Object does not exist"}));
            }
            st.refs.insert(b.to_string(), sha.clone());
            reply(
                201,
                json!({"ref": r, "object": {"type": "commit", "sha": sha}}),
            )
        }
        ("PATCH", ["git", "refs", "heads", branch @ ..]) => {
            let b = branch.join("/");
            let sha = body["sha"].as_str().unwrap_or("").to_string();
            let Some(current) = st.refs.get(&b).cloned() else {
                return reply(422, json!({"message": "Reference does not exist"}));
            };
            let force = body["force"].as_bool().unwrap_or(false);
            if !force && !st.is_ancestor(&current, &sha) {
                return reply(
                    422,
                    json!({"message": "Update is not a fast forward", "documentation_url": "https://docs.github.com/rest/git/refs#update-a-reference", "status": "422"}),
                );
            }
            st.refs.insert(b.clone(), sha.clone());
            reply(
                200,
                json!({"ref": format!("refs/heads/{b}"), "object": {"type": "commit", "sha": sha}}),
            )
        }
        ("GET", ["git", "commits", sha]) => match st.commits.get(*sha) {
            Some(c) => reply(
                200,
                json!({"sha": sha, "tree": {"sha": c.tree}, "parents": c.parents.iter().map(|p| json!({"sha": p})).collect::<Vec<_>>(), "message": c.message}),
            ),
            None => not_found(),
        },
        ("POST", ["git", "blobs"]) => {
            let content = body["content"].as_str().unwrap_or("");
            let bytes = if body["encoding"] == "base64" {
                base64::engine::general_purpose::STANDARD
                    .decode(content)
                    .unwrap_or_default()
            } else {
                content.as_bytes().to_vec()
            };
            let sha = st.blob_id(&bytes);
            st.blobs.insert(sha.clone(), bytes);
            reply(201, json!({"sha": sha, "url": ""}))
        }
        ("POST", ["git", "trees"]) => {
            let mut tree = body["base_tree"]
                .as_str()
                .and_then(|t| st.trees.get(t))
                .cloned()
                .unwrap_or_default();
            for e in body["tree"].as_array().into_iter().flatten() {
                let path = e["path"].as_str().unwrap_or("").to_string();
                match e["sha"].as_str() {
                    Some(blob) => {
                        tree.insert(
                            path,
                            (e["mode"].as_str().unwrap_or("100644").into(), blob.into()),
                        );
                    }
                    None => {
                        if tree.remove(&path).is_none() {
                            return reply(
                                422,
                                json!({"message": format!("GitRPC::BadObjectState: {path} not in base tree")}),
                            );
                        }
                    }
                }
            }
            let sha = st.tree_id(&tree);
            st.trees.insert(sha.clone(), tree);
            reply(201, json!({"sha": sha, "tree": []}))
        }
        ("POST", ["git", "commits"]) => {
            let tree = body["tree"].as_str().unwrap_or("").to_string();
            if !st.trees.contains_key(&tree) {
                return reply(422, json!({"message": "Tree SHA does not exist"}));
            }
            let parents: Vec<String> = body["parents"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p.as_str().map(String::from))
                .collect();
            let message = body["message"].as_str().unwrap_or("").to_string();
            let sha = st.commit_id(&tree, &parents, &message);
            st.commits.insert(
                sha.clone(),
                CommitObj {
                    tree: tree.clone(),
                    parents,
                    message,
                },
            );
            reply(201, json!({"sha": sha, "tree": {"sha": tree}}))
        }
        ("GET", ["contents", file @ ..]) => {
            let r = q
                .get("ref")
                .cloned()
                .unwrap_or_else(|| st.default_branch.clone());
            let commit = st.refs.get(&r).cloned().unwrap_or(r);
            let files = st.files_at(&commit);
            let path = file.join("/");
            match files.get(&path).and_then(|(_, b)| st.blobs.get(b)) {
                Some(bytes) => (StatusCode::OK, bytes.clone()).into_response(),
                None => {
                    // A folder: its entries, as GitHub lists them.
                    let under = format!("{path}/");
                    let entries: Vec<Value> = files
                        .keys()
                        .filter_map(|p| {
                            let rest = p.strip_prefix(&under)?;
                            (!rest.contains('/'))
                                .then(|| json!({"name": rest, "path": p, "type": "file"}))
                        })
                        .collect();
                    if entries.is_empty() {
                        not_found()
                    } else {
                        reply(200, Value::Array(entries))
                    }
                }
            }
        }
        ("GET", ["actions", "workflows", workflow, "runs"]) => {
            let runs: Vec<Value> = if q.get("status").map(String::as_str) == Some("in_progress") {
                st.active_runs
                    .get(*workflow)
                    .into_iter()
                    .flatten()
                    .map(|(id, event)| json!({"id": id, "event": event, "status": "in_progress"}))
                    .collect()
            } else {
                Vec::new()
            };
            reply(
                200,
                json!({"total_count": runs.len(), "workflow_runs": runs}),
            )
        }
        ("POST", ["actions", "workflows", workflow, "dispatches"]) => {
            // GitHub checks the inputs against the workflow file at the ref: any input it does
            // not declare is a 422. (A workflow the fake does not hold is accepted as it is.)
            let at = body["ref"].as_str().unwrap_or("").to_string();
            let file = st.file(&at, &format!(".github/workflows/{workflow}"));
            if let Some(text) = file {
                match declared_dispatch_inputs(&text) {
                    None => {
                        return reply(
                            422,
                            json!({"message": "Workflow does not have 'workflow_dispatch' trigger", "documentation_url": "https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event", "status": "422"}),
                        );
                    }
                    Some(declared) => {
                        let unexpected: Vec<String> = body["inputs"]
                            .as_object()
                            .into_iter()
                            .flat_map(|m| m.keys())
                            .filter(|k| !declared.contains(*k))
                            .cloned()
                            .collect();
                        if !unexpected.is_empty() {
                            return reply(
                                422,
                                json!({"message": format!("Unexpected inputs provided: {}", serde_json::to_string(&unexpected).unwrap()), "documentation_url": "https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event", "status": "422"}),
                            );
                        }
                    }
                }
            }
            let mut record = body.clone();
            record["workflow"] = json!(workflow);
            st.dispatches.push(record);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => not_found(),
    }
}

/// The inputs a workflow file's `workflow_dispatch` trigger declares; `None` without the trigger.
pub fn declared_dispatch_inputs(yaml: &str) -> Option<Vec<String>> {
    let doc: Value = serde_saphyr::from_str(yaml).ok()?;
    let on = doc.get("on").or_else(|| doc.get("true"))?;
    match on {
        Value::String(s) => (s == "workflow_dispatch").then(Vec::new),
        Value::Array(list) => list.iter().any(|v| v == "workflow_dispatch").then(Vec::new),
        Value::Object(m) => m.get("workflow_dispatch").map(|d| {
            d.get("inputs")
                .and_then(Value::as_object)
                .map(|i| i.keys().cloned().collect())
                .unwrap_or_default()
        }),
        _ => None,
    }
}

fn graphql(st: &mut State, body: &Value) -> Response {
    let query = body["query"].as_str().unwrap_or("");
    if !query.contains("enablePullRequestAutoMerge") {
        return reply(
            200,
            json!({"errors": [{"message": "this fake knows only enablePullRequestAutoMerge"}]}),
        );
    }
    if let Some(message) = st.graphql_error.clone() {
        return reply(
            200,
            json!({"data": {"enablePullRequestAutoMerge": null}, "errors": [{"type": "UNPROCESSABLE", "message": message}]}),
        );
    }
    let id = body["variables"]["id"].as_str().unwrap_or("");
    let method = body["variables"]["method"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let pull = id
        .strip_prefix("PR_kw")
        .and_then(|n| n.parse::<u64>().ok())
        .and_then(|n| {
            st.pulls
                .iter()
                .find(|p| p.number == n && p.open)
                .map(|p| p.number)
        });
    match pull {
        Some(n) if ["MERGE", "SQUASH", "REBASE"].contains(&method.as_str()) => {
            st.auto_merges.push((n, method));
            reply(
                200,
                json!({"data": {"enablePullRequestAutoMerge": {"pullRequest": {"number": n}}}}),
            )
        }
        _ => reply(
            200,
            json!({"data": null, "errors": [{"type": "NOT_FOUND", "message": format!("Could not resolve to a node with the global id of '{id}'")}]}),
        ),
    }
}

// ---- serve mode (tests/serve_*.rs): rate-limit headers and the tokens seen --------------------

/// A rate-limit budget like GitHub's: every answer but a 304 costs one request, and every
/// answer carries `X-RateLimit-*` headers. Off (no headers) until `rate` is set.
#[derive(Debug, Default)]
pub struct ServeFake {
    pub rate: Option<Budget>,
    /// The bearer tokens requests came with, in order.
    pub tokens: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub limit: u64,
    pub remaining: u64,
    /// Unix seconds.
    pub reset: u64,
}

fn serve_rate_limit(state: &Arc<Mutex<State>>, headers: &HeaderMap, response: &mut Response) {
    let mut st = state.lock().unwrap();
    if let Some(token) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' ').map(|(_, t)| t.to_string()))
    {
        st.serve.tokens.push(token);
    }
    let Some(budget) = st.serve.rate.as_mut() else {
        return;
    };
    if response.status() != StatusCode::NOT_MODIFIED {
        budget.remaining = budget.remaining.saturating_sub(1);
    }
    let b = *budget;
    let h = response.headers_mut();
    h.insert("x-ratelimit-limit", b.limit.into());
    h.insert("x-ratelimit-remaining", b.remaining.into());
    h.insert("x-ratelimit-reset", b.reset.into());
    h.insert("x-ratelimit-used", (b.limit - b.remaining).into());
}
