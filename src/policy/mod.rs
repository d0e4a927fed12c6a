//! The write guard: every write a role makes passes a policy check first
//! (default branch, protected paths, observe mode, dry run).
