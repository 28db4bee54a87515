//! Runs every case in `tests/vectors/` through the signing core.

use std::fs;
use std::path::Path;

use pandapon_auth::{Credentials, Nonce, StringToSign, Timestamp, sign};

fn field<'a>(input: &'a serde_json::Value, name: &str) -> &'a str {
    input[name]
        .as_str()
        .unwrap_or_else(|| panic!("input.json lacks string field {name}"))
}

#[test]
fn every_vector_matches() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut dirs: Vec<_> = fs::read_dir(&root)
        .expect("tests/vectors exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(
        dirs.len() >= 6,
        "expected at least 6 cases, found {}",
        dirs.len()
    );

    for dir in &dirs {
        let read = |f: &str| fs::read_to_string(dir.join(f)).expect("vector file");
        let input: serde_json::Value = serde_json::from_str(&read("input.json")).expect("json");
        let creds = Credentials::new(
            field(&input, "access_key"),
            field(&input, "access_secret"),
            field(&input, "user_id"),
        )
        .expect("valid credentials");
        let (ts, nonce) = (field(&input, "timestamp"), field(&input, "nonce"));
        let expected = read("signature.txt");
        let expected = expected.trim();

        let string = StringToSign::new(&creds, ts, nonce);
        assert_eq!(
            string.masked(),
            read("string-to-sign.masked.txt").trim(),
            "{dir:?}"
        );
        assert_eq!(string.signature().as_str(), expected, "{dir:?}");

        let headers = sign(
            &creds,
            &Timestamp::parse(ts).expect("timestamp"),
            &Nonce::parse(nonce).expect("nonce"),
        );
        assert_eq!(headers.signature().as_str(), expected, "{dir:?}");
        assert!(!string.masked().contains(field(&input, "access_secret")));
    }
}
