//! The GitHub forge: the `Forge` trait over GitHub's REST API (reqwest underneath, see
//! `client`). Every create handles GitHub's answers for "it already exists", and a create that got
//! no clear answer is followed by a lookup before any retry, so re-runs never duplicate.

pub mod auth;
pub mod client;
pub(crate) mod poll;
mod wire;

use base64::Engine;
use http::Method;
use serde_json::{Value, json};

use super::{
    Comment, Forge, ForgeError, ForgeRead, InlineComment, MergeMethod, NewCommit, NewPullRequest,
    NewReview, PrFile, PrUpdate, PullRequest, RepoId, RepoInfo, Result, Review, TreeItem,
};
use client::{Answer, Client, Settings, encode};

/// Whether a write may be sent again after an ambiguous answer (only when repeating it is
/// harmless).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repeat {
    Never,
    IfAmbiguous,
}

pub struct GitHub {
    client: Client,
    repo: RepoId,
    /// The login the token acts as, resolved once (`identity`).
    identity: tokio::sync::OnceCell<Option<String>>,
    /// Set by `with_identity` (`CODEX_BOT_LOGIN`): no lookup is made.
    fixed_identity: Option<String>,
}

impl GitHub {
    pub fn new(repo: RepoId, settings: Settings) -> Result<GitHub> {
        Ok(GitHub {
            client: Client::new(settings)?,
            repo,
            identity: tokio::sync::OnceCell::new(),
            fixed_identity: None,
        })
    }

    /// Names the login the token acts as instead of asking GitHub (`CODEX_BOT_LOGIN`).
    pub fn with_identity(mut self, login: Option<String>) -> Self {
        self.fixed_identity = login.filter(|l| !l.trim().is_empty());
        self
    }

    /// GraphQL's `viewer` names whoever the token acts as (a user, or an App's bot:
    /// `my-app[bot]`), installation tokens included; GitHub Enterprise Server, whose GraphQL
    /// endpoint this client does not reach, answers `GET /user` (user tokens only).
    async fn lookup_identity(&self) -> Result<Option<String>> {
        if let Some(url) = self.client.graphql_path() {
            let body = json!({"query": "query { viewer { login } }"});
            let a = self.send(Method::POST, url, &body).await?;
            if a.ok() {
                let answer: Value = a.json(url)?;
                if let Some(login) = answer["data"]["viewer"]["login"]
                    .as_str()
                    .filter(|l| !l.is_empty())
                {
                    return Ok(Some(login.to_string()));
                }
            }
        }
        let a = self.client.send(Method::GET, "/user", None, None).await?;
        if a.ok() {
            return Ok(Some(a.json::<wire::User>("/user")?.login));
        }
        Ok(None)
    }

    /// Walks the trees along `paths` one level at a time (when the recursive listing is
    /// truncated): the mode of every path and parent folder that exists.
    async fn walk_modes(
        &self,
        root_tree: &str,
        paths: &[String],
    ) -> Result<std::collections::BTreeMap<String, String>> {
        use std::collections::BTreeMap;
        let mut modes = BTreeMap::new();
        let mut trees: BTreeMap<String, String> =
            BTreeMap::from([(String::new(), root_tree.to_string())]);
        let mut listed: BTreeMap<String, Vec<wire::TreeListEntry>> = BTreeMap::new();
        for path in paths {
            let mut dir = String::new();
            for part in path.split('/') {
                let Some(tree) = trees.get(&dir).cloned() else {
                    break;
                };
                if !listed.contains_key(&dir) {
                    let url = self.path(&format!("/git/trees/{}", encode(&tree, false)));
                    let t: wire::TreeListing = self.client.get(&url).await?;
                    listed.insert(dir.clone(), t.tree);
                }
                let full = if dir.is_empty() {
                    part.to_string()
                } else {
                    format!("{dir}/{part}")
                };
                let Some(entry) = listed[&dir].iter().find(|e| e.path == part) else {
                    break;
                };
                modes.insert(full.clone(), entry.mode.clone());
                if entry.kind == "tree" {
                    trees.insert(full.clone(), entry.sha.clone());
                }
                dir = full;
            }
        }
        Ok(modes)
    }
}

