//! The `codex-orchestrator` binary: everything lives in the library; this only hands over.

fn main() -> std::process::ExitCode {
    codex_orchestrator::cli::main()
}
