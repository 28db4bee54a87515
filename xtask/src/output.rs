//! How xtask writes to standard output: a reader that goes away (`| head`)
//! ends the output quietly instead of failing the task.

use std::io::Write as _;

/// Writes `text` to standard output. When the reader has gone away
/// (`cargo xtask spec-diff | head`), the output ends there, quietly: the
/// error is [`ReaderGone`], which `main` turns into a clean exit.
pub fn say(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(ReaderGone.into()),
        other => Ok(other?),
    }
}

/// Like [`say`], for progress lines: when no one reads them any more, the
/// work goes on (`cargo xtask codegen | head -1` still writes every file).
pub fn note(text: &str) -> anyhow::Result<()> {
    match say(text) {
        Err(e) if e.is::<ReaderGone>() => Ok(()),
        other => other,
    }
}

/// Standard output was closed by its reader.
#[derive(Debug)]
pub struct ReaderGone;

impl std::fmt::Display for ReaderGone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("standard output was closed")
    }
}

impl std::error::Error for ReaderGone {}
