//! Streams over every page of a paginated operation, and over the items on
//! those pages: each page is the next call, made only when the stream is
//! polled for it.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use crate::{Error, PagingError, Reply};

/// The `data` of a paginated operation: one page of items with PandaPon's
/// page info. Implemented by `cargo xtask codegen` for the operations the
/// spec marks `x-pandapon-paginated`.
pub trait Page: serde::Serialize {
    /// One item on the page.
    type Item;
    /// `totalPage`, when the server sent it.
    fn total_pages(&self) -> Option<i64>;
    /// The items, in order.
    fn items(&self) -> &[Self::Item];
    /// How many items this page holds.
    fn item_count(&self) -> usize {
        self.items().len()
    }
    /// The items, in order, taken out of the page.
    fn into_items(self) -> Vec<Self::Item>;
}

/// The most pages a stream asks for unless told otherwise
/// ([`Pages::max_pages`], the CLI's `--max-pages`): at PandaPon's usual 20 to
/// 50 items a page, 20,000 to 50,000 items. A stream that reaches it with
/// pages left ends with [`PagingError::CapReached`](crate::PagingError::CapReached).
pub const DEFAULT_MAX_PAGES: usize = 1_000;

/// A fingerprint of a page, to tell a page that repeats the one before it
/// whole, its page info included (a server that ignores the page number).
fn fingerprint<T: serde::Serialize + ?Sized>(page: &T) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let bytes = serde_json::to_vec(page).ok()?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut hasher);
    Some(hasher.finish())
}

/// One page's call.
type PageCall<'a, P> = Pin<Box<dyn Future<Output = Result<Reply<P>, Error>> + Send + 'a>>;
/// Makes the call for a page number.
type Fetch<'a, P> = Box<dyn FnMut(i64) -> PageCall<'a, P> + Send + 'a>;

/// Every page of a paginated operation, as a [`Stream`] of replies.
///
/// It asks for the next page after the last one it yielded, and ends after
/// the last page: the page numbered `totalPage`, or, when the server sends no
/// `totalPage`, the first page with no items. Each page is a read-only call,
/// retried as reads are. A page that fails ends the stream with its error,
/// after the pages already yielded; nothing is skipped.
///
/// A server cannot keep it going for ever. It ends with
/// [`Error::Paging`] when a page is the page before it again, items and page
/// info alike ([`PagingError::Repeated`](crate::PagingError::Repeated): the
/// page number is ignored), when a page's counts cannot be right (a negative
/// `totalPage`, or items on a page past `totalPage`:
/// [`PagingError::ImpossibleCount`](crate::PagingError::ImpossibleCount)),
/// and when it has asked for its cap of pages ([`DEFAULT_MAX_PAGES`], or
/// [`max_pages`](Self::max_pages)) and the server says more remain
/// ([`PagingError::CapReached`](crate::PagingError::CapReached)).
///
/// # Cancel safety
///
/// The stream holds the call of at most one page. Dropping the future of
/// `next()` (in a `select!` or under a timeout) keeps that call in the
/// stream: polling the stream again goes on with the same page, so no page
/// is skipped or asked for twice. Dropping the stream drops the page's call;
/// pages are reads, so asking for that page again is harmless.
#[must_use = "a stream does nothing unless polled"]
pub struct Pages<'a, P> {
    fetch: Fetch<'a, P>,
    next: Option<i64>,
    in_flight: Option<PageCall<'a, P>>,
    /// The cap on pages asked for.
    cap: usize,
    /// Pages asked for so far.
    asked: usize,
    /// The fingerprint of the last page with items.
    previous: Option<u64>,
    /// Why the stream ends, yielded after the page that showed it.
    ending: Option<PagingError>,
}

impl<P> std::fmt::Debug for Pages<'_, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pages")
            .field("next", &self.next)
            .field("in_flight", &self.in_flight.is_some())
            .field("cap", &self.cap)
            .field("asked", &self.asked)
            .finish()
    }
}

