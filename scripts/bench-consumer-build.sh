#!/usr/bin/env bash
# Build cost of the SDK for a consumer: a small binary that cancels an order
# through pandapon-gen, next to the same binary written with reqwest, serde
# and md-5 alone. Each is built from clean, in release, in its own target
# directory, with crates from the local cache (--offline), alternating RUNS
# times. Then pandapon-gen alone is rebuilt (touch + build) to isolate its
# own share (pandapon-types, where the generated types are, is not rebuilt).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${WORK:-$root/target/bench-consumers}
rm -rf "$work"
mkdir -p "$work/sdk/src" "$work/baseline/src"

cat > "$work/sdk/Cargo.toml" <<TOML
[package]
name = "consumer-sdk"
version = "0.0.0"
edition = "2024"
publish = false
[dependencies]
pandapon-gen = { path = "$root/crates/pandapon-gen" }
tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
[workspace]
TOML
cat > "$work/sdk/src/main.rs" <<'RS'
use pandapon_gen::types::{AlibabaOrderCancelRequest, WebSite};
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = pandapon_gen::Client::from_env()?;
    let body = AlibabaOrderCancelRequest::builder()
        .web_site(WebSite::X1688)
        .order_id(2542285634920880794_u64);
    let reply = client.alibaba_order_cancel().body(body).call().await?;
    println!("{} {:?}", reply.data, reply.request_id);
    Ok(())
}
RS

cat > "$work/baseline/Cargo.toml" <<'TOML'
[package]
name = "consumer-baseline"
version = "0.0.0"
edition = "2024"
publish = false
[dependencies]
md-5 = "0.10"
rand = "0.9"
reqwest = { version = "0.13", default-features = false, features = ["json", "rustls"] }
serde = { version = "1", features = ["derive"] }
serde_json = "1"
tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
[workspace]
TOML
cat > "$work/baseline/src/main.rs" <<'RS'
use md5::{Digest, Md5};
use rand::Rng;
use serde::{Deserialize, Serialize};
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Cancel { web_site: &'static str, order_id: u64 }
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope { code: i64, msg: Option<String>, request_id: Option<String>, data: Option<bool> }
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let var = |k: &str| std::env::var(k);
    let (key, secret, user) = (var("PANDAPON_ACCESS_KEY")?, var("PANDAPON_ACCESS_SECRET")?, var("PANDAPON_USER_ID")?);
    let ts = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis().to_string();
    let nonce: String = rand::rng().sample_iter(rand::distr::Alphanumeric).take(32).map(char::from).collect();
    let sig = format!("{:X}", Md5::digest(format!("{key}{ts}{nonce}{secret}")));
    let env: Envelope = reqwest::Client::new()
        .post("https://api.pandapon.com/v2/alibaba/order/cancel")
        .header("access-key", key).header("timestamp", ts).header("nonce-str", nonce)
        .header("user-id", user).header("signature", sig)
        .json(&Cancel { web_site: "1688", order_id: 2542285634920880794 })
        .send().await?.json().await?;
    if env.code != 200 { return Err(format!("{} {:?} {:?}", env.code, env.msg, env.request_id).into()); }
    println!("{:?} {:?}", env.data, env.request_id);
    Ok(())
}
RS

build() { (cd "$work/$1" && CARGO_TARGET_DIR="$work/$1/target" cargo build --release --offline -q); }
clean_build_ms() {
  rm -rf "$work/$1/target"
  local start end
  # Inside $(...) errexit is off: a failed build must fail the caller.
  start=$(date +%s%N); build "$1" || return 1; end=$(date +%s%N)
  echo $(( (end - start) / 1000000 ))
}
# The machine's speed drifts by more than the difference being measured, so
# the two builds alternate, RUNS times (default 1), and each SDK build is
# compared with the baseline build just before it.
for run in $(seq "${RUNS:-1}"); do
  base=$(clean_build_ms baseline)
  sdk=$(clean_build_ms sdk)
  echo "run $run: baseline clean release build: $base ms; sdk: $sdk ms; ratio $(awk -v s="$sdk" -v b="$base" 'BEGIN { printf "%.3f", s / b }')"
done
touch "$root/crates/pandapon-gen/src/lib.rs"
start=$(date +%s%N); build sdk; end=$(date +%s%N)
echo "sdk rebuild of pandapon-gen alone (+ link): $(( (end - start) / 1000000 )) ms"
ls -l "$work/sdk/target/release/consumer-sdk" "$work/baseline/target/release/consumer-baseline" | awk '{print $5, $9}'
