//! Running the SDK's binaries and examples as a user would: a clean
//! environment, and checks that no output leaks a secret or a panic.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::{Command, Output};

/// The path of example `name`, built beside the running test's executable
/// (`cargo test` builds a package's examples before running its tests).
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let profile = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target profile dir");
    let bin = profile
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} not built; run `cargo test`",
        bin.display()
    );
    bin
}

/// A command for `program` with none of the variables the client reads
/// ([`pandapon_gen::ENV_VARS`]) and no proxy variables, so the caller's
/// environment cannot leak in, and no backtraces.
pub fn scrubbed(program: impl AsRef<OsStr>) -> Command {
    let mut cmd = Command::new(program);
    for var in pandapon_gen::ENV_VARS {
        cmd.env_remove(var.name);
    }
    // A proxy set for the machine would take the calls to the local fakes
    // elsewhere.
    for var in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"] {
        cmd.env_remove(var).env_remove(var.to_lowercase());
    }
    cmd.env("RUST_BACKTRACE", "0");
    cmd
}

/// Output bytes as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Fails if the run printed `secret` or panicked; returns the output.
pub fn assert_clean<'a>(out: &'a Output, secret: &str) -> &'a Output {
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!all.contains(secret), "secret printed:\n{all}");
    assert!(!all.contains("panicked"), "{all}");
    out
}

/// Fails if `text` holds a nonce or a signature of any request `seen` lists
/// (what `SignatureCheck::seen` logged), as signed with `credentials`: the
/// check that logs, cassettes and error output keep no signing value.
pub fn assert_no_signing_values(
    text: &str,
    credentials: &pandapon_gen::Credentials,
    seen: &[pandapon_httpmock::Seen],
) {
    assert!(!seen.is_empty(), "no request to check against");
    for request in seen {
        let (Some(timestamp), Some(nonce)) = (&request.timestamp, &request.nonce) else {
            panic!("a request without its signing headers reached the check");
        };
        assert!(
            !text.contains(nonce.as_str()),
            "a nonce that was sent: {nonce}"
        );
        let signature = pandapon_gen::auth::StringToSign::new(credentials, timestamp, nonce)
            .signature()
            .to_string();
        assert!(!text.contains(&signature), "a signature that was sent");
    }
}
