//! `serve`: runs the orchestrator as a long-lived server for many repositories (webhooks,
//! polling, a durable queue). Everything else about it lives in `crate::serve`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use super::Failure;

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on (put a TLS proxy in front to receive GitHub's webhooks)
    #[arg(long, default_value = "127.0.0.1:8000", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// The state database (SQLite): registry, deliveries, ETags, the job queue and history
    #[arg(
        long,
        env = "CODEX_SERVE_DB",
        default_value = "codex-orchestrator.db",
        value_name = "PATH"
    )]
    pub db: PathBuf,
}

pub fn run(args: &ServeArgs) -> Result<u8, Failure> {
    let settings = crate::serve::Settings::from_env(
        args.listen,
        args.db.clone(),
        crate::serve::settings::process_env(),
    )
    .map_err(Failure::usage)?;
    // One thread is enough: the server waits on sockets, child processes and SQLite calls that
    // take microseconds; the roles run as child processes. (No `rt-multi-thread` in the binary.)
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Failure::usage)?;
    runtime
        .block_on(crate::serve::serve(
            settings,
            crate::serve::termination(),
            None,
        ))
        .map_err(Failure::usage)?;
    Ok(0)
}
