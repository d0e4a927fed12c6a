//! Cancelling a run: an Actions cancel sends SIGINT, then SIGTERM, then kills. On the first of
//! them the run stops the test run under way, gives up what it holds (the developer's claim, by
//! the hook it armed) within a bounded time, and exits 130 (SIGINT) or 143 (SIGTERM).

use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

type Hook = Box<dyn FnOnce() + Send>;

static HOOK: Mutex<Option<Hook>> = Mutex::new(None);
static INSTALLED: std::sync::Once = std::sync::Once::new();
/// The write end of the pipe the signal handler reports to (-1 before `install`).
static SIGNAL_PIPE: AtomicI32 = AtomicI32::new(-1);

/// How long the hook may take before the process exits anyway.
const HOOK_DEADLINE: Duration = Duration::from_secs(20);

/// The signal handler: one byte (the signal's number) down the pipe, nothing else (`write` is
/// async-signal-safe; the thread reading the pipe does the rest).
extern "C" fn on_signal(signal: libc::c_int) {
    let fd = SIGNAL_PIPE.load(Ordering::Relaxed);
    let byte = signal as u8;
    // SAFETY: `fd` is the pipe's write end, open for the life of the process; `byte` is a
    // valid one-byte buffer. A failed write is ignored (there is nothing a handler may do).
    unsafe { libc::write(fd, (&raw const byte).cast(), 1) };
}

/// Starts listening for SIGINT and SIGTERM (once per process). The handlers are in place when
/// this returns; a plain thread waits on their pipe (no runtime to build, nothing to wait for).
pub fn install() {
    INSTALLED.call_once(|| {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: `fds` is a valid array of two ints for pipe2 to fill.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return;
        }
        let [read_fd, write_fd] = fds;
        SIGNAL_PIPE.store(write_fd, Ordering::Relaxed);
        std::thread::spawn(move || wait_for_signal(read_fd));
        for signal in [libc::SIGINT, libc::SIGTERM] {
            // SAFETY: a zeroed sigaction is valid; it is filled in before use, and
            // `on_signal` only writes to a pipe.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_signal as *const () as libc::sighandler_t;
                action.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(signal, &action, std::ptr::null_mut());
            }
        }
    });
}

fn wait_for_signal(read_fd: libc::c_int) {
    let mut byte = 0u8;
    loop {
        // SAFETY: `read_fd` is the pipe's read end, owned by this thread; `byte` is a valid
        // one-byte buffer.
        let n = unsafe { libc::read(read_fd, (&raw mut byte).cast(), 1) };
        if n == 1 {
            break;
        }
        if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        // The pipe failed: give the signals their default back rather than swallow them.
        for signal in [libc::SIGINT, libc::SIGTERM] {
            // SAFETY: restoring the default disposition of a signal is always valid.
            unsafe { libc::signal(signal, libc::SIG_DFL) };
        }
        return;
    }
    let (name, code) = if libc::c_int::from(byte) == libc::SIGINT {
        ("SIGINT", 130)
    } else {
        ("SIGTERM", 143)
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
