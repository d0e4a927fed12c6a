//! Kept for the reviewer's model code while it moves: the file kinds now live in `vocab`.
pub use crate::vocab::file_kind::{FileKind, classify};
