//! What the generated requests call: the URL under the client's base, the
//! query values as PandaPon reads them, and the error for a request that
//! could not be built (nothing is sent).

use super::ClientState;
use crate::Error;

/// The URL of `path` (which starts with `/`) under the client's base URL:
/// the base was parsed when the client was built, so only the path is
/// parsed here. The generated requests and the any-path call build their
/// URLs with it.
pub(crate) fn url(state: &ClientState, path: &str) -> reqwest::Url {
    let mut url = state.base.clone();
    match state.base.path() {
        "/" => url.set_path(path),
        base => url.set_path(&format!("{base}{path}")),
    }
    url
}

/// A request as the generated code builds it: the request, or why it could
/// not be built.
pub(crate) type Built = Result<reqwest::Request, Unbuilt>;

/// Why the generated code could not build a request: nothing was sent.
#[derive(Debug)]
pub(crate) enum Unbuilt {
    /// A value missing or invalid, or a path value that would leave its
    /// segment.
    InvalidRequest(String),
    /// reqwest refused the request (a URL or header it cannot send).
    Build(reqwest::Error),
}

impl From<reqwest::Error> for Unbuilt {
    fn from(error: reqwest::Error) -> Self {
        Self::Build(error)
    }
}

/// The error for a request that could not be built: nothing was sent.
/// Generated requests and any-path requests both end here.
pub(crate) fn unbuilt(error: Unbuilt) -> Error {
    match error {
        Unbuilt::InvalidRequest(message) => Error::InvalidRequest(message),
        Unbuilt::Build(e) => Error::InvalidRequest(format!("building the request: {e}")),
    }
}

/// Appends `name=value` to the query of a request the generated code built,
/// `value` as PandaPon reads it: a string as it is, an integer or boolean as
/// written in JSON, nothing for `None`. Codegen admits only query parameters
/// of those types; anything else (a list, an object, a float, whose text
/// PandaPon does not document) is refused here rather than guessed.
pub(crate) fn query<T: serde::Serialize>(
    request: &mut reqwest::Request,
    name: &str,
    value: &T,
) -> Result<(), Unbuilt> {
    let value =
        serde_json::to_value(value).map_err(|e| Unbuilt::InvalidRequest(format!("{name}: {e}")))?;
    let text = match value {
        serde_json::Value::Null => return Ok(()),
        serde_json::Value::String(text) => text,
        serde_json::Value::Number(n) if !n.is_f64() => n.to_string(),
        serde_json::Value::Bool(b) => b.to_string(),
        other => {
            return Err(Unbuilt::InvalidRequest(format!(
                "{name}: a query value must be a string, integer or boolean, not {other}"
            )));
        }
    };
    request.url_mut().query_pairs_mut().append_pair(name, &text);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_that_could_not_be_built_was_not_sent() {
        let e = unbuilt(Unbuilt::InvalidRequest("no order_id".into()));
        assert!(matches!(&e, Error::InvalidRequest(m) if m == "no order_id"));
        assert_eq!(e.outcome(), crate::Outcome::NotSent);
        let refused = reqwest::Client::new()
            .get("http://[::1/")
            .build()
            .expect_err("an unclosed IPv6 host is no URL");
        let e = unbuilt(Unbuilt::from(refused));
        assert!(
            matches!(&e, Error::InvalidRequest(m) if m.starts_with("building the request: ")),
            "{e:?}"
        );
        assert_eq!(e.outcome(), crate::Outcome::NotSent);
    }

    #[test]
    fn query_values_are_appended_as_pandapon_reads_them() {
        let http = reqwest::Client::new();
        let mut request = http
            .get("http://127.0.0.1:1/v2/x")
            .build()
            .expect("request");
        let id: crate::StringId = "2542285634920880794".parse().expect("id");
        query(&mut request, "orderId", &id).expect("string id");
        query(&mut request, "itemId", &crate::IntegerId::from(7_u64)).expect("integer id");
        query(&mut request, "all", &true).expect("bool");
        query(&mut request, "missing", &None::<String>).expect("none");
        query(&mut request, "note", &"a&b=c d").expect("text");
        assert_eq!(
            request.url().query(),
            Some("orderId=2542285634920880794&itemId=7&all=true&note=a%26b%3Dc+d")
        );
        for e in [
            query(&mut request, "list", &[1, 2]).expect_err("a list"),
            query(&mut request, "float", &0.1_f32).expect_err("a float"),
        ] {
            assert!(
                matches!(&e, Unbuilt::InvalidRequest(m) if m.contains(": a query value must be")),
                "{e:?}"
            );
        }
        assert_eq!(
            request.url().query(),
            Some("orderId=2542285634920880794&itemId=7&all=true&note=a%26b%3Dc+d"),
            "a refused value adds nothing"
        );
    }
}
