//! Every integration test in one binary: one link instead of thirty-two, so `cargo test` stays fast
//! and a clean build fits on a small CI disk (each separate test binary carried the whole
//! dependency tree, ~230 MB in debug). The modules below are the former `tests/*.rs` files.

#[path = "action/support.rs"]
mod action_support;
mod support;

mod action_act;
mod action_lint;
mod action_resolve;
mod action_run;
mod config_check;
mod demo;
mod developer_ci_setup;
mod developer_edits;
mod developer_model;
mod eval;
mod fake_github_openapi;
mod forge_github;
mod forge_local;
mod git_port;
mod git_pr_400;
mod github_app;
mod integrator_role;
mod integrity;
mod layers;
mod llm_ollama;
mod llm_openai;
mod llm_prompts;
mod llm_structured;
mod loop_e2e;
mod planner_role;
mod reviewer_role;
mod route_cli;
mod run_command;
mod safe_outputs;
mod serve_api;
mod serve_e2e;
mod serve_harness;
mod serve_loop;
mod serve_poll;
mod serve_queue;
mod serve_webhook;
mod taskmaster_role;
mod tasks_cli;
mod tasks_ids;
mod tasks_next;
mod tasks_render;
mod tasks_robustness;
mod tasks_roundtrip;
mod tasks_taskmaster;
mod tasks_validate;
mod webhook_examples;