/// The modes of `paths` and of their parent folders, from a full listing.
fn modes_along(items: &[TreeItem], paths: &[String]) -> std::collections::BTreeMap<String, String> {
    let wanted: std::collections::BTreeSet<String> = paths
        .iter()
        .flat_map(|p| {
            let parts: Vec<&str> = p.split('/').collect();
            (1..=parts.len())
                .map(|n| parts[..n].join("/"))
                .collect::<Vec<_>>()
        })
        .collect();
    items
        .iter()
        .filter(|i| wanted.contains(&i.path))
        .map(|i| (i.path.clone(), i.mode.clone()))
        .collect()
}

impl GitHub {
    async fn modes(
        &self,
        sha: &str,
        paths: &[String],
    ) -> Result<std::collections::BTreeMap<String, String>> {
        let commit: wire::GitCommit = self
            .client
            .get(&self.path(&format!("/git/commits/{}", encode(sha, false))))
            .await?;
        let url = self.path(&format!(
            "/git/trees/{}?recursive=1",
            encode(&commit.tree.sha, false)
        ));
        let listing: wire::TreeListing = self.client.get(&url).await?;
        if listing.truncated {
            return self.walk_modes(&commit.tree.sha, paths).await;
        }
        let items: Vec<TreeItem> = listing
            .tree
            .into_iter()
            .map(|e| TreeItem {
                path: e.path,
                mode: e.mode,
            })
            .collect();
        Ok(modes_along(&items, paths))
    }

    /// HTTP requests sent so far (retries included): the API budget a run used.
    pub fn request_count(&self) -> u64 {
        self.client.request_count()
    }

    fn path(&self, tail: &str) -> String {
        format!(
            "/repos/{}/{}{tail}",
            encode(&self.repo.owner, false),
            encode(&self.repo.name, false)
        )
    }

    async fn send(&self, method: Method, path: &str, body: &Value) -> Result<Answer> {
        self.client.send(method, path, Some(body), None).await
    }

    /// A write whose repetition is harmless (git objects are content-addressed; PATCH sets state):
    /// retried once when the first answer was ambiguous.
    async fn send_repeatable(&self, method: Method, path: &str, body: &Value) -> Result<Answer> {
        match self.send(method.clone(), path, body).await {
            Err(ForgeError::Ambiguous { message }) => {
                tracing::warn!("{message}; repeating (this write is idempotent)");
                self.send(method, path, body).await
            }
            other => other,
        }
    }

    /// A write that must succeed, sent once or (`Repeat::IfAmbiguous`, see
    /// [`Self::send_repeatable`]) once more after an ambiguous answer.
    async fn write(
        &self,
        method: Method,
        path: &str,
        body: &Value,
        repeat: Repeat,
    ) -> Result<Answer> {
        let a = match repeat {
            Repeat::Never => self.send(method.clone(), path, body).await?,
            Repeat::IfAmbiguous => self.send_repeatable(method.clone(), path, body).await?,
        };
        self.expect_ok(&method, path, a)
    }

    fn expect_ok(&self, method: &Method, path: &str, a: Answer) -> Result<Answer> {
        if a.ok() {
            Ok(a)
        } else {
            Err(self.client.error(method, path, &a))
        }
    }

    /// A GET whose 404 means "there is none" (`None`); any other answer must be a success.
    async fn get_found(&self, path: &str, accept: Option<&str>) -> Result<Option<Answer>> {
        let a = self.client.send(Method::GET, path, None, accept).await?;
        if a.status == 404 {
            return Ok(None);
        }
        self.expect_ok(&Method::GET, path, a).map(Some)
    }

