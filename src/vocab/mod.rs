//! The shared vocabulary: small leaf types every layer may name (the roles by name, the detected
//! language, the kinds of files) without importing the layer that acts on them.

pub mod branches;
pub mod file_kind;
pub mod language;
pub mod role;

pub use file_kind::{FileKind, classify};
pub use language::Language;
pub use role::{Role, UnknownRole};
