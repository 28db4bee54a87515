//! How the commands report: a reply as PandaPon's envelope (pretty JSON) on
//! stdout, `--all` items as JSON lines, and every failure on stderr as one
//! line with its outcome, `[not sent]`, `[refused]` or `[unknown]`.
//!
//! The verdict is the SDK's: every command makes its call through
//! `call()`, so the CLI shows the error and outcome the SDK's classifier
//! gave. Nothing here judges an answer. Text from a server cannot drive or
//! deceive the terminal: stdout's JSON writes control, bidirectional,
//! separator and invisible characters as `\u` escapes (the same JSON
//! value), and stderr escapes them too and shows at most 4 KiB of a
//! message.

use std::io::Write;

use pandapon_gen::{Error, Items, Page, Reply, Stream};
use serde::Serialize;

/// Prints one failure on stderr: escaped, and at most 4 KiB of it, with a
/// note of what was cut (`pandapon_gen::escape_shown`).
pub fn fail(message: &str) {
    eprintln!("error: {}", pandapon_gen::escape_shown(message));
}

/// serde_json's formatter `F`, writing every character
/// `pandapon_gen::is_unsafe_char` names (C0, DEL, C1, the bidirectional
/// controls, line and paragraph separators, invisible characters) as a
/// `\uXXXX` escape: the JSON is the same value, and text from a server
/// cannot drive or deceive the terminal it is shown on. serde_json escapes
/// C0 itself; the rest arrives here as string fragments.
struct Safe<F>(F);

impl<F: serde_json::ser::Formatter> serde_json::ser::Formatter for Safe<F> {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut start = 0;
        for (at, c) in fragment.char_indices() {
            if pandapon_gen::is_unsafe_char(c) {
                writer.write_all(&fragment.as_bytes()[start..at])?;
                // JSON's escapes are UTF-16 units: a character past the
                // Basic Multilingual Plane (a tag character) is two.
                let mut units = [0; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(writer, "\\u{:04x}", unit)?;
                }
                start = at + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// Writes `value` as JSON (pretty, or one line) with the unsafe characters
/// escaped (see `Safe`).
pub fn write_json<W: Write, T: Serialize + ?Sized>(
    out: W,
    value: &T,
    pretty: bool,
) -> serde_json::Result<()> {
    if pretty {
        let formatter = Safe(serde_json::ser::PrettyFormatter::new());
        value.serialize(&mut serde_json::Serializer::with_formatter(out, formatter))
    } else {
        let formatter = Safe(serde_json::ser::CompactFormatter);
        value.serialize(&mut serde_json::Serializer::with_formatter(out, formatter))
    }
}

/// `value` as one line of JSON, the unsafe characters escaped.
pub fn json_line<T: Serialize + ?Sized>(value: &T) -> String {
    let mut out = Vec::new();
    // Writing to a Vec fails only if `value` cannot be serialized, which a
    // JSON value always can.
    let _ = write_json(&mut out, value, false);
    String::from_utf8(out).unwrap_or_default()
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
        Ok(reply) => print(|out| write_json(out, &reply, true)) != Printed::Failed,
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
            Ok(item) => match print(|out| write_json(out, &item, false)) {
                Printed::Written => {}
                Printed::Closed => return true,
                Printed::Failed => return false,
            },
            Err(error) => return report_error(&error),
        }
    }
    true
}
