//! codex-orchestrator: an LLM dev team (planner, taskmaster, developer, reviewer, integrator)
//! that runs inside a repository's own GitHub workflows against the team's own Ollama server.
//!
//! Layers, outermost first: `cli` → `serve`, `eval`, `report` → `event` (what happened), `roles` (what
//! to do, returning change sets), `publish` (the one writer) → `policy` (checks every write) →
//! `changes` → the ports `forge` (GitHub, local forge) and `host` (disk, tests, clock) →
//! `config` → `git`, `llm` (Ollama, OpenAI-compatible), `tasks`, `actions` (the runner) →
//! `vocab` (shared words: roles, languages, file kinds, branch names).
//!
//! The rule: a module imports only modules of a lower layer (or its own), and the roles never
//! import one another. `tests/layers.rs` holds the ranks and fails when an import breaks them.
//! Items are `pub(crate)` unless a test or a bench needs them.

pub(crate) mod actions;
pub(crate) mod changes;
pub mod cli;
pub mod config;
pub mod crypto;
pub(crate) mod eval;
pub mod event;
pub mod forge;
pub mod git;
pub mod host;
pub mod llm;
pub mod policy;
pub(crate) mod publish;
pub(crate) mod report;
pub mod roles;
pub mod serve;
pub mod tasks;
pub mod vocab;
