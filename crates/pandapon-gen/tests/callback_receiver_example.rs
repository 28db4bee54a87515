//! Drives the `callback_receiver` example with valid, tampered and malformed
//! pushes, as PandaPon (or an attacker) would send them.

use std::io::{BufRead, BufReader, Lines};
use std::process::{ChildStdout, Stdio};

use pandapon_gen::Credentials;
use pandapon_gen::auth::{CallbackBase, callback_signature, callback_signature_with};
use pandapon_tests::process::{self, scrubbed};

const SECRET: &str = "receiver-test-secret";

fn next_line(lines: &mut Lines<BufReader<ChildStdout>>) -> String {
    lines.next().expect("a line").expect("readable")
}

#[tokio::test]
async fn verifies_acknowledges_and_hands_over() {
    let mut child = scrubbed(process::example("callback_receiver"))
        .env("PANDAPON_ACCESS_KEY", "ak")
        .env("PANDAPON_ACCESS_SECRET", SECRET)
        .env("PANDAPON_USER_ID", "u")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("receiver starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let url = next_line(&mut lines);
    let creds = Credentials::new("ak", SECRET, "u").expect("credentials");

    let http = reqwest::Client::new();
    let post = async |body: &[u8], auth: Option<&str>| {
        let mut req = http.post(&url).body(body.to_vec());
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        req.send().await.expect("answer").status().as_u16()
    };

    let valid = br#"{"messageType":"ORDER_PAY_SUCCESS","messageBody":"{\"orderId\":\"2542285634920880794\",\"orderStatus\":\"WAITING_FOR_SENT\"}","messagePlatform":1,"timestamp":"1779263269913"}"#;
    let sig = callback_signature(&creds, valid);
    let keyed = callback_signature_with(&creds, CallbackBase::AccessKeyAndBody, valid);
    let statuses = [
        post(valid, Some(&sig.to_uppercase())).await,
        post(valid, Some(&keyed)).await,
        post(&valid[..valid.len() - 2], Some(&sig)).await,
        post(valid, None).await,
        post(b"[1,2", Some(&callback_signature(&creds, b"[1,2"))).await,
        http.get(&url)
            .send()
            .await
            .expect("answer")
            .status()
            .as_u16(),
    ];
    let message = next_line(&mut lines);
    let keyed_message = next_line(&mut lines);
    child.kill().expect("stop");
    let _ = child.wait();

    assert_eq!(statuses, [200, 200, 401, 401, 400, 200]);
    let message: serde_json::Value = serde_json::from_str(&message).expect("JSON line");
    assert_eq!(message["messageType"], "ORDER_PAY_SUCCESS");
    assert_eq!(message["messagePlatform"], 1);
    assert_eq!(message["messageBody"]["orderId"], "2542285634920880794");
    assert_eq!(message["signedBase"], "body");
    let keyed_message: serde_json::Value = serde_json::from_str(&keyed_message).expect("JSON line");
    assert_eq!(keyed_message["signedBase"], "access key + body");
    assert_eq!(keyed_message["messageBody"], message["messageBody"]);
}
