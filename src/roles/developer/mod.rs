//! The Developer role's model path: context selection (`context`), the SEARCH/REPLACE edit
//! protocol (`edits`), the safety check on the final change (`safety`), the work tree as a
//! scratch space (`workspace`), the repository's tests (`testrun`), the model conversation
//! (`session`) and the branch claim that keeps two runs off one task (`claim`).

pub mod claim;
pub mod context;
pub mod edits;
pub mod safety;
pub mod session;
pub mod testrun;
pub mod workspace;
