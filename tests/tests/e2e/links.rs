//! The documentation points only at what exists: every relative Markdown
//! link resolves to a file or directory of the repository (and its
//! `#anchor` to a heading, when it points into a Markdown file), and every
//! repository path named in backticks (`crates/…`, `docs/…`,
//! `BENCHMARKS.md`) exists.
//!
//! Read: the top-level `*.md` files, `docs/*.md`, `fuzz/*.md` and every
//! `*.md` under `crates/` (the crate READMEs, the guide, the signing
//! vectors' notes). Fenced code blocks are not read; paths with a glob or a
//! placeholder (`*`, `<…>`, `{…}`, `…`, `...`) are not checked, and neither
//! are web links or rustdoc's intra-doc links (`crate::Client`).
//!
//! Every broken link and path is reported at once, as `file:line`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Component, Path, PathBuf};

/// The workspace root: the parent of this package's directory.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests package is inside the workspace")
        .to_path_buf()
}

/// The Markdown files checked, relative to the root, sorted.
fn documents(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for dir in [".", "docs", "fuzz"] {
        let Ok(entries) = fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_file() && path.extension().is_some_and(|e| e == "md") {
                found.push(relative(root, &path));
            }
        }
    }
    walk(root, &root.join("crates"), &mut found);
    found.sort();
    found
}

/// Every `*.md` under `dir`, build output aside.
fn walk(root: &Path, dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                walk(root, &path, found);
            }
        } else if path.extension().is_some_and(|e| e == "md") {
            found.push(relative(root, &path));
        }
    }
}

fn relative(root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(root).unwrap_or(path).to_path_buf()
}

/// The names at the top of the repository (build output and git's own
/// directory aside): what a backticked path must start with to be checked.
fn top_level(root: &Path) -> BTreeSet<String> {
    fs::read_dir(root)
        .expect("the workspace root can be read")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name != "target" && name != ".git")
        .collect()
}

/// `text` with fenced code blocks and HTML comments blanked (their lines
/// kept, so line numbers hold).
fn prose(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut fence: Option<(char, usize)> = None;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let run = |c: char| trimmed.chars().take_while(|&x| x == c).count();
        let opens = ['`', '~']
            .into_iter()
            .map(|c| (c, run(c)))
            .find(|&(_, n)| n >= 3);
        match (fence, opens) {
            (None, Some(open)) => fence = Some(open),
            (Some((c, n)), Some((c2, n2))) if c == c2 && n2 >= n => fence = None,
            (None, None) => {
                out.push_str(line);
                continue;
            }
            _ => {}
        }
        out.push_str(if line.ends_with('\n') { "\n" } else { "" });
    }
    blank_between(&out, "<!--", "-->")
}

/// `text` with everything from each `open` to its `close` replaced by
/// spaces, newlines kept.
fn blank_between(text: &str, open: &str, close: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(open) {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let end = after.find(close).map_or(after.len(), |i| i + close.len());
        out.extend(
            after[..end]
                .chars()
                .map(|c| if c == '\n' { '\n' } else { ' ' }),
        );
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// A code span: where it starts (a byte offset into the text) and what it
/// holds, line breaks read as spaces.
struct Span {
    at: usize,
    code: String,
}

/// The inline code spans of `text` (already without fenced blocks), and
/// `text` with each span blanked, so that nothing inside one reads as a
/// link.
fn code_spans(text: &str) -> (Vec<Span>, String) {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut masked = bytes.to_vec();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'`' {
            i += 1;
            continue;
        }
        let run = bytes[i..].iter().take_while(|&&b| b == b'`').count();
        let start = i + run;
        // The closing run: the same number of backticks, no more.
        let mut j = start;
        let mut close = None;
        while j < bytes.len() {
            if bytes[j] == b'`' {
                let n = bytes[j..].iter().take_while(|&&b| b == b'`').count();
                if n == run {
                    close = Some(j);
                    break;
                }
                j += n;
            } else {
                j += 1;
            }
        }
        let Some(end) = close else {
            i = start;
            continue;
        };
        let code = text[start..end].replace('\n', " ");
        spans.push(Span {
            at: i,
            code: code.trim().to_owned(),
        });
        for b in &mut masked[i..end + run] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
        i = end + run;
    }
    let masked = String::from_utf8(masked).unwrap_or_default();
    (spans, masked)
}

/// The line (from 1) of byte offset `at`.
fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

/// The targets of the inline links and images in `text` (code already
/// blanked), with their offsets: what follows each `](`, up to the
/// matching `)`, without a title.
fn inline_links(text: &str) -> Vec<(usize, String)> {
    let mut links = Vec::new();
    let mut from = 0;
    while let Some(found) = text[from..].find("](") {
        let start = from + found + 2;
        let mut depth = 0;
        let mut end = None;
        for (k, c) in text[start..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' if depth == 0 => {
                    end = Some(start + k);
                    break;
                }
                ')' => depth -= 1,
                '\n' => break,
                _ => {}
            }
        }
        from = start;
        let Some(end) = end else { continue };
        let inner = text[start..end].trim();
        let target = if let Some(angled) = inner.strip_prefix('<') {
            angled.split('>').next().unwrap_or_default()
        } else {
            inner.split_whitespace().next().unwrap_or_default()
        };
        links.push((start, target.to_owned()));
    }
    links
}

