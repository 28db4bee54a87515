//! Drives the `push_receiver` example with valid, repeated, tampered and
//! malformed pushes, as PandaPon (or an attacker) would send them, and with
//! the settings it must refuse.

use std::io::{BufRead, BufReader, Lines};
use std::process::{ChildStdout, Stdio};

use pandapon_gen::Credentials;
use pandapon_gen::auth::{PushSignatureBase, push_signature, push_signature_with};
use pandapon_tests::process::{self, scrubbed, text};

const SECRET: &str = "receiver-test-secret";

fn next_line(lines: &mut Lines<BufReader<ChildStdout>>) -> String {
    lines.next().expect("a line").expect("readable")
}

fn inbox_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("pandapon-example-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join("inbox.sqlite")
}

#[tokio::test]
async fn verifies_stores_once_and_hands_over() {
    let mut child = scrubbed(process::example("push_receiver"))
        .env("PANDAPON_ACCESS_KEY", "ak")
        .env("PANDAPON_ACCESS_SECRET", SECRET)
        .env("PANDAPON_USER_ID", "u")
        .arg("--inbox")
        .arg(inbox_path("once"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
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
    let other = br#"{"messageType":"ORDER_CANCEL","messageBody":{"orderId":"2542285634920880794","orderStatus":"CANCEL"},"messagePlatform":1}"#;
    let sig = push_signature(&creds, valid);
    let keyed = push_signature_with(&creds, PushSignatureBase::AccessKeyAndBody, valid);
    let statuses = [
        post(valid, Some(&sig.to_uppercase())).await,
        // The same message again, signed the other way: acknowledged, not
        // stored twice.
        post(valid, Some(&keyed)).await,
        post(&valid[..valid.len() - 2], Some(&sig)).await,
        post(valid, None).await,
        post(b"[1,2", Some(&push_signature(&creds, b"[1,2"))).await,
        post(other, Some(&push_signature(&creds, other))).await,
        http.get(&url)
            .send()
            .await
            .expect("answer")
            .status()
            .as_u16(),
    ];
    let first = next_line(&mut lines);
    let second = next_line(&mut lines);
    child.kill().expect("stop");
    drop(lines);
    let out = child.wait_with_output().expect("stopped");
    process::assert_clean(&out, SECRET);

    assert_eq!(statuses, [200, 200, 401, 401, 400, 200, 200]);
    let first: serde_json::Value = serde_json::from_str(&first).expect("JSON line");
    assert_eq!(first["messageType"], "ORDER_PAY_SUCCESS");
    assert_eq!(first["messagePlatform"], 1);
    assert_eq!(first["messageBody"]["orderId"], "2542285634920880794");
    let second: serde_json::Value = serde_json::from_str(&second).expect("JSON line");
    assert_eq!(
        second["messageType"], "ORDER_CANCEL",
        "the duplicate was not handed over"
    );
    assert_ne!(first["key"], second["key"]);
}

#[test]
fn bad_settings_are_refused_and_demo_credentials_only_without_any() {
    // Real credentials and one bad setting: no quiet fall-back to the demo
    // secret, a refusal naming the setting.
    let out = scrubbed(process::example("push_receiver"))
        .env("PANDAPON_ACCESS_KEY", "ak")
        .env("PANDAPON_ACCESS_SECRET", SECRET)
        .env("PANDAPON_USER_ID", "u")
        .env("PANDAPON_MAX_RESPONSE_BYTES", "16MiB")
        .arg("--inbox")
        .arg(inbox_path("refused"))
        .output()
        .expect("runs");
    assert_eq!(process::assert_clean(&out, SECRET).status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("PANDAPON_MAX_RESPONSE_BYTES"), "{stderr}");
    assert!(!stderr.contains("demo"), "{stderr}");
    // One variable alone is a configuration too: incomplete, refused.
    let out = scrubbed(process::example("push_receiver"))
        .env("PANDAPON_ACCESS_SECRET", SECRET)
        .arg("--inbox")
        .arg(inbox_path("partial"))
        .output()
        .expect("runs");
    assert_eq!(process::assert_clean(&out, SECRET).status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("PANDAPON_ACCESS_KEY"),
        "{}",
        text(&out.stderr)
    );
}
