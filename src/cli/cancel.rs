//! Cancelling a run: an Actions cancel sends SIGINT, then SIGTERM, then kills. On the first of
//! them the run stops the test run under way, gives up what it holds (the developer's claim, by
//! the hook it armed) within a bounded time, and exits 130 (SIGINT) or 143 (SIGTERM).

use std::sync::Mutex;
use std::time::Duration;

type Hook = Box<dyn FnOnce() + Send>;

static HOOK: Mutex<Option<Hook>> = Mutex::new(None);
static INSTALLED: std::sync::Once = std::sync::Once::new();

/// How long the hook may take before the process exits anyway.
const HOOK_DEADLINE: Duration = Duration::from_secs(20);

/// Starts listening for SIGINT and SIGTERM (once per process).
pub fn install() {
    INSTALLED.call_once(|| {
        let (ready, wait) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                let _ = ready.send(());
                return;
            };
            rt.block_on(async move {
                use tokio::signal::unix::{SignalKind, signal};
                let (Ok(mut int), Ok(mut term)) = (
                    signal(SignalKind::interrupt()),
                    signal(SignalKind::terminate()),
                ) else {
                    let _ = ready.send(());
                    return;
                };
                let _ = ready.send(());
                let (name, code) = tokio::select! {
                    _ = int.recv() => ("SIGINT", 130),
                    _ = term.recv() => ("SIGTERM", 143),
                };
                eprintln!("codex-orchestrator: {name} received: stopping");
                crate::host::testrun::kill_running();
                if let Some(hook) = HOOK.lock().ok().and_then(|mut h| h.take()) {
                    let (done, finished) = std::sync::mpsc::channel();
                    std::thread::spawn(move || {
                        hook();
                        let _ = done.send(());
                    });
                    if finished.recv_timeout(HOOK_DEADLINE).is_err() {
                        eprintln!(
                            "codex-orchestrator: giving up the run's claim took longer than {} s; exiting anyway",
                            HOOK_DEADLINE.as_secs()
                        );
                    }
                }
                std::process::exit(code);
            });
        });
        let _ = wait.recv_timeout(Duration::from_secs(5));
    });
}

/// What to do when cancelled (replaces an earlier hook).
pub fn arm(hook: impl FnOnce() + Send + 'static) {
    install();
    if let Ok(mut h) = HOOK.lock() {
        *h = Some(Box::new(hook));
    }
}

/// Nothing to give up any more.
pub fn disarm() {
    if let Ok(mut h) = HOOK.lock() {
        *h = None;
    }
}
