//! Task priority `P0` (most urgent) to `P3`; anything else is kept verbatim so validation can
//! report it and the next-task order can sort it last.

use std::fmt;

/// A task's priority as written in its front matter.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Priority {
    P0,
    P1,
    P2,
    P3,
    /// Any other value, kept as written (a validation error; sorted after `P3`).
    Other(String),
}

impl Priority {
    /// Parses `P0`..`P3` (exactly; `p1` or `P 1` are `Other`).
    pub fn parse(s: &str) -> Priority {
        match s {
            "P0" => Priority::P0,
            "P1" => Priority::P1,
            "P2" => Priority::P2,
            "P3" => Priority::P3,
            other => Priority::Other(other.to_string()),
        }
    }

    /// Sort rank: 0 for P0 … 3 for P3, 4 for anything unknown or missing.
    pub fn rank(&self) -> u8 {
        match self {
            Priority::P0 => 0,
            Priority::P1 => 1,
            Priority::P2 => 2,
            Priority::P3 => 3,
            Priority::Other(_) => 4,
        }
    }

    /// Whether this is one of `P0`..`P3`.
    pub fn is_known(&self) -> bool {
        !matches!(self, Priority::Other(_))
    }

    /// The text as written.
    pub fn as_str(&self) -> &str {
        match self {
            Priority::P0 => "P0",
            Priority::P1 => "P1",
            Priority::P2 => "P2",
            Priority::P3 => "P3",
            Priority::Other(s) => s,
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Priority {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
