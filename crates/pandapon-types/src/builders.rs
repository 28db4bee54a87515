//! What the generated type builders (`types::builder`) share.

/// A builder setter's conversion: the value, or the message the builder
/// keeps until `build()` or `TryFrom` reports it. Every setter calls this one
/// generic function, so that the compiler checks it once rather than a
/// closure and a `format!` in each of the builders' setters.
#[inline]
pub(crate) fn convert<T, U>(value: T, field: &'static str) -> Result<U, String>
where
    T: TryInto<U>,
    T::Error: std::fmt::Display,
{
    value
        .try_into()
        .map_err(|e| format!("error converting supplied value for {field}: {e}"))
}

#[cfg(test)]
mod tests {
    use crate::types::AlibabaCargoV1;

    #[test]
    fn a_setter_keeps_why_its_value_did_not_convert_until_build() {
        let err = AlibabaCargoV1::builder()
            .quantity(u64::MAX)
            .build()
            .expect_err("u64::MAX is not an i64");
        assert_eq!(
            err.to_string(),
            "error converting supplied value for quantity: \
             out of range integral type conversion attempted"
        );
        let cargo = AlibabaCargoV1::builder()
            .quantity(3_u8)
            .build()
            .expect("3 converts");
        assert_eq!(cargo.quantity, 3);
    }
}
