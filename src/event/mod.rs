//! What happened: the GitHub event that started this run, parsed from the runner's payload file,
//! and the routing table that turns it into a role to run (or a reason not to).

pub(crate) mod command;
pub(crate) mod payload;
pub(crate) mod route;

pub use payload::{Event, Payload, PayloadError};
pub use route::{Decision, RouteSettings, Routing, route};
