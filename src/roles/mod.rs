//! roles (filled in by the foundation work).
pub mod taskmaster;
