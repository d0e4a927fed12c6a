//! `config check`: load and validate the configuration and print the effective settings with
//! secrets redacted, where non-default values came from, and any warnings.

use super::Failure;
use super::context::Context;

pub fn check(ctx: &Context) -> Result<u8, Failure> {
    let eff = &ctx.effective;
    if ctx.json {
        let out = serde_json::json!({
            "valid": true,
            "file": eff.file.as_ref().map(|p| p.display().to_string()),
            "warnings": eff.warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "origins": eff.origins,
            "config": eff.config,
        });
        println!("{out}");
        return Ok(0);
    }
    match &eff.file {
        Some(p) => println!("# configuration: {} (valid)", p.display()),
        None => println!(
            "# configuration: no {} found, using built-in defaults",
            crate::config::FILE_NAME
        ),
    }
    for w in &eff.warnings {
        println!("# warning: {w}");
    }
    for o in &eff.origins {
        println!("# {} from {}", o.key, o.source);
    }
    let yaml = serde_saphyr::to_string(&eff.config).map_err(Failure::usage)?;
    print!("{yaml}");
    Ok(0)
}
