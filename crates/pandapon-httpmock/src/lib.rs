//! Local PandaPon mocks: signature checks and envelopes for httpmock servers,
//! typed per-operation mocks, and a fake PandaPon server.
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod check;
mod fake;
#[allow(missing_docs, clippy::all)]
#[rustfmt::skip]
mod generated;

pub use check::{
    DEVELOP_ID, REQUEST_ID, SIGNATURE_ERROR_CODE, Seen, SignatureCheck, business_error, success,
};
pub use fake::{FakePandaPon, Fault, Route};
pub use generated::{MockServerExt, ROUTES, operations};
pub use httpmock;
