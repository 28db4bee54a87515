//! Local PandaPon mocks: signature checks and envelopes for httpmock servers,
//! typed per-operation mocks, and a fake PandaPon server.
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![warn(clippy::missing_errors_doc)]

mod check;
mod fake;
mod push;
#[allow(missing_docs, clippy::all)]
#[rustfmt::skip]
mod generated;

pub use check::{
    DEVELOP_ID, REQUEST_ID, SIGNATURE_ERROR_CODE, Seen, SignatureCheck, business_error, success,
};
pub use fake::{Arrival, FakeBuilder, FakePandaPon, Fault, NO_MATCH_CODE, Route, routes};
pub use generated::{MockServerExt, operations};
pub use httpmock;
pub use push::{Pushed, pushes};

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

#[cfg(test)]
mod tests {
    use pandapon_gen::types::{AlibabaOrderCancelResponse, builder};

    #[test]
    fn a_value_or_a_complete_builder_is_accepted() {
        let from_builder: AlibabaOrderCancelResponse = super::built(
            AlibabaOrderCancelResponse::builder()
                .code(200_i64)
                .data(true),
            "AlibabaOrderCancelResponse",
            "ok",
        );
        assert_eq!(
            (from_builder.code, from_builder.data),
            (Some(200), Some(true))
        );
        let again: AlibabaOrderCancelResponse =
            super::built(from_builder.clone(), "AlibabaOrderCancelResponse", "ok");
        assert_eq!(again.code, from_builder.code);
    }

    #[test]
    #[should_panic(
        expected = "pandapon-httpmock: `body` got an incomplete AlibabaOrderCancelRequest: no value supplied for order_id"
    )]
    fn an_incomplete_builder_panics_naming_the_field() {
        let incomplete = builder::AlibabaOrderCancelRequest::default()
            .web_site(pandapon_gen::types::WebSite::X1688);
        let _: pandapon_gen::types::AlibabaOrderCancelRequest =
            super::built(incomplete, "AlibabaOrderCancelRequest", "body");
    }
}
