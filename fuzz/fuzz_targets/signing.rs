//! Fuzz target: signing and verifying arbitrary header values.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pandapon_gen::auth::{Credentials, Nonce, StringToSign, Timestamp, Verifier, sign};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(4, '\u{0}');
    let (key, secret, ts, nonce) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let Ok(creds) = Credentials::new(key, secret, "u") else {
        return;
    };
    let masked = StringToSign::new(&creds, ts, nonce).masked();
    assert!(masked.ends_with("***"));
    if let (Ok(t), Ok(n)) = (Timestamp::parse(ts), Nonce::parse(nonce)) {
        let mut headers = http_headers();
        sign(&creds, &t, &n).apply(&mut headers);
        let _ = Verifier::new(creds).verify_headers(&headers, std::time::SystemTime::now());
    }
});

fn http_headers() -> pandapon_gen::auth::HeaderMap {
    pandapon_gen::auth::HeaderMap::new()
}