    /// Every item of a paged list below the repository (at most `pages` pages), converted.
    async fn list<W: serde::de::DeserializeOwned, T: From<W>>(
        &self,
        tail: &str,
        pages: usize,
    ) -> Result<Vec<T>> {
        let list: Vec<W> = self.client.get_all(&self.path(tail), pages).await?;
        Ok(list.into_iter().map(Into::into).collect())
    }

    async fn git_object(&self, kind: &str, body: &Value) -> Result<String> {
        let path = self.path(&format!("/git/{kind}"));
        let a = self
            .write(Method::POST, &path, body, Repeat::IfAmbiguous)
            .await?;
        Ok(a.json::<wire::Sha>(&path)?.sha)
    }
}

impl ForgeRead for GitHub {
    fn api_requests(&self) -> Option<u64> {
        Some(self.request_count())
    }

    fn repository_name(&self) -> Option<String> {
        Some(self.repo.to_string())
    }

    async fn active_runs(&self, workflow: &str, except: &str) -> Result<Option<usize>> {
        let mut total = 0;
        for status in ["queued", "in_progress"] {
            let path = self.path(&format!(
                "/actions/workflows/{}/runs?status={status}&per_page=100",
                encode(workflow, false)
            ));
            let a = self.client.send(Method::GET, &path, None, None).await?;
            // No such workflow, or no `actions: read`: nothing can be told.
            if !a.ok() {
                return Ok(None);
            }
            let runs: wire::Runs = a.json(&path)?;
            // Only developer runs count: dispatched ones, and not the caller's own run (a
            // reviewer or integrator job of the one-file workflow is a run of it too). Beyond
            // the first page, every run counts.
            let listed = runs.workflow_runs.len();
            let others = runs
                .workflow_runs
                .iter()
                .filter(|r| r.event == "workflow_dispatch" && r.id.to_string() != except)
                .count();
            total += others + runs.total_count.saturating_sub(listed);
        }
        Ok(Some(total))
    }

    async fn repository(&self) -> Result<RepoInfo> {
        Ok(self.client.get::<wire::Repo>(&self.path("")).await?.into())
    }

    async fn pull_request(&self, number: u64) -> Result<PullRequest> {
        Ok(self
            .client
            .get::<wire::Pull>(&self.path(&format!("/pulls/{number}")))
            .await?
            .into())
    }

    async fn find_pull_request(
        &self,
        head: &str,
        include_closed: bool,
    ) -> Result<Option<PullRequest>> {
        let state = if include_closed { "all" } else { "open" };
        let query = format!(
            "/pulls?head={}%3A{}&state={state}&sort=created&direction=desc",
            encode(&self.repo.owner, false),
            encode(head, false)
        );
        let pulls: Vec<wire::Pull> = self.client.get(&self.path(&query)).await?;
        Ok(pulls.into_iter().next().map(Into::into))
    }

    async fn pull_request_files(&self, number: u64) -> Result<Vec<PrFile>> {
        let files: Vec<wire::File> = self
            .client
            .get_all(&self.path(&format!("/pulls/{number}/files")), 30)
            .await?;
        Ok(files.into_iter().map(Into::into).collect())
    }

    async fn pull_request_diff(&self, number: u64) -> Result<String> {
        let path = self.path(&format!("/pulls/{number}"));
        let a = self
            .client
            .send(
                Method::GET,
                &path,
                None,
                Some("application/vnd.github.diff"),
            )
            .await?;
        let a = self.expect_ok(&Method::GET, &path, a)?;
        String::from_utf8(a.body).map_err(|e| ForgeError::Decode {
            what: path,
            message: format!("diff is not UTF-8: {e}"),
        })
    }

    async fn comments(&self, issue: u64) -> Result<Vec<Comment>> {
        self.list::<wire::IssueComment, _>(&format!("/issues/{issue}/comments"), 50)
            .await
    }

