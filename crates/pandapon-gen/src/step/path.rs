//! Paths that stay where the caller put them: a path parameter is one
//! segment whatever its value, and an any-path call's path is used as
//! written, never normalised by the URL parser into another path.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// What a path value may keep as it is: RFC 3986's unreserved characters.
/// Everything else — `/`, `\`, `?`, `#`, `%`, spaces, controls, non-ASCII —
/// is percent-encoded, so that no value can end its segment or start a
/// query.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The path value `value` as one encoded segment. An empty value, `.` and
/// `..` are refused: they would name another path (the parent directory,
/// or the collection itself). Called by every generated operation with a
/// path parameter, before anything is signed.
///
/// # Errors
///
/// `InvalidRequest` for an empty value, `.` or `..`.
pub(crate) fn segment(value: &str) -> Result<String, super::Unbuilt> {
    match value {
        "" => Err(super::Unbuilt::InvalidRequest(
            "a path value cannot be empty".to_owned(),
        )),
        "." | ".." => Err(super::Unbuilt::InvalidRequest(format!(
            "a path value cannot be {value:?}: it would name another path"
        ))),
        _ => Ok(utf8_percent_encode(value, SEGMENT).to_string()),
    }
}

/// Why `path` cannot be the path of an any-path call, if it cannot: it must
/// start with `/`, and hold nothing the URL parser would rewrite or read as
/// the end of the path (dot segments in any spelling, `\`, `?`, `#`, empty
/// segments, spaces and control characters).
pub(crate) fn any_path_problem(path: &str) -> Option<String> {
    if !path.starts_with('/') {
        return Some(format!("the path must start with `/`: {path:?}"));
    }
    if let Some(c) = path
        .chars()
        .find(|c| matches!(c, '\\' | '?' | '#') || c.is_whitespace() || c.is_control())
    {
        let hint = match c {
            '?' => " (add query parameters with .query())",
            _ => "",
        };
        return Some(format!(
            "the path cannot hold {c:?}{hint}: {}",
            crate::error::escape(path)
        ));
    }
    for segment in path[1..].split('/') {
        let dots = segment.to_ascii_lowercase().replace("%2e", ".");
        if dots == "." || dots == ".." {
            return Some(format!(
                "the path cannot hold a dot segment ({segment:?}): {path:?}"
            ));
        }
    }
    if path[1..].split('/').rev().skip(1).any(str::is_empty) {
        return Some(format!("the path cannot hold an empty segment: {path:?}"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(value: &str) -> Result<String, String> {
        segment(value).map_err(|e| match e {
            crate::step::Unbuilt::InvalidRequest(message) => message,
            other => panic!("{other:?}"),
        })
    }

    #[test]
    fn a_value_cannot_leave_its_segment() {
        assert_eq!(seg("110000235001").unwrap(), "110000235001");
        assert_eq!(seg("TQ-1_a.b~").unwrap(), "TQ-1_a.b~");
        assert_eq!(
            seg(r"..\..\admin\x").unwrap(),
            "..%5C..%5Cadmin%5Cx",
            "a backslash is a separator in http URLs"
        );
        assert_eq!(seg("a/b?c#d%e f").unwrap(), "a%2Fb%3Fc%23d%25e%20f");
        assert_eq!(seg("\u{1b}[0m\n").unwrap(), "%1B%5B0m%0A");
        assert_eq!(seg("退款").unwrap(), "%E9%80%80%E6%AC%BE");
        for bad in ["", ".", ".."] {
            assert!(seg(bad).is_err(), "{bad:?}");
        }
        // Dots inside a longer value are ordinary characters.
        assert_eq!(seg("...").unwrap(), "...");
    }

    #[test]
    fn an_any_path_is_used_as_written_or_refused() {
        for good in ["/v2/taobao/order/detail", "/x", "/a/b.c/d..e/", "/v2/a%20b"] {
            assert_eq!(any_path_problem(good), None, "{good}");
        }
        for bad in [
            "v2/x",
            "/v2/../admin",
            "/v2/./x",
            "/v2/%2e%2E/admin",
            "/v2/.%2e",
            "/v2/..",
            r"/v2\..\admin",
            "/v2/x?y=1",
            "/v2/x#y",
            "/v2/a b",
            "/v2/a\u{1b}",
            "/v2//x",
            "//evil.example/x",
        ] {
            assert!(any_path_problem(bad).is_some(), "{bad:?} accepted");
        }
    }
}
