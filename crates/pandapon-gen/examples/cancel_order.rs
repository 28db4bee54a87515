//! Cancels an unpaid 1688 order: the SDK's quickstart.
//!
//! ```text
//! cargo run --example cancel_order -- --order-id 2542285634920880794 [--reason TEXT] [--remark TEXT]
//! ```
//!
//! With `PANDAPON_ACCESS_KEY`, `PANDAPON_ACCESS_SECRET` and `PANDAPON_USER_ID`
//! set (and optionally `PANDAPON_BASE_URL`, `PANDAPON_TIMESTAMP_UNIT`), it calls
//! that server. With none of them set, it starts a local mock of PandaPon that
//! verifies the signature, and calls that. Success prints one JSON line with
//! `requestId` and `data`; failure prints the error to stderr and exits 1.

use std::process::ExitCode;

use clap::Parser;
use pandapon_gen::types::{AlibabaOrderCancelRequest, WebSite};
use pandapon_gen::{Client, Credentials, Error};
use pandapon_httpmock::{FakePandaPon, SignatureCheck};

/// Cancel an unpaid 1688 order through PandaPon.
#[derive(Parser)]
struct Args {
    /// The 1688 order id (up to 19 digits).
    #[arg(long)]
    order_id: u64,
    /// Why the order is cancelled.
    #[arg(long)]
    reason: Option<String>,
    /// A remark for the cancellation.
    #[arg(long)]
    remark: Option<String>,
}

const ENV_VARS: [&str; 4] = [
    pandapon_gen::ENV_ACCESS_KEY,
    pandapon_gen::ENV_ACCESS_SECRET,
    pandapon_gen::ENV_USER_ID,
    pandapon_gen::ENV_BASE_URL,
];

async fn run(args: Args) -> Result<pandapon_gen::Reply<bool>, Box<dyn std::error::Error>> {
    let configured = ENV_VARS.iter().any(|v| std::env::var_os(v).is_some());
    let _mock; // keeps the local server alive for the call
    let client = if configured {
        Client::from_env()?
    } else {
        let demo = Credentials::new("demo-access-key", "demo-access-secret", "demo-user")?;
        // A fake PandaPon on a free local port that checks the signature.
        let server = FakePandaPon::start(
            ([127, 0, 0, 1], 0).into(),
            SignatureCheck::new(demo.clone()),
        )
        .await?;
        eprintln!(
            "no PANDAPON_* variables set: using a local mock of PandaPon at {} \
             (it verifies the signature)",
            server.base_url()
        );
        let client = Client::builder(demo).base_url(server.base_url()).build()?;
        _mock = server;
        client
    };
    let reply = client
        .alibaba_order_cancel()
        .body(
            AlibabaOrderCancelRequest::builder()
                .web_site(WebSite::X1688)
                .order_id(args.order_id)
                .cancel_reason(args.reason)
                .remark(args.remark),
        )
        .call()
        .await?;
    Ok(reply)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(reply) => {
            let line = serde_json::json!({ "requestId": reply.request_id, "data": reply.data });
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            match err.downcast_ref::<Error>().and_then(Error::api) {
                Some(api) => eprintln!(
                    "error: PandaPon refused the call: code {} msg {:?} requestId {}",
                    api.code,
                    api.msg.as_deref().unwrap_or(""),
                    api.request_id.as_deref().unwrap_or("<none>")
                ),
                None => eprintln!("error: {err}"),
            }
            ExitCode::FAILURE
        }
    }
}