    async fn review_comments(&self, number: u64) -> Result<Vec<InlineComment>> {
        self.list::<wire::ReviewComment, _>(&format!("/pulls/{number}/comments"), 30)
            .await
    }

    async fn branch(&self, name: &str) -> Result<Option<String>> {
        let path = self.path(&format!("/git/ref/heads/{}", encode(name, true)));
        let Some(a) = self.get_found(&path, None).await? else {
            return Ok(None);
        };
        Ok(Some(a.json::<wire::Ref>(&path)?.object.sha))
    }

    async fn commit_message(&self, sha: &str) -> Result<Option<String>> {
        let path = self.path(&format!("/git/commits/{}", encode(sha, false)));
        let commit: wire::GitCommit = self.client.get(&path).await?;
        Ok(Some(commit.message))
    }

    async fn file_at(&self, path: &str, git_ref: &str) -> Result<Option<Vec<u8>>> {
        let url = self.path(&format!(
            "/contents/{}?ref={}",
            encode(path, true),
            encode(git_ref, false)
        ));
        let a = self
            .get_found(&url, Some("application/vnd.github.raw"))
            .await?;
        Ok(a.map(|a| a.body))
    }
    async fn open_pull_requests(&self, limit: usize) -> Result<Vec<PullRequest>> {
        let pages = limit.div_ceil(100).max(1);
        let pulls: Vec<wire::Pull> = self
            .client
            .get_all(
                &self.path("/pulls?state=open&sort=created&direction=desc"),
                pages,
            )
            .await?;
        Ok(pulls.into_iter().take(limit).map(Into::into).collect())
    }

    async fn reviews(&self, number: u64) -> Result<Vec<Review>> {
        self.list::<wire::ReviewItem, _>(&format!("/pulls/{number}/reviews"), 10)
            .await
    }

    async fn labels(&self, issue: u64) -> Result<Vec<String>> {
        let list: Vec<wire::Label> = self
            .client
            .get_all(&self.path(&format!("/issues/{issue}/labels")), 3)
            .await?;
        Ok(list.into_iter().map(|l| l.name).collect())
    }

    async fn branches(&self, prefix: &str, limit: usize) -> Result<Vec<(String, String)>> {
        let path = self.path(&format!(
            "/git/matching-refs/heads/{}",
            encode(prefix, true)
        ));
        let refs: Vec<wire::Ref> = self
            .client
            .get_all(&path, limit.div_ceil(100).max(1))
            .await?;
        Ok(refs
            .into_iter()
            .filter_map(|r| {
                r.name
                    .strip_prefix("refs/heads/")
                    .map(|n| (n.to_string(), r.object.sha.clone()))
            })
            .take(limit)
            .collect())
    }

    async fn tree_modes(
        &self,
        sha: &str,
        paths: &[String],
    ) -> Result<std::collections::BTreeMap<String, String>> {
        self.modes(sha, paths).await
    }

    async fn list_dir(&self, dir: &str, git_ref: &str) -> Result<Vec<String>> {
        let url = self.path(&format!(
            "/contents/{}?ref={}",
            encode(dir.trim_end_matches('/'), true),
            encode(git_ref, false)
        ));
        let Some(a) = self.get_found(&url, None).await? else {
            return Ok(Vec::new());
        };
        // A file answers an object, a folder an array of entries.
        let entries: Vec<wire::ContentEntry> = a.json(&url).unwrap_or_default();
        Ok(entries
            .into_iter()
            .filter(|e| e.kind == "file")
            .map(|e| e.path)
            .collect())
    }

    async fn is_ancestor(&self, ancestor: &str, of: &str) -> Result<bool> {
        if ancestor == of {
            return Ok(true);
        }
        let path = self.path(&format!(
            "/compare/{}...{}",
            encode(ancestor, false),
            encode(of, false)
        ));
        let Some(a) = self.get_found(&path, None).await? else {
            return Ok(false);
        };
        let c: wire::Compare = a.json(&path)?;
        // `of` is ahead of `ancestor` (or they are the same commit): `ancestor` is in its history.
        Ok(c.status == "ahead" || c.status == "identical")
    }

