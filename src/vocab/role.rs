//! The five roles of the team, by name: the one word routing, configuration, prompts and change
//! sets share, so none of them has to import the roles themselves.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One of the five roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Planner,
    Taskmaster,
    Developer,
    Reviewer,
    Integrator,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Planner,
        Role::Taskmaster,
        Role::Developer,
        Role::Reviewer,
        Role::Integrator,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Planner => "planner",
            Role::Taskmaster => "taskmaster",
            Role::Developer => "developer",
            Role::Reviewer => "reviewer",
            Role::Integrator => "integrator",
        }
    }

    /// The hand-run subcommand for this role (`review`, `develop`, …).
    pub fn command(self) -> &'static str {
        match self {
            Role::Planner => "plan",
            Role::Taskmaster => "taskmaster",
            Role::Developer => "develop",
            Role::Reviewer => "review",
            Role::Integrator => "integrate",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown role {0:?}: expected one of planner, taskmaster, developer, reviewer, integrator \
     (or plan, develop, review, integrate)"
)]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    /// Accepts the role names and their verbs (`review`, `develop`, `plan`, `integrate`),
    /// case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "planner" | "plan" => Ok(Role::Planner),
            "taskmaster" | "tasks" => Ok(Role::Taskmaster),
            "developer" | "develop" | "dev" => Ok(Role::Developer),
            "reviewer" | "review" => Ok(Role::Reviewer),
            "integrator" | "integrate" => Ok(Role::Integrator),
            _ => Err(UnknownRole(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_verbs() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
            assert_eq!(role.command().parse::<Role>(), Ok(role));
        }
        assert_eq!("  Review ".parse::<Role>(), Ok(Role::Reviewer));
        assert!("deploy".parse::<Role>().is_err());
    }
}
