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

/// The value a typed mock method was given: a value of `T` as it is, or a
/// builder of `T` completed. An incomplete builder is a mistake in the test
/// itself, so this panics there, naming the type, the mock method and the
/// builder's own message (which names the missing field).
#[doc(hidden)]
#[track_caller]
pub fn built<T, V>(value: V, type_name: &str, method: &str) -> T
where
    V: TryInto<T>,
    V::Error: std::fmt::Display,
{
    match value.try_into() {
        Ok(value) => value,
        Err(e) => panic!("pandapon-httpmock: `{method}` got an incomplete {type_name}: {e}"),
    }
}
