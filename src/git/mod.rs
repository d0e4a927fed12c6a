//! The git port: reading the runner's checkout (trees, blobs, diffs) with gix,
//! so diffs and files cost no API budget.
//!
//! Roles speak to [`Checkout`] (hex shas in, plain data out) so tests can fake it;
//! [`GixCheckout`] is the real thing. When the checkout lacks a commit (shallow clone),
//! the port says so with [`GitError::MissingCommit`] and the caller falls back to the API.

mod checkout;
mod diff;
mod error;
mod gix_checkout;
mod parse;
mod patch;
mod quote;
mod worktree;

pub use checkout::{Checkout, Mode, PrDiff, PrDiffBase, TreeEntry};
pub use diff::{ChangeKind, Diff, DiffOptions, FileDiff, Hunk};
pub use error::GitError;
pub use gix_checkout::GixCheckout;
pub use parse::parse_unified;
pub use patch::is_binary;
pub use quote::quote_path;
pub use worktree::WorkTreeFile;