    async fn identity(&self) -> Result<Option<String>> {
        if let Some(fixed) = &self.fixed_identity {
            return Ok(Some(fixed.clone()));
        }
        self.identity
            .get_or_try_init(|| self.lookup_identity())
            .await
            .cloned()
    }
}

impl Forge for GitHub {
    async fn add_labels(&self, issue: u64, labels: &[String]) -> Result<()> {
        let path = self.path(&format!("/issues/{issue}/labels"));
        // Adding a label that is already there changes nothing, so a repeat is harmless.
        let body = json!({"labels": labels});
        self.write(Method::POST, &path, &body, Repeat::IfAmbiguous)
            .await
            .map(|_| ())
    }

    async fn create_pull_request(&self, pr: &NewPullRequest) -> Result<PullRequest> {
        let path = self.path("/pulls");
        let body = json!({"title": pr.title, "head": pr.head, "base": pr.base, "body": pr.body, "draft": pr.draft});
        for attempt in 0..2 {
            match self.send(Method::POST, &path, &body).await {
                Ok(a) if a.ok() => return Ok(a.json::<wire::Pull>(&path)?.into()),
                Ok(a) if a.status == 422 && a.message().contains("pull request already exists") => {
                    let Some(existing) = self.find_pull_request(&pr.head, false).await? else {
                        return Err(self.client.error(&Method::POST, &path, &a));
                    };
                    let update = PrUpdate {
                        title: Some(pr.title.clone()),
                        body: Some(pr.body.clone()),
                        state: None,
                    };
                    return self.update_pull_request(existing.number, &update).await;
                }
                Ok(a) if a.status == 422 && a.message().contains("No commits between") => {
                    return Err(ForgeError::Api {
                        status: 422,
                        method: "POST".into(),
                        path,
                        message: format!(
                            "no commits between {} and {}: nothing to open a pull request for",
                            pr.base, pr.head
                        ),
                    });
                }
                Ok(a) => return Err(self.client.error(&Method::POST, &path, &a)),
                Err(ForgeError::Ambiguous { message }) if attempt == 0 => {
                    tracing::warn!("{message}; looking for the pull request before retrying");
                    if let Some(found) = self.find_pull_request(&pr.head, false).await? {
                        return Ok(found);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Err(ForgeError::Ambiguous {
            message: format!(
                "creating the pull request for {} did not get a clear answer twice",
                pr.head
            ),
        })
    }

    async fn update_pull_request(&self, number: u64, update: &PrUpdate) -> Result<PullRequest> {
        let path = self.path(&format!("/pulls/{number}"));
        let mut body = json!({});
        if let Some(t) = &update.title {
            body["title"] = json!(t);
        }
        if let Some(b) = &update.body {
            body["body"] = json!(b);
        }
        if let Some(s) = update.state {
            body["state"] = json!(s);
        }
        let a = self
            .write(Method::PATCH, &path, &body, Repeat::IfAmbiguous)
            .await?;
        Ok(a.json::<wire::Pull>(&path)?.into())
    }

    async fn merge_pull_request(
        &self,
        number: u64,
        method: MergeMethod,
        head_sha: &str,
    ) -> Result<String> {
        let path = self.path(&format!("/pulls/{number}/merge"));
        let body = json!({"merge_method": method, "sha": head_sha});
        let a = self.write(Method::PUT, &path, &body, Repeat::Never).await?;
        Ok(a.json::<wire::Sha>(&path)?.sha)
    }

    async fn create_comment(&self, issue: u64, body: &str) -> Result<Comment> {
        let path = self.path(&format!("/issues/{issue}/comments"));
        let payload = json!({"body": body});
        for attempt in 0..2 {
            match self.send(Method::POST, &path, &payload).await {
                Ok(a) => {
                    return Ok(self
                        .expect_ok(&Method::POST, &path, a)?
                        .json::<wire::IssueComment>(&path)?
                        .into());
                }
                Err(ForgeError::Ambiguous { message }) if attempt == 0 => {
                    tracing::warn!("{message}; looking for the comment before retrying");
                    if let Some(c) = self
                        .comments(issue)
                        .await?
                        .into_iter()
                        .find(|c| c.body == body)
                    {
                        return Ok(c);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Err(ForgeError::Ambiguous {
            message: format!("commenting on #{issue} did not get a clear answer twice"),
        })
    }

    async fn update_comment(&self, id: u64, body: &str) -> Result<Comment> {
        let path = self.path(&format!("/issues/comments/{id}"));
        let body = json!({"body": body});
        let a = self
            .write(Method::PATCH, &path, &body, Repeat::IfAmbiguous)
            .await?;
        Ok(a.json::<wire::IssueComment>(&path)?.into())
    }

    async fn create_review(&self, number: u64, review: &NewReview) -> Result<u64> {
        // Raw JSON, as everywhere here: the review carries inline comments.
        let path = self.path(&format!("/pulls/{number}/reviews"));
        let comments: Vec<Value> = review
            .comments
            .iter()
            .map(|c| json!({"path": c.path, "line": c.line, "side": "RIGHT", "body": c.body}))
            .collect();
        let body = json!({"commit_id": review.commit_id, "body": review.body, "event": review.event, "comments": comments});
        let a = self
            .write(Method::POST, &path, &body, Repeat::Never)
            .await?;
        Ok(a.json::<wire::Id>(&path)?.id)
    }

    async fn create_branch(&self, name: &str, sha: &str) -> Result<()> {
        let path = self.path("/git/refs");
        let body = json!({"ref": format!("refs/heads/{name}"), "sha": sha});
        let exists = |current: String| {
            if current == sha {
                Ok(())
            } else {
                Err(ForgeError::BranchExists {
                    branch: name.to_string(),
                    sha: current,
                })
            }
        };
        for attempt in 0..2 {
            match self.send(Method::POST, &path, &body).await {
                Ok(a) if a.ok() => return Ok(()),
                Ok(a) if a.status == 422 && a.message().contains("Reference already exists") => {
                    let current = self.branch(name).await?.unwrap_or_default();
                    return exists(current);
                }
                Ok(a) => return Err(self.client.error(&Method::POST, &path, &a)),
                Err(ForgeError::Ambiguous { message }) if attempt == 0 => {
                    tracing::warn!("{message}; reading the branch before retrying");
                    if let Some(current) = self.branch(name).await? {
                        return exists(current);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Err(ForgeError::Ambiguous {
            message: format!("creating branch {name} did not get a clear answer twice"),
        })
    }

    async fn update_branch(&self, name: &str, expected: &str, sha: &str) -> Result<()> {
        let moved = |current: String| ForgeError::BranchMoved {
            branch: name.to_string(),
            expected: expected.to_string(),
            current,
        };
        let current = self
            .branch(name)
            .await?
            .ok_or_else(|| ForgeError::NotFound {
                what: format!("branch {name}"),
            })?;
        if current == sha {
            return Ok(());
        }
        if current != expected {
            return Err(moved(current));
        }
        let path = self.path(&format!("/git/refs/heads/{}", encode(name, true)));
        let body = json!({"sha": sha, "force": false});
        match self.send(Method::PATCH, &path, &body).await {
            Ok(a) if a.ok() => Ok(()),
            Ok(a) if a.status == 422 => {
                let now = self.branch(name).await?.unwrap_or_default();
                if now == sha { Ok(()) } else { Err(moved(now)) }
            }
            Ok(a) => Err(self.client.error(&Method::PATCH, &path, &a)),
            Err(ForgeError::Ambiguous { .. }) => {
                let now = self.branch(name).await?.unwrap_or_default();
                if now == sha { Ok(()) } else { Err(moved(now)) }
            }
            Err(e) => Err(e),
        }
    }

    async fn create_commit(&self, commit: &NewCommit) -> Result<String> {
        let parent_path = self.path(&format!("/git/commits/{}", encode(&commit.parent, false)));
        let parent: wire::GitCommit = self.client.get(&parent_path).await?;
        let mut entries = Vec::new();
        for change in &commit.changes {
            let mode = if change.executable {
                "100755"
            } else {
                "100644"
            };
            let sha = match &change.content {
                Some(bytes) => {
                    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
                    Value::String(
                        self.git_object(
                            "blobs",
                            &json!({"content": encoded, "encoding": "base64"}),
                        )
                        .await?,
                    )
                }
                None => Value::Null,
            };
            entries.push(json!({"path": change.path, "mode": mode, "type": "blob", "sha": sha}));
        }
        // No changes (a claim commit): the parent's tree as it is, no tree request.
        let tree = if entries.is_empty() {
            parent.tree.sha.clone()
        } else {
            self.git_object(
                "trees",
                &json!({"base_tree": parent.tree.sha, "tree": entries}),
            )
            .await?
        };
        let mut body = json!({"message": commit.message, "tree": tree, "parents": [commit.parent]});
        if let Some(a) = &commit.author {
            body["author"] = json!({"name": a.name, "email": a.email});
        }
        self.git_object("commits", &body).await
    }

    async fn enable_auto_merge(&self, number: u64, method: MergeMethod) -> Result<()> {
        // REST has no endpoint for it: GraphQL's enablePullRequestAutoMerge, by the PR's node id.
        let path = self.path(&format!("/pulls/{number}"));
        let pr: Value = self.client.get(&path).await?;
        let node = pr["node_id"].as_str().ok_or_else(|| ForgeError::Api {
            status: 200,
            method: "GET".into(),
            path: path.clone(),
            message: "the pull request has no node_id".into(),
        })?;
        let url = self
            .client
            .graphql_path()
            .ok_or_else(|| ForgeError::Unsupported {
                what: format!(
                    "enabling auto-merge on pull request #{number} on GitHub Enterprise Server (GraphQL is not reached there)"
                ),
            })?
            .to_string();
        let method = match method {
            MergeMethod::Merge => "MERGE",
            MergeMethod::Squash => "SQUASH",
            MergeMethod::Rebase => "REBASE",
        };
        let body = json!({
            "query": "mutation($id: ID!, $method: PullRequestMergeMethod!) { enablePullRequestAutoMerge(input: {pullRequestId: $id, mergeMethod: $method}) { pullRequest { number } } }",
            "variables": {"id": node, "method": method},
        });
        // Enabling auto-merge twice is harmless, so an ambiguous answer may be repeated.
        let a = self
            .write(Method::POST, &url, &body, Repeat::IfAmbiguous)
            .await?;
        let answer: Value = a.json(&url)?;
        match answer["errors"].as_array().and_then(|e| e.first()) {
            // GraphQL reports failures with HTTP 200 and an `errors` list.
            Some(e) => Err(ForgeError::Api {
                status: 422,
                method: "POST".into(),
                path: url,
                message: e["message"]
                    .as_str()
                    .unwrap_or("enablePullRequestAutoMerge failed")
                    .to_string(),
            }),
            None => Ok(()),
        }
    }

    async fn dispatch_workflow(&self, workflow: &str, git_ref: &str, inputs: &Value) -> Result<()> {
        let path = self.path(&format!(
            "/actions/workflows/{}/dispatches",
            encode(workflow, false)
        ));
        let body = json!({"ref": git_ref, "inputs": inputs});
        self.write(Method::POST, &path, &body, Repeat::Never)
            .await
            .map(|_| ())
    }
}
