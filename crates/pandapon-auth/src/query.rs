//! The `timestamp` and `sign` query parameters of the warehouse-logistics
//! operations, whose algorithm PandaPon does not document.

use std::fmt;

use crate::SignedHeaders;

/// Computes the query parameters that authenticate a warehouse-logistics call.
///
/// PandaPon's pages for `/open/pp/logistics/*` list required `timestamp` and
/// `sign` query parameters without saying how `sign` is made. Implement this
/// trait to apply another rule; an implementation that needs the secret holds
/// its own copy. It is called once per attempt, with that attempt's headers.
pub trait QuerySigner: fmt::Debug + Send + Sync {
    /// The `(name, value)` pairs to set on the request's query string.
    fn query(&self, headers: &SignedHeaders) -> Vec<(&'static str, String)>;
}

/// The default, UNVERIFIED rule: `timestamp` is the header timestamp and
/// `sign` the header signature (the MD5 rule), so the query carries exactly
/// what the headers carry.
#[derive(Debug, Default, Clone, Copy)]
pub struct HeaderRuleQuery;

impl QuerySigner for HeaderRuleQuery {
    fn query(&self, headers: &SignedHeaders) -> Vec<(&'static str, String)> {
        vec![
            ("timestamp", headers.timestamp().as_str().to_owned()),
            ("sign", headers.signature().as_str().to_owned()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Credentials, Nonce, Timestamp, sign};

    #[test]
    fn default_rule_mirrors_the_headers() {
        let creds = Credentials::new("ak", "sk", "u").unwrap();
        let headers = sign(
            &creds,
            &Timestamp::parse("1700000000").unwrap(),
            &Nonce::parse("abcdefghijklmnopqrstuvwxyz012345").unwrap(),
        );
        assert_eq!(
            HeaderRuleQuery.query(&headers),
            vec![
                ("timestamp", "1700000000".to_owned()),
                ("sign", "138C588C7D5F483C99D06530E8E87A7D".to_owned())
            ]
        );
    }
}
