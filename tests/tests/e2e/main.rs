//! The end-to-end tests, one module per area, in one test binary (one link
//! instead of seven): calls against local servers that check every request
//! as PandaPon would.

mod any_path;
mod cancel;
mod hostile;
mod inbox_postgres;
mod observe;
mod operations;
mod pagination;
mod push;
mod reconcile;
mod reliability;
mod stack;
mod traps;
mod worker;
