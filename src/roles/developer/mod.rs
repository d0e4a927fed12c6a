//! The Developer role. The role itself (task pick-up, branch, model loop, PR) lands in its own
//! issue; this module holds its edit protocol: parsing the model's SEARCH/REPLACE blocks and
//! applying them to file text without ever guessing.

pub mod edits;
