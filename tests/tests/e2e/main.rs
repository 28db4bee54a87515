//! The end-to-end tests, one module per area, in one test binary (one link
//! instead of one per file): calls against local servers that check every
//! request as PandaPon would, and (`links`) the documentation's links.

mod any_path;
mod cancel;
mod hostile;
mod inbox_postgres;
mod links;
mod observe;
mod operations;
mod pagination;
mod push;
mod reconcile;
mod reliability;
mod stack;
mod traps;
mod worker;
