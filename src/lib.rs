//! codex-orchestrator: an LLM dev team (planner, taskmaster, developer, reviewer, integrator)
//! that runs inside a repository's own GitHub workflows against the team's own Ollama server.
//!
//! Layers, outermost first: `event` (what happened) → `roles` (what to do) → the ports
//! `forge` (GitHub), `llm` (Ollama) and `git` (the local checkout), with `policy` checking every
//! write and `actions` speaking to the GitHub Actions runner.

pub mod actions;
pub mod changes;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod event;
pub mod forge;
pub mod git;
pub mod glob;
pub mod host;
pub mod llm;
pub mod policy;
pub mod publish;
pub mod report;
pub mod roles;
pub mod serve;
pub mod tasks;
pub mod vocab;