impl<'a, P: Page> Pages<'a, P> {
    /// Pages from `first`, each fetched by `fetch(page_number)`.
    #[doc(hidden)]
    pub fn new(first: i64, fetch: impl FnMut(i64) -> PageCall<'a, P> + Send + 'a) -> Self {
        Self {
            fetch: Box::new(fetch),
            next: Some(first),
            in_flight: None,
            cap: DEFAULT_MAX_PAGES,
            asked: 0,
            previous: None,
            ending: None,
        }
    }

    /// Asks for `n` pages at most (instead of [`DEFAULT_MAX_PAGES`]); if
    /// the server says more remain after them, the stream ends with
    /// [`PagingError::CapReached`](crate::PagingError::CapReached).
    pub fn max_pages(mut self, n: usize) -> Self {
        self.cap = n;
        self
    }

    /// The items of every page, in order. It takes over this stream and any
    /// page call in progress, so nothing is asked for twice (see
    /// [`Items`]'s `# Cancel safety`).
    pub fn items(self) -> Items<'a, P> {
        Items {
            pages: self,
            buffer: VecDeque::new(),
            items_left: None,
        }
    }
}

impl<P: Page> Stream for Pages<'_, P> {
    type Item = Result<Reply<P>, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(ending) = this.ending.take() {
            return Poll::Ready(Some(Err(ending.into())));
        }
        if this.in_flight.is_none() {
            let Some(page) = this.next else {
                return Poll::Ready(None);
            };
            if this.asked >= this.cap {
                this.next = None;
                let pages = this.cap;
                return Poll::Ready(Some(Err(PagingError::CapReached { pages }.into())));
            }
            this.asked += 1;
            this.in_flight = Some((this.fetch)(page));
        }
        let Some(call) = this.in_flight.as_mut() else {
            return Poll::Ready(None);
        };
        let result = std::task::ready!(call.as_mut().poll(cx));
        this.in_flight = None;
        let page = this.next.take().unwrap_or_default();
        if let Ok(reply) = &result {
            let items = reply.data.item_count();
            let total = reply.data.total_pages();
            if let Some(total) = total
                && (total < 0 || (items > 0 && page > total))
            {
                // Its items are yielded; the stream ends after them.
                this.ending = Some(PagingError::ImpossibleCount { page, total, items });
                return Poll::Ready(Some(result));
            }
            if items > 0 {
                let seen = fingerprint(&reply.data);
                if seen.is_some() && seen == this.previous {
                    let previous = page.saturating_sub(1);
                    return Poll::Ready(Some(Err(PagingError::Repeated { page, previous }.into())));
                }
                this.previous = seen;
            }
            let last = match total {
                // An empty page ends it too: a server whose totals run ahead
                // of its data must not make the stream spin.
                Some(total) => page >= total || items == 0,
                None => items == 0,
            };
            if !last {
                this.next = page.checked_add(1);
            }
        }
        Poll::Ready(Some(result))
    }
}

/// The items of every page of a paginated operation, as a [`Stream`]: see
/// [`Pages`] for when it asks for the next page and when it ends. A failed
/// page is yielded as an error after the items before it.
///
/// # Cancel safety
///
/// As for [`Pages`]: dropping the future of `next()` loses nothing (the
/// items of a page already fetched wait in the stream, and a page being
/// fetched goes on when the stream is polled again); dropping the stream
/// drops the items it held and the page call in progress.
#[must_use = "a stream does nothing unless polled"]
pub struct Items<'a, P: Page> {
    pages: Pages<'a, P>,
    buffer: VecDeque<P::Item>,
    items_left: Option<usize>,
}

impl<P: Page> std::fmt::Debug for Items<'_, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Items")
            .field("pages", &self.pages)
            .field("buffered", &self.buffer.len())
            .field("items_left", &self.items_left)
            .finish()
    }
}

impl<P: Page> Items<'_, P> {
    /// Stops after `n` items at most, fetching no page beyond the one that
    /// holds the last of them.
    pub fn max_items(mut self, n: usize) -> Self {
        self.items_left = Some(n);
        self
    }

    /// Asks for `n` pages at most (see [`Pages::max_pages`]).
    pub fn max_pages(mut self, n: usize) -> Self {
        self.pages = self.pages.max_pages(n);
        self
    }
}

