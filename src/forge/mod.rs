//! The forge port: everything the roles write to or read from GitHub goes through here.
//! Roles depend on a trait, never on HTTP, so tests swap in a fake forge.
