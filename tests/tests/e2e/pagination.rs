//! `pages()` and `items()` on the paginated operations, against local
//! servers that check every page's signature: several pages, an empty last
//! page, a page that fails once and is retried, and one that fails for good.

use futures_util::StreamExt;
use pandapon_gen::{Error, OPERATIONS, types};
use pandapon_httpmock::Fault;
use pandapon_httpmock::httpmock::Method::POST;
use pandapon_httpmock::success;
use pandapon_tests::{Harness, start_fake};
use serde_json::{Value, json};

const KEYWORD: &str = "/v2/alibaba/product/keywords/query";
const STORE: &str = "/v2/alibaba/product/query/selleroffer";
const IMAGE: &str = "/v2/alibaba/product/image/query";

/// One product item as 1688 keyword search returns it.
fn product(id: u64) -> Value {
    json!({"offerId": id, "subject": format!("product {id}")})
}

/// Mounts `page` of `path` (matched on the body's beginPage) answering `data`.
async fn page(h: &Harness, path: &str, number: i64, data: Value) {
    let signed = h.check.signed();
    h.server
        .mock_async(|when, then| {
            when.method(POST)
                .path(path)
                .json_body_includes(json!({"beginPage": number}).to_string())
                .is_true(signed);
            then.status(200).json_body(success(data));
        })
        .await;
}

#[test]
fn the_paginated_operations_are_the_three_1688_searches() {
    let paginated: Vec<&str> = OPERATIONS
        .iter()
        .filter(|op| op.paginated)
        .map(|op| op.id)
        .collect();
    assert_eq!(
        paginated,
        [
            "alibaba_product_image_search",
            "alibaba_product_keyword_search",
            "alibaba_product_store_search"
        ]
    );
}

#[tokio::test]
async fn items_follow_total_page_and_every_page_is_signed() {
    let h = Harness::start().await;
    for n in 1..=3 {
        let items: Vec<Value> = (0..2).map(|i| product(n as u64 * 10 + i)).collect();
        let data = json!({"totalPage": 3, "currentPage": n, "pageSize": 2, "totalRecords": 6, "data": items});
        page(&h, KEYWORD, n, data).await;
    }
    let client = h.client();
    let items: Vec<types::AlibabaProductListItem> = client
        .alibaba_product_keyword_search()
        .body(
            types::AlibabaProductKeywordSearchRequest::builder()
                .keyword("男鞋".to_owned())
                .page_size(2),
        )
        .items()
        .map(|item| item.expect("every page answers"))
        .collect()
        .await;
    let subjects: Vec<&str> = items
        .iter()
        .map(|i| i.subject.as_deref().expect("subject"))
        .collect();
    assert_eq!(
        subjects,
        [
            "product 10",
            "product 11",
            "product 20",
            "product 21",
            "product 30",
            "product 31"
        ]
    );
    // Fields the spec does not type are kept.
    assert_eq!(items[0].extra["offerId"], 10);
    let seen = h.check.seen();
    assert_eq!(seen.len(), 3, "one request per page: {seen:?}");
    assert!(seen.iter().all(|s| s.verdict.is_ok()), "{seen:?}");
}

#[tokio::test]
async fn image_search_pages_too() {
    let h = Harness::start().await;
    for n in 1..=2 {
        let data = json!({"totalPage": 2, "data": [product(n as u64)]});
        page(&h, IMAGE, n, data).await;
    }
    let client = h.client();
    let pages: Vec<_> = client
        .alibaba_product_image_search()
        .body(
            types::AlibabaProductImageSearchRequest::builder().image_base64("aGVsbG8=".to_owned()),
        )
        .pages()
        .collect()
        .await;
    let numbers: Vec<usize> = pages
        .into_iter()
        .map(|p| p.expect("page").data.data.map_or(0, |d| d.len()))
        .collect();
    assert_eq!(numbers, [1, 1]);
    assert_eq!(h.check.seen().len(), 2);
}

#[tokio::test]
async fn without_totals_an_empty_page_ends_the_stream() {
    let h = Harness::start().await;
    page(&h, STORE, 1, json!({"data": [{"a": 1}, {"a": 2}]})).await;
    page(&h, STORE, 2, json!({"data": [{"a": 3}]})).await;
    page(&h, STORE, 3, json!({"data": []})).await;
    let client = h.client();
    let pages: Vec<_> = client
        .alibaba_product_store_search()
        .body(types::AlibabaProductStoreSearchRequest::builder().keyword("鞋".to_owned()))
        .pages()
        .collect()
        .await;
    assert_eq!(pages.len(), 3, "two full pages and the empty one");
    let counts: Vec<usize> = pages
        .into_iter()
        .map(|p| p.expect("page").data.data.map_or(0, |d| d.len()))
        .collect();
    assert_eq!(counts, [2, 1, 0]);
    assert_eq!(h.check.seen().len(), 3);
}

