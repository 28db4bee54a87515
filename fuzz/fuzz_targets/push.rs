//! Fuzz target: verifying and parsing pushed order messages.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pandapon_gen::Credentials;
use pandapon_gen::push::{parse_message, verify_message};

fuzz_target!(|data: &[u8]| {
    let creds = Credentials::new("ak", "sk", "u").expect("credentials");
    let (auth, body) = data.split_at(data.len().min(64));
    let _ = verify_message(&creds, body, std::str::from_utf8(auth).ok());
    if let Ok(message) = parse_message(data) {
        if let Some(body) = message.message_body {
            let _ = body.parse::<pandapon_gen::types::OrderStatusMessageBody>();
        }
    }
});