/// The targets of reference definitions, `[label]: target`, with their
/// offsets.
fn reference_links(text: &str) -> Vec<(usize, String)> {
    let mut links = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if indent <= 3
            && trimmed.starts_with('[')
            && let Some(close) = trimmed.find("]:")
            && !trimmed[1..close].contains(']')
        {
            let target = trimmed[close + 2..]
                .split_whitespace()
                .next()
                .unwrap_or_default();
            let target = target.trim_start_matches('<').trim_end_matches('>');
            if !target.is_empty() {
                links.push((offset + indent, target.to_owned()));
            }
        }
        offset += line.len();
    }
    links
}

/// Whether `target` is not a file of the repository: a web or mail link,
/// or a rustdoc intra-doc link (`crate::Client`, `Self::call`).
fn not_a_file(target: &str) -> bool {
    let scheme = target.split_once(':').is_some_and(|(s, rest)| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '.' || c == '-')
            && !rest.starts_with(':')
    });
    scheme || target.contains("::") || target.is_empty()
}

/// Whether `target` reads as a Rust path (an intra-doc link such as
/// `Client`), in a file rustdoc renders.
fn rust_path(target: &str) -> bool {
    let path = target.split('#').next().unwrap_or_default();
    !path.is_empty() && path.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `path` with `.` and `..` resolved, without touching the file system.
fn normalise(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            other => out.push(other),
        }
    }
    Some(out)
}

/// The GitHub anchor of a heading's text: lower case, punctuation dropped
/// (but `-` and `_`), spaces as `-`, inline code and link markup read as
/// their text.
fn slug(heading: &str) -> String {
    let mut text = String::new();
    let mut rest = heading;
    // `[text](url)` reads as `text`.
    while let Some(open) = rest.find('[') {
        let Some(mid) = rest[open..].find("](") else {
            break;
        };
        let Some(close) = rest[open + mid..].find(')') else {
            break;
        };
        text.push_str(&rest[..open]);
        text.push_str(&rest[open + 1..open + mid]);
        rest = &rest[open + mid + close + 1..];
    }
    text.push_str(rest);
    text.trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors a Markdown file offers: its headings' slugs (a repeated one
/// numbered, as GitHub does) and the `id`s and `name`s of its HTML tags.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    for line in prose(text).lines() {
        let trimmed = line.trim_start();
        let hashes = trimmed.chars().take_while(|&c| c == '#').count();
        if (1..=6).contains(&hashes) && trimmed[hashes..].starts_with(' ') {
            let heading = trimmed[hashes..].trim().trim_end_matches('#').trim();
            let base = slug(heading);
            let n = seen.entry(base.clone()).or_insert(0);
            out.insert(if *n == 0 {
                base.clone()
            } else {
                format!("{base}-{n}")
            });
            *n += 1;
        }
        for attr in ["id=\"", "name=\""] {
            let mut rest = line;
            while let Some(at) = rest.find(attr) {
                let value = &rest[at + attr.len()..];
                let end = value.find('"').unwrap_or(value.len());
                out.insert(value[..end].to_owned());
                rest = &value[end..];
            }
        }
    }
    out
}