#[tokio::test]
async fn the_stream_starts_at_the_body_s_page_and_caps_items() {
    let h = Harness::start().await;
    for n in 4..=6 {
        let items: Vec<Value> = (0..3).map(|i| product(n as u64 * 10 + i)).collect();
        page(&h, KEYWORD, n, json!({"totalPage": 9, "data": items})).await;
    }
    let client = h.client();
    let items: Vec<_> = client
        .alibaba_product_keyword_search()
        .body(types::AlibabaProductKeywordSearchRequest::builder().begin_page(4))
        .items()
        .max_items(4)
        .collect()
        .await;
    assert_eq!(items.len(), 4);
    assert_eq!(h.check.seen().len(), 2, "no page beyond the fourth item's");
}

/// How many items the fake's page holds: the documented example of keyword
/// search (its totalPage is 401, so only a cap or a failure ends the stream).
fn example_items() -> usize {
    let operation = pandapon_gen::operation("alibaba_product_keyword_search").expect("operation");
    let route = pandapon_httpmock::Route::of(operation);
    let answer = route.answer();
    assert_eq!(answer["data"]["totalPage"], 401);
    answer["data"]["data"].as_array().expect("items").len()
}

#[tokio::test]
async fn a_page_that_fails_once_is_retried() {
    // Page 1 passes, page 2's first attempt gets a 503.
    let (_fake, check, client) = start_fake(|fake| {
        fake.faults([
            Fault::Delay(std::time::Duration::ZERO),
            Fault::Status(503, None),
        ])
    })
    .await;
    let items: Vec<_> = client
        .alibaba_product_keyword_search()
        .body(types::AlibabaProductKeywordSearchRequest::builder().keyword("x".to_owned()))
        .items()
        .max_pages(2)
        .collect()
        .await;
    assert!(example_items() > 0);
    // Two pages of items, then the cap, with pages left, says so.
    assert_eq!(items.len(), 2 * example_items() + 1);
    assert!(items[..2 * example_items()].iter().all(Result::is_ok));
    assert!(
        matches!(
            items.last(),
            Some(Err(Error::Paging(pandapon_gen::PagingError::CapReached {
                pages: 2
            })))
        ),
        "{:?}",
        items.last()
    );
    assert_eq!(check.seen().len(), 3, "page 2 was asked for twice");
}

#[tokio::test]
async fn a_page_that_fails_for_good_ends_the_stream_with_its_error() {
    let mut faults = vec![Fault::Delay(std::time::Duration::ZERO)];
    faults.extend(std::iter::repeat_n(Fault::Status(503, None), 4));
    let (_fake, check, client) = start_fake(|fake| fake.faults(faults)).await;
    let mut items = client
        .alibaba_product_keyword_search()
        .body(types::AlibabaProductKeywordSearchRequest::builder().keyword("x".to_owned()))
        .items();
    let mut ok = 0;
    let mut errors = Vec::new();
    while let Some(item) = items.next().await {
        match item {
            Ok(_) => ok += 1,
            Err(e) => errors.push(e),
        }
    }
    assert_eq!(ok, example_items(), "page 1's items come first");
    assert_eq!(errors.len(), 1, "then page 2's error, then the end");
    assert!(
        matches!(&errors[0], Error::Http { status, .. } if status.as_u16() == 503),
        "{:?}",
        errors[0]
    );
    assert_eq!(check.seen().len(), 1 + 4, "page 2 tried 4 times");
}

#[tokio::test]
async fn a_dropped_next_keeps_its_page_and_asks_for_it_once() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;
    // Page 2 answers late, once: the `next()` waiting for it is dropped
    // by a timeout, and the stream is polled again.
    let page_two = Arc::new(AtomicUsize::new(0));
    let counted = page_two.clone();
    let (_fake, _check, client) = start_fake(move |fake| {
        fake.plan(move |arrival| {
            let body: Value = serde_json::from_slice(arrival.body).unwrap_or_default();
            (arrival.path == KEYWORD && body["beginPage"] == 2)
                .then(|| counted.fetch_add(1, Ordering::SeqCst))
                .filter(|n| *n == 0)
                .map(|_| Fault::Delay(Duration::from_millis(300)))
        })
    })
    .await;
    let mut pages = client
        .alibaba_product_keyword_search()
        .body(types::AlibabaProductKeywordSearchRequest::builder().keyword("男鞋".to_owned()))
        .pages()
        .max_pages(2);
    pages.next().await.expect("page 1").expect("answers");
    let dropped = tokio::time::timeout(Duration::from_millis(20), pages.next()).await;
    assert!(dropped.is_err(), "page 2 answers late");
    pages.next().await.expect("page 2").expect("answers");
    assert!(
        matches!(pages.next().await, Some(Err(Error::Paging(_)))),
        "two pages asked for, the cap reached with pages left"
    );
    assert!(pages.next().await.is_none());
    assert_eq!(page_two.load(Ordering::SeqCst), 1, "page 2 asked for once");
}

#[tokio::test]
async fn a_call_dropped_before_its_first_poll_sends_nothing() {
    let (_fake, check, client) = start_fake(|fake| fake).await;
    let call = client.taobao_product_get().item_id("x").call();
    drop(call);
    client
        .taobao_product_get()
        .item_id("y")
        .call()
        .await
        .expect("answers");
    // Only the call that was awaited reached the fake.
    assert_eq!(check.seen().len(), 1);
}