impl<P: Page> Stream for Items<'_, P>
where
    P::Item: Unpin,
{
    type Item = Result<P::Item, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if this.items_left == Some(0) {
                return Poll::Ready(None);
            }
            if let Some(item) = this.buffer.pop_front() {
                if let Some(left) = this.items_left.as_mut() {
                    *left -= 1;
                }
                return Poll::Ready(Some(Ok(item)));
            }
            match std::task::ready!(Pin::new(&mut this.pages).poll_next(cx)) {
                Some(Ok(reply)) => this.buffer.extend(reply.data.into_items()),
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => return Poll::Ready(None),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A page of numbers, with or without totals.
    #[derive(Debug, serde::Serialize)]
    struct Numbers(Vec<u32>, Option<i64>);

    impl Page for Numbers {
        type Item = u32;
        fn total_pages(&self) -> Option<i64> {
            self.1
        }
        fn items(&self) -> &[u32] {
            &self.0
        }
        fn into_items(self) -> Vec<u32> {
            self.0
        }
    }

    fn reply(data: Numbers) -> Reply<Numbers> {
        Reply {
            data,
            request_id: None,
            develop_id: None,
            msg: None,
        }
    }

    /// A stream over `book` (page number → answer), and the pages asked for.
    fn stream(
        book: fn(i64) -> Result<Numbers, Error>,
    ) -> (Pages<'static, Numbers>, Arc<Mutex<Vec<i64>>>) {
        let asked = Arc::new(Mutex::new(Vec::new()));
        let log = asked.clone();
        let pages = Pages::new(1, move |page| {
            log.lock().expect("lock").push(page);
            Box::pin(async move { book(page).map(reply) })
        });
        (pages, asked)
    }

    async fn collect<S: Stream + Unpin>(mut s: S) -> Vec<S::Item> {
        let mut out = Vec::new();
        while let Some(item) = std::future::poll_fn(|cx| Pin::new(&mut s).poll_next(cx)).await {
            out.push(item);
        }
        out
    }

    fn ok(items: Vec<Result<u32, Error>>) -> Vec<u32> {
        items.into_iter().map(|i| i.expect("item")).collect()
    }

    #[tokio::test]
    async fn stops_at_total_pages() {
        let (pages, asked) =
            stream(|p| Ok(Numbers(vec![p as u32 * 10, p as u32 * 10 + 1], Some(3))));
        assert_eq!(ok(collect(pages.items()).await), [10, 11, 20, 21, 30, 31]);
        assert_eq!(*asked.lock().expect("lock"), [1, 2, 3]);
    }

    #[tokio::test]
    async fn without_totals_stops_at_the_first_empty_page() {
        let (pages, asked) =
            stream(|p| Ok(Numbers(if p < 3 { vec![p as u32] } else { vec![] }, None)));
        let all = collect(pages).await;
        assert_eq!(all.len(), 3, "the empty page is yielded, then the end");
        assert_eq!(*asked.lock().expect("lock"), [1, 2, 3]);
    }

    #[tokio::test]
    async fn a_failed_page_ends_the_stream_after_what_came_before() {
        let (pages, asked) = stream(|p| {
            if p == 2 {
                Err(Error::InvalidRequest("page 2 failed".into()))
            } else {
                Ok(Numbers(vec![p as u32], Some(5)))
            }
        });
        let all = collect(pages.items()).await;
        assert_eq!(all.len(), 2);
        assert_eq!(*all[0].as_ref().expect("page 1"), 1);
        assert!(matches!(&all[1], Err(Error::InvalidRequest(m)) if m == "page 2 failed"));
        assert_eq!(*asked.lock().expect("lock"), [1, 2]);
    }

    #[tokio::test]
    async fn caps_fetch_no_page_beyond_them() {
        let (pages, asked) = stream(|p| Ok(Numbers(vec![p as u32; 3], Some(100))));
        assert_eq!(ok(collect(pages.items().max_items(4)).await), [1, 1, 1, 2]);
        assert_eq!(*asked.lock().expect("lock"), [1, 2]);

        // A cap with pages left ends the stream with an error that says so.
        let (pages, asked) = stream(|p| Ok(Numbers(vec![p as u32], Some(100))));
        let all = collect(pages.max_pages(3)).await;
        assert_eq!(all.len(), 4);
        assert!(all[..3].iter().all(Result::is_ok));
        assert!(
            matches!(
                &all[3],
                Err(Error::Paging(PagingError::CapReached { pages: 3 }))
            ),
            "{:?}",
            all[3]
        );
        assert_eq!(*asked.lock().expect("lock"), [1, 2, 3]);
        // A cap the last page meets ends it quietly.
        let (pages, _) = stream(|p| Ok(Numbers(vec![p as u32], Some(3))));
        assert!(collect(pages.max_pages(3)).await.iter().all(Result::is_ok));
    }

    #[tokio::test]
    async fn a_pager_that_never_ends_stops_at_the_default_cap() {
        // Every page new, every page saying there are more.
        let (pages, asked) = stream(|p| Ok(Numbers(vec![p as u32], None)));
        let all = collect(pages.items()).await;
        assert_eq!(all.len(), DEFAULT_MAX_PAGES + 1);
        let e = all.last().expect("last").as_ref().expect_err("the cap");
        assert!(matches!(
            e,
            Error::Paging(PagingError::CapReached {
                pages: DEFAULT_MAX_PAGES
            })
        ));
        assert!(
            e.to_string().contains("stopped after 1000 pages, the cap"),
            "{e}"
        );
        assert_eq!(e.outcome(), crate::Outcome::NotSent);
        assert_eq!(asked.lock().expect("lock").len(), DEFAULT_MAX_PAGES);
    }

    #[tokio::test]
    async fn a_page_that_repeats_the_one_before_ends_the_stream() {
        // A server that ignores the page number: page 1 for ever.
        let (pages, asked) = stream(|_| Ok(Numbers(vec![7, 8], Some(50))));
        let all = collect(pages.items()).await;
        assert_eq!(all.len(), 3, "{all:?}");
        assert!(matches!(&all[..2], [Ok(7), Ok(8)]), "{all:?}");
        let e = all[2].as_ref().expect_err("repeat");
        assert!(
            matches!(
                e,
                Error::Paging(PagingError::Repeated {
                    page: 2,
                    previous: 1
                })
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains("page 2 repeats page 1"), "{e}");
        assert_eq!(*asked.lock().expect("lock"), [1, 2]);
    }

    #[tokio::test]
    async fn counts_that_cannot_be_right_end_the_stream() {
        // The page's items come, then the reason the stream ends.
        let (pages, asked) = stream(|_| Ok(Numbers(vec![1], Some(-3))));
        let all = collect(pages).await;
        assert_eq!(all.len(), 2, "{all:?}");
        assert!(all[0].is_ok());
        assert!(
            matches!(
                &all[1],
                Err(Error::Paging(PagingError::ImpossibleCount {
                    page: 1,
                    total: -3,
                    items: 1
                }))
            ),
            "{all:?}"
        );
        assert_eq!(*asked.lock().expect("lock"), [1]);
        // Items on page 3 of a stream whose totals shrank to 2.
        let (pages, asked) =
            stream(|p| Ok(Numbers(vec![p as u32], Some(if p < 3 { 5 } else { 2 }))));
        let all = collect(pages.items()).await;
        assert_eq!(all.len(), 4);
        assert!(matches!(&all[..3], [Ok(1), Ok(2), Ok(3)]), "{all:?}");
        assert!(matches!(
            &all[3],
            Err(Error::Paging(PagingError::ImpossibleCount {
                page: 3,
                total: 2,
                ..
            }))
        ));
        assert_eq!(*asked.lock().expect("lock"), [1, 2, 3]);
    }

    #[tokio::test]
    async fn totals_that_run_ahead_of_the_data_do_not_spin() {
        let (pages, asked) = stream(|p| {
            Ok(Numbers(
                if p == 1 { vec![1] } else { vec![] },
                Some(1_000_000),
            ))
        });
        assert_eq!(collect(pages).await.len(), 2);
        assert_eq!(*asked.lock().expect("lock"), [1, 2]);
    }
}
