//! Serve mode: one long-running orchestrator for many repositories. Webhooks (signed) and
//! polling (conditional requests) turn GitHub events into jobs in a durable queue; workers run
//! each job as child processes of this binary (work phase, then publish phase). A top layer
//! like `cli/`: it uses the event router, the forge's polling client and the roles' binary.

pub(crate) mod api;
pub(crate) mod credentials;
pub(crate) mod error;
pub(crate) mod executor;
pub(crate) mod handoff;
pub(crate) mod metrics;
pub(crate) mod poller;
pub(crate) mod queue;
pub(crate) mod scan;
pub(crate) mod schedule;
pub(crate) mod settings;
pub mod signature;
pub(crate) mod store;
pub(crate) mod webhook;
pub(crate) mod workspace;

use std::future::Future;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::{Notify, watch};

use crate::forge::github::poll::Poller;
use credentials::{Credentials, Redactor};
use metrics::Metrics;
use queue::Phase;
pub use settings::Settings;
use store::{SqliteStore, Store};
use workspace::Workspaces;

/// Everything the handlers and workers share.
pub struct App {
    pub settings: Settings,
    pub store: Arc<dyn Store>,
    pub credentials: Credentials,
    pub redactor: Arc<Redactor>,
    pub workspaces: Workspaces,
    pub poller: Poller,
    pub metrics: Metrics,
    /// Wakes idle workers when a job is queued.
    pub wake: Notify,
}

impl App {
    pub fn new(settings: Settings, store: Arc<dyn Store>) -> anyhow::Result<App> {
        let redactor = Arc::new(Redactor::default());
        let poller = Poller::new(&settings.api_url, Duration::from_secs(20))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(App {
            credentials: Credentials::new(settings.clone(), redactor.clone()),
            workspaces: Workspaces::new(
                &settings.workdir_root,
                &settings.server_url,
                &settings.path,
            ),
            redactor,
            poller,
            metrics: Metrics::default(),
            wake: Notify::new(),
            store,
            settings,
        })
    }
}

/// Holds `<db>.lock` for the server's life: one server per database file.
struct InstanceLock {
    _file: std::fs::File,
}

fn lock_instance(db: &std::path::Path) -> anyhow::Result<InstanceLock> {
    let mut path = db.as_os_str().to_owned();
    path.push(".lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot create the lock file {}", path.to_string_lossy()))?;
    // SAFETY: flock on a descriptor we own.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        anyhow::bail!(
            "another `codex-orchestrator serve` is using {} (its lock {} is held): one server per \
             database; stop the other one or pass another --db",
            db.display(),
            path.to_string_lossy()
        );
    }
    Ok(InstanceLock { _file: file })
}

/// Serves until `shutdown` resolves (SIGTERM/SIGINT for the binary), then stops taking work,
/// lets running jobs finish for `CODEX_SHUTDOWN_GRACE`, re-queues the rest and returns.
pub async fn serve(
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
    bound: Option<tokio::sync::oneshot::Sender<SocketAddr>>,
) -> anyhow::Result<()> {
    if let Some(dir) = settings.db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the database folder {}", dir.display()))?;
    }
    let _lock = lock_instance(&settings.db)?;
    std::fs::create_dir_all(&settings.workdir_root).with_context(|| {
        format!(
            "cannot create WORKDIR_ROOT {}",
            settings.workdir_root.display()
        )
    })?;
    let store = SqliteStore::open(&settings.db).map_err(|e| anyhow::anyhow!("{e}"))?;
    // We hold the lock: whatever is marked running belonged to a server that is gone.
    let recovered = store
        .recover(i64::MAX, store::now_ms(), None)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if recovered > 0 {
        tracing::warn!(
            "{recovered} job(s) were running when the last server stopped: queued again"
        );
    }
    let app = Arc::new(App::new(settings.clone(), Arc::new(store))?);
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!("serving on http://{addr}");
    eprintln!("codex-orchestrator serve: listening on http://{addr}");
    if let Some(tx) = bound {
        let _ = tx.send(addr);
    }

    let (phase_tx, phase_rx) = watch::channel(Phase::Running);
    // Workers are named after this instance, so the reaper spares their leases.
    let instance = format!("{}-{}-", std::process::id(), store::now_ms());
    let mut workers = Vec::new();
    for n in 0..settings.workers {
        let name = format!("{instance}w{n}");
        workers.push(tokio::spawn(queue::worker(
            app.clone(),
            name,
            phase_rx.clone(),
        )));
    }
    let reaper = tokio::spawn(queue::reaper(app.clone(), instance, phase_rx.clone()));
    let poller = tokio::spawn(poller::run(app.clone(), phase_rx.clone()));
    let schedule = tokio::spawn(schedule::run(app.clone(), phase_rx.clone()));

    let (stop_http_tx, stop_http_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        axum::serve(listener, api::router(app.clone()))
            .with_graceful_shutdown(async move {
                let _ = stop_http_rx.await;
            })
            .into_future(),
    );
    shutdown.await;
    tracing::info!("shutting down: no new deliveries or jobs");
    eprintln!("codex-orchestrator serve: shutting down");
    let _ = stop_http_tx.send(());
    let _ = phase_tx.send(Phase::Draining);
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    let grace = settings.shutdown_grace;
    let mut pending = futures_util::future::join_all(workers);
    let finished = tokio::time::timeout(grace, &mut pending).await.is_ok();
    if !finished {
        tracing::warn!("jobs still running after {grace:?}: stopping them; they are queued again");
        let _ = phase_tx.send(Phase::Stop);
        let _ = tokio::time::timeout(Duration::from_secs(10), pending).await;
    }
    reaper.abort();
    poller.abort();
    schedule.abort();
    Ok(())
}

/// Resolves on SIGTERM or SIGINT.
pub async fn termination() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