/// Everything broken in the document `file` (relative to `root`) whose
/// text is `text`, one `file:line: …` each.
fn check(root: &Path, top: &BTreeSet<String>, file: &Path, text: &str) -> Vec<String> {
    let mut broken = Vec::new();
    let shown = file.display();
    let dir = file.parent().unwrap_or(Path::new(""));
    // Files rustdoc renders, whose bare names are intra-doc links.
    let rendered = file.starts_with("crates");
    let (spans, masked) = code_spans(&prose(text));

    let mut links = inline_links(&masked);
    links.extend(reference_links(&masked));
    links.sort();
    for (at, target) in links {
        if not_a_file(&target) || (rendered && rust_path(&target)) {
            continue;
        }
        let line = line_of(&masked, at);
        let (path, anchor) = match target.split_once('#') {
            Some((path, anchor)) => (path, Some(anchor)),
            None => (target.as_str(), None),
        };
        let path = path.replace("%20", " ");
        if path.is_empty() {
            // An anchor in this page.
            if let Some(anchor) = anchor.filter(|a| !anchors(text).contains(*a)) {
                broken.push(format!(
                    "{shown}:{line}: link to `{target}`: {shown} has no heading `#{anchor}`"
                ));
            }
            continue;
        }
        let resolved = if let Some(from_root) = path.strip_prefix('/') {
            normalise(Path::new(from_root))
        } else {
            normalise(&dir.join(&path))
        };
        let Some(resolved) = resolved.filter(|p| root.join(p).exists()) else {
            broken.push(format!(
                "{shown}:{line}: link to `{target}`: no such file or directory"
            ));
            continue;
        };
        let Some(anchor) = anchor.filter(|a| !a.is_empty()) else {
            continue;
        };
        if resolved.extension().is_some_and(|e| e == "md") {
            let target_text = fs::read_to_string(root.join(&resolved)).unwrap_or_default();
            if !anchors(&target_text).contains(anchor) {
                broken.push(format!(
                    "{shown}:{line}: link to `{target}`: {} has no heading `#{anchor}`",
                    resolved.display()
                ));
            }
        }
    }

    for span in spans {
        let code = span.code.as_str();
        if ["*", "<", "{", "…", "..."].iter().any(|p| code.contains(p)) {
            continue;
        }
        // A location inside a file, `path:12` or `path#anchor`, names the file.
        let path = code.split('#').next().unwrap_or_default();
        let path = match path.rsplit_once(':') {
            Some((file, line)) if !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit()) => {
                file
            }
            _ => path,
        };
        let first = path.split('/').next().unwrap_or_default();
        let named = if path.contains('/') {
            top.contains(first)
        } else {
            // A top-level document named on its own: `BENCHMARKS.md`.
            path.strip_suffix(".md").is_some_and(|stem| {
                !stem.is_empty()
                    && stem
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b == b'_' || b == b'-')
            })
        };
        if named && !root.join(path).exists() {
            let line = line_of(&masked, span.at);
            broken.push(format!(
                "{shown}:{line}: `{code}`: no such file or directory"
            ));
        }
    }
    broken
}

#[test]
fn every_link_and_path_in_the_documentation_exists() {
    let root = root();
    let top = top_level(&root);
    let documents = documents(&root);
    assert!(
        documents.iter().any(|d| d == Path::new("README.md"))
            && documents.iter().any(|d| d.starts_with("docs"))
            && documents.iter().any(|d| d.starts_with("crates")),
        "the documents were not found under {}: {documents:?}",
        root.display()
    );
    let mut broken = Vec::new();
    for file in &documents {
        let text = fs::read_to_string(root.join(file))
            .unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
        broken.extend(check(&root, &top, file, &text));
    }
    assert!(
        broken.is_empty(),
        "{} broken links or paths in the documentation:\n{}",
        broken.len(),
        broken.join("\n")
    );
}

