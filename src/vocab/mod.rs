//! The shared vocabulary: small leaf types every layer may name (the roles by name, the detected
//! language, the kinds of files) without importing the layer that acts on them.

pub mod branches;
pub(crate) mod file_kind;
pub mod language;
pub(crate) mod markdown;
pub(crate) mod role;

pub use file_kind::{FileKind, classify};
pub use language::Language;
pub use role::{Role, UnknownRole};
