//! Renders a signed request as a curl command, for `--dry-run`.

/// Quotes `s` for a POSIX shell.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The request as a curl command line, headers in the order they are sent.
pub fn render(request: &reqwest::Request) -> String {
    let mut parts = vec![format!(
        "curl -X {} {}",
        request.method(),
        quote(request.url().as_str())
    )];
    for (name, value) in request.headers() {
        let value = String::from_utf8_lossy(value.as_bytes());
        parts.push(format!("-H {}", quote(&format!("{name}: {value}"))));
    }
    if let Some(body) = request.body().and_then(|b| b.as_bytes()) {
        parts.push(format!(
            "--data-raw {}",
            quote(&String::from_utf8_lossy(body))
        ));
    }
    parts.join(" \\\n  ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_single_quotes_for_the_shell() {
        assert_eq!(quote("it's"), r"'it'\''s'");
        let mut req = reqwest::Request::new(
            reqwest::Method::POST,
            "http://127.0.0.1:1/x?a=1".parse().expect("url"),
        );
        req.headers_mut()
            .insert("timestamp", reqwest::header::HeaderValue::from_static("1"));
        *req.body_mut() = Some(reqwest::Body::from("{\"k\":\"v'\"}"));
        assert_eq!(
            render(&req),
            "curl -X POST 'http://127.0.0.1:1/x?a=1' \\\n  -H 'timestamp: 1' \\\n  --data-raw '{\"k\":\"v'\\''\"}'"
        );
    }
}