#[test]
fn the_check_finds_what_is_broken() {
    let root = root();
    let top = top_level(&root);
    let text = "\
# A page

A [good link](../README.md), a [good anchor](architecture.md#layout) and a
[link in this page](#a-page); a [web link](https://example.com) and an
[intra-doc link](crate::Client).

A [missing file](missing.md), a [missing
anchor](architecture.md#no-such-heading), and [another](#nowhere).

Paths: `docs/architecture.md` is there, `crates/*/README.md` is a glob,
`docs/no-such-page.md` is not, and neither is `NO_SUCH_FILE.md`;
`cargo test -p pandapon-tests` is a command.

```text
[in a code block](not-checked.md) `docs/not-checked.md`
```
";
    let broken = check(&root, &top, Path::new("docs/example.md"), text);
    let expected = [
        "docs/example.md:7: link to `missing.md`: no such file or directory",
        "docs/example.md:8: link to `architecture.md#no-such-heading`: docs/architecture.md has no heading `#no-such-heading`",
        "docs/example.md:8: link to `#nowhere`: docs/example.md has no heading `#nowhere`",
        "docs/example.md:11: `docs/no-such-page.md`: no such file or directory",
        "docs/example.md:11: `NO_SUCH_FILE.md`: no such file or directory",
    ];
    assert_eq!(broken, expected);
}

#[test]
fn slugs_follow_github() {
    assert_eq!(
        slug("Restraint in a brownout: the retry budget"),
        "restraint-in-a-brownout-the-retry-budget"
    );
    assert_eq!(
        slug("The `pages()` stream, [linked](x.md)"),
        "the-pages-stream-linked"
    );
    assert_eq!(slug("snake_case and-dashes"), "snake_case-and-dashes");
    let twice = anchors("# Same\n\n## Same\n");
    assert!(twice.contains("same") && twice.contains("same-1"));
}

// ------------------------------------------------------ no real PandaPon

/// The Rust files of the tests, benchmarks and test examples: where a
/// client that reached the real PandaPon would be a test calling it.
fn test_sources(root: &Path) -> Vec<PathBuf> {
    fn rs_files(dir: &Path, found: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                rs_files(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    for dir in [
        "tests/src",
        "tests/tests",
        "tests/benches",
        "tests/examples",
    ] {
        rs_files(&root.join(dir), &mut found);
    }
    for entry in fs::read_dir(root.join("crates")).expect("crates").flatten() {
        rs_files(&entry.path().join("tests"), &mut found);
    }
    found.sort();
    found
}

/// Where `text` builds an SDK client without naming a base URL, or names a
/// way to the real server (the environment's settings, the default URL, the
/// real host). Each `Client::builder(` must name `base_url(` before its
/// statement ends (the `;` or the `build()` that ends the chain).
fn real_server_uses(text: &str) -> Vec<usize> {
    let mut found = Vec::new();
    for (at, _) in text.match_indices("Client::builder(") {
        if text[..at].ends_with("reqwest::") {
            continue;
        }
        let rest = &text[at..];
        let end = [rest.find(';'), rest.find(".build()")]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(rest.len());
        if !rest[..end].contains("base_url(") {
            found.push(line_of(text, at));
        }
    }
    for needle in ["from_env(", "DEFAULT_BASE_URL", "api.pandapon.com"] {
        found.extend(text.match_indices(needle).map(|(at, _)| line_of(text, at)));
    }
    found.sort_unstable();
    found
}

/// No test reaches the real PandaPon: every client a test, benchmark or
/// test example builds names a local base URL, and none reads the
/// environment's settings or names the real server. (The processes the
/// tests start run with the `PANDAPON_*` variables removed:
/// `pandapon_tests::process::scrubbed`.)
#[test]
fn no_test_builds_a_client_for_the_real_pandapon() {
    let root = root();
    let sources = test_sources(&root);
    assert!(sources.len() > 20, "{sources:?}");
    let mut uses = Vec::new();
    // This file names what it looks for.
    for path in sources
        .iter()
        .filter(|p| !p.ends_with("tests/tests/e2e/links.rs"))
    {
        let text = fs::read_to_string(path).expect("readable");
        for line in real_server_uses(&text) {
            uses.push(format!("{}:{line}", relative(&root, path).display()));
        }
    }
    assert!(
        uses.is_empty(),
        "clients that may reach the real PandaPon:\n{}",
        uses.join("\n")
    );
    // The check sees what it is for.
    let local = "let c = Client::builder(creds())\n    .base_url(url)\n    .build();";
    assert!(real_server_uses(local).is_empty());
    let real = "let c = Client::builder(creds())\n    .timeout(t)\n    .build();\nlet d = Client::from_env();";
    assert_eq!(real_server_uses(real), [1, 4]);
}
