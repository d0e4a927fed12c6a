//! `route`: decide only. Reads the payload and the configuration, prints the decision, touches
//! no network. Exit 0 for run/ignore, 2 for refuse or unreadable input.

use super::Failure;
use super::args::RouteArgs;
use super::context::Context;
use crate::event::{Event, RouteSettings, route};

pub fn run(ctx: &Context, args: &RouteArgs) -> Result<u8, Failure> {
    let event = Event::from_file(&args.event_name, &args.event_path).map_err(Failure::usage)?;
    let routing = route(&event, &RouteSettings::from_config(&ctx.effective.config));
    if ctx.json {
        let json = serde_json::to_string(&routing).map_err(Failure::usage)?;
        println!("{json}");
    } else {
        let role = routing.role.map_or("none", |r| r.as_str());
        println!("{:?} {role}: {}", routing.decision, routing.reason);
    }
    Ok(routing.exit_code())
}
