//! event (filled in by the foundation work).
