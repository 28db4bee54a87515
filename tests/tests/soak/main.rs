//! The long-running tests in their own binary, so that their load does not
//! share the cores with the timing-sensitive end-to-end tests: 10,000 calls
//! at concurrency 256, clean and under random faults.

mod chaos;
mod load;
