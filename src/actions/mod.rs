//! actions (filled in by the foundation work).
