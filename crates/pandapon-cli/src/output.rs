//! How the commands report: a reply as PandaPon's envelope (pretty JSON) on
//! stdout, `--all` items as JSON lines, and every failure on stderr as one
//! line with its outcome, `[not sent]`, `[refused]` or `[unknown]`.
//!
//! The verdict is the SDK's: every command makes its call through
//! `call()`, so the CLI shows the error and outcome the SDK's classifier
//! gave. Nothing here judges an answer. Everything printed on stderr has its
//! control characters escaped, so that text from a server cannot drive the
//! terminal.

use std::io::Write;

use pandapon_gen::{Error, Items, Page, Reply, Stream};
use serde::Serialize;

/// Prints one failure on stderr, escaped.
pub fn fail(message: &str) {
    eprintln!("error: {}", pandapon_gen::escape_controls(message));
}

/// Prints a call's error with its outcome; a dry run's stop is not a
/// failure (the request was printed instead of sent). Returns whether the
/// command succeeded.
fn report_error(error: &Error) -> bool {
    if matches!(error, Error::DryRun) {
        return true;
    }
    fail(&format!("{error} [{}]", error.outcome()));
    false
}

/// How writing to stdout went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Printed {
    Written,
    /// The reader went away (as with `| head`): stop quietly.
    Closed,
    /// Reported as a failure.
    Failed,
}

/// Writes a value to stdout with `write`, then a newline; buffered, since
/// stdout alone would make a system call for every line of pretty JSON.
fn print(
    write: impl FnOnce(&mut std::io::BufWriter<std::io::StdoutLock<'_>>) -> serde_json::Result<()>,
) -> Printed {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    let written = write(&mut out)
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(out))
        .and_then(|()| out.flush());
    match written {
        Ok(()) => Printed::Written,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Printed::Closed,
        Err(e) => {
            fail(&format!("writing the output: {e}"));
            Printed::Failed
        }
    }
}

/// Reports a call's result: the reply as pretty JSON, or the failure.
/// Returns whether the command succeeded.
pub fn reply<T: Serialize>(result: Result<Reply<T>, Error>) -> bool {
    match result {
        // Written straight from the typed reply: no JSON tree in between.
        Ok(reply) => print(|out| serde_json::to_writer_pretty(out, &reply)) != Printed::Failed,
        Err(error) => report_error(&error),
    }
}

/// `--all` with its caps.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    max_items: Option<usize>,
    max_pages: Option<usize>,
}

impl Paging {
    /// `items` within the caps.
    pub fn apply<P: Page>(self, mut items: Items<'_, P>) -> Items<'_, P> {
        if let Some(n) = self.max_items {
            items = items.max_items(n);
        }
        if let Some(n) = self.max_pages {
            items = items.max_pages(n);
        }
        items
    }
}

/// The paging a paginated command was asked for: `Some` with `--all`.
pub fn paging(matches: &clap::ArgMatches) -> Option<Paging> {
    matches.get_flag("all").then(|| Paging {
        max_items: matches.get_one::<usize>("max-items").copied(),
        max_pages: matches.get_one::<usize>("max-pages").copied(),
    })
}

/// Prints every item as a JSON line, page after page, until the last or
/// the first failure. Returns whether all of them arrived.
pub async fn items<P>(mut items: Items<'_, P>) -> bool
where
    P: Page,
    P::Item: Serialize + Unpin,
{
    while let Some(item) =
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut items).poll_next(cx)).await
    {
        match item {
            Ok(item) => match print(|out| serde_json::to_writer(out, &item)) {
                Printed::Written => {}
                Printed::Closed => return true,
                Printed::Failed => return false,
            },
            Err(error) => return report_error(&error),
        }
    }
    true
}
