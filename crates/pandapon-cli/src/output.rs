//! How the generated commands report: the response JSON on stdout, failures
//! (with PandaPon's code, msg and requestId) on stderr.

use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use pandapon_gen::{Items, Page, ResponseValue, SendError, Stream, builder};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::generated::CliConfig;

/// What an `--all` run ends its command with, in place of the single call
/// the generated command would make next.
#[derive(Debug)]
pub struct AllPagesDone;

impl std::fmt::Display for AllPagesDone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("every page was printed")
    }
}

impl std::error::Error for AllPagesDone {}

/// Longest body excerpt printed for an undecodable response.
const EXCERPT: usize = 512;

/// Output hooks; remembers whether anything failed.
#[derive(Clone, Default)]
pub struct Output {
    failed: Arc<AtomicBool>,
}

impl Output {
    /// Whether a failure was reported.
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::SeqCst)
    }

    fn fail(&self, message: &str) {
        self.failed.store(true, Ordering::SeqCst);
        eprintln!("error: {message}");
    }
}

/// The start of a body, as text.
fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(EXCERPT)]).into_owned();
    if bytes.len() > EXCERPT {
        format!("{text}… ({} bytes)", bytes.len())
    } else {
        text
    }
}

/// One line saying what went wrong with a raw call.
fn describe<T: Debug>(error: &SendError<T>) -> String {
    match error {
        SendError::InvalidResponsePayload(bytes, e)
            if bytes.iter().all(u8::is_ascii_whitespace) =>
        {
            format!("empty response body ({e})")
        }
        SendError::InvalidResponsePayload(bytes, e) => {
            format!("undecodable response: {e}; body: {}", excerpt(bytes))
        }
        SendError::UnexpectedResponse(response) => {
            let mut line = format!("http {} from {}", response.status(), response.url());
            let body = pandapon_gen::error_body(response).unwrap_or_default();
            if let Ok(meta) = serde_json::from_slice::<pandapon_gen::Meta>(body) {
                for (name, value) in [
                    ("code", meta.code.map(|c| c.to_string())),
                    ("msg", meta.msg),
                    ("requestId", meta.request_id),
                ] {
                    if let Some(value) = value {
                        line.push_str(&format!("; {name} {value}"));
                    }
                }
            }
            if !body.is_empty() {
                line.push_str(&format!("; body: {}", excerpt(body)));
            }
            line
        }
        SendError::CommunicationError(e) | SendError::ResponseBodyError(e) => {
            // reqwest's own text is generic ("error decoding response body");
            // the reason is in the sources.
            let mut line = format!("transport error: {e}");
            let mut source = std::error::Error::source(e);
            while let Some(cause) = source {
                line.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            line
        }
        other => other.to_string(),
    }
}

impl CliConfig for Output {
    fn success_item<T>(&self, value: &ResponseValue<T>)
    where
        T: JsonSchema + Serialize + Debug,
    {
        match serde_json::to_value(value.as_ref()) {
            Ok(envelope) => self.envelope(&envelope),
            Err(e) => self.fail(&format!("response cannot be shown as JSON: {e}")),
        }
    }

    fn success_no_item(&self, _value: &ResponseValue<()>) {}

    fn error<T>(&self, value: &SendError<T>)
    where
        T: JsonSchema + Serialize + Debug,
    {
        self.send_error(value);
    }

    // The paginated operations (`paginated` in `pandapon_gen::OPERATIONS`; a test
    // checks the two lists agree): with `--all`, print every item instead.
    fn execute_alibaba_product_keyword_search(
        &self,
        matches: &clap::ArgMatches,
        request: &mut builder::AlibabaProductKeywordSearch,
    ) -> anyhow::Result<()> {
        self.all_items(matches, || request.clone().items())
    }

    fn execute_alibaba_product_image_search(
        &self,
        matches: &clap::ArgMatches,
        request: &mut builder::AlibabaProductImageSearch,
    ) -> anyhow::Result<()> {
        self.all_items(matches, || request.clone().items())
    }

    fn execute_alibaba_product_store_search(
        &self,
        matches: &clap::ArgMatches,
        request: &mut builder::AlibabaProductStoreSearch,
    ) -> anyhow::Result<()> {
        self.all_items(matches, || request.clone().items())
    }

    fn list_start<T>(&self)
    where
        T: JsonSchema + Serialize + Debug,
    {
    }

    fn list_item<T>(&self, _value: &T)
    where
        T: JsonSchema + Serialize + Debug,
    {
    }

    fn list_end_success<T>(&self)
    where
        T: JsonSchema + Serialize + Debug,
    {
    }

    fn list_end_error<T>(&self, value: &SendError<T>)
    where
        T: JsonSchema + Serialize + Debug,
    {
        self.error(value);
    }
}

impl Output {
    /// With `--all`: prints the items of every page as JSON lines (within
    /// `--max-items`/`--max-pages`), stopping at the first failure, and ends
    /// the command with [`AllPagesDone`]. Without it, does nothing.
    fn all_items<'a, P>(
        &self,
        matches: &clap::ArgMatches,
        items: impl FnOnce() -> Items<'a, P>,
    ) -> anyhow::Result<()>
    where
        P: Page,
        P::Item: Serialize + Unpin,
    {
        if !matches
            .try_get_one::<bool>("all")
            .ok()
            .flatten()
            .copied()
            .unwrap_or(false)
        {
            return Ok(());
        }
        let mut items = items();
        if let Some(n) = matches.get_one::<usize>("max-items") {
            items = items.max_items(*n);
        }
        if let Some(n) = matches.get_one::<usize>("max-pages") {
            items = items.max_pages(*n);
        }
        // The hook is synchronous; the command runs on a multi-threaded
        // runtime, so this thread may block on the pages.
        tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(async {
                while let Some(item) =
                    std::future::poll_fn(|cx| std::pin::Pin::new(&mut items).poll_next(cx)).await
                {
                    match item {
                        Ok(item) => match serde_json::to_string(&item) {
                            Ok(line) => println!("{line}"),
                            Err(e) => {
                                return self.fail(&format!("item cannot be shown as JSON: {e}"));
                            }
                        },
                        Err(pandapon_gen::Error::DryRun) => return,
                        Err(e) => return self.fail(&format!("{e} [{}]", e.outcome())),
                    }
                }
            });
        });
        Err(AllPagesDone.into())
    }

    /// Prints a raw call's failure with its outcome (nothing for a dry
    /// run's stop).
    pub fn send_error<T: Debug>(&self, value: &SendError<T>) {
        if !pandapon_gen::is_dry_run_stop(value) {
            let outcome = pandapon_gen::Outcome::of_send_error(value);
            self.fail(&format!("{} [{outcome}]", describe(value)));
        }
    }

    /// Prints an envelope: pretty JSON on stdout when `code` is 200, else
    /// PandaPon's code, msg and requestId on stderr as a failure.
    pub fn envelope(&self, envelope: &Value) {
        match envelope.get("code").and_then(Value::as_i64) {
            Some(200) => match serde_json::to_string_pretty(envelope) {
                Ok(text) => println!("{text}"),
                Err(e) => self.fail(&format!("response cannot be shown as JSON: {e}")),
            },
            code => {
                let field = |name: &str| match envelope.get(name) {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Null) | None => "<none>".to_owned(),
                    Some(other) => other.to_string(),
                };
                self.fail(&format!(
                    "PandaPon refused the call: code {} msg {:?} requestId {} [{}]",
                    code.map_or("<none>".to_owned(), |c| c.to_string()),
                    field("msg"),
                    field("requestId"),
                    pandapon_gen::Outcome::Refused,
                ));
            }
        }
    }
}
