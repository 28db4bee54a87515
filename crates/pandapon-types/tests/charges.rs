//! The decoder's charges against what decoding really allocates: for each
//! shape of body, a counting allocator measures the peak bytes a decode
//! holds, and that peak may not pass the least budget the decoder accepts
//! the body within (what it charged). A charge that undercounts a shape
//! fails here, naming the shape.
//!
//! One test in its own binary: the allocator's counts are process-wide.

use std::collections::BTreeMap;

use pandapon_types::decode::{DecodeError, from_slice};
use pandapon_types::types::{AlibabaProductSearchResponse, TaobaoProductGetResponse};
use peak_alloc::PeakAlloc;
use serde::Deserialize;
use serde::de::DeserializeOwned;

#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

/// The least budget `text` decodes into `T` within: what the decoder
/// charged for it.
fn charged<T: DeserializeOwned>(text: &str) -> usize {
    let (mut low, mut high) = (0, 1 << 30);
    assert!(from_slice::<T>(text.as_bytes(), high).is_ok(), "{text:.80}");
    while low < high {
        let mid = low + (high - low) / 2;
        match from_slice::<T>(text.as_bytes(), mid) {
            Ok(_) => high = mid,
            Err(DecodeError::OverBudget { .. }) => low = mid + 1,
            Err(DecodeError::Json(e)) => panic!("{text:.80}: {e}"),
        }
    }
    low
}

/// The peak bytes allocated while `text` decodes into `T`, the decoded
/// value included, beyond what was allocated before.
fn allocated<T: DeserializeOwned>(text: &str) -> usize {
    let base = ALLOCATOR.current_usage();
    ALLOCATOR.reset_peak_usage();
    let value = from_slice::<T>(text.as_bytes(), usize::MAX).expect("decodes");
    let peak = ALLOCATOR.peak_usage().saturating_sub(base);
    drop(value);
    peak
}

/// A struct with a few fields and the rest kept, as the generated types
/// keep PandaPon's undocumented fields.
#[derive(Deserialize)]
#[allow(dead_code)]
struct Open {
    a: Option<u8>,
    name: Option<String>,
    #[serde(flatten)]
    extra: serde_json::Map<String, serde_json::Value>,
}

fn repeat(item: &str, n: usize) -> String {
    format!("[{}]", vec![item; n].join(","))
}

fn object(entries: impl Iterator<Item = String>) -> String {
    format!("{{{}}}", entries.collect::<Vec<_>>().join(","))
}

fn search_page(item: &str, n: usize) -> String {
    format!(
        r#"{{"code":200,"msg":"ok","data":{{"totalPage":1,"currentPage":1,"data":{}}}}}"#,
        repeat(item, n)
    )
}

type Case = (&'static str, String, fn(&str) -> (usize, usize));

fn measure<T: DeserializeOwned>(text: &str) -> (usize, usize) {
    (charged::<T>(text), allocated::<T>(text))
}

#[test]
fn every_charge_covers_what_decoding_allocates() {
    let product = r#"{"imageUrl":"https://cbu01.alicdn.com/img/ibank/O1CN01.jpg","subject":"国潮男装t恤","subjectTrans":"National tide T-shirt","offerId":681234567890,"isJxhy":false,"priceInfo":{"price":"12.30","consignPrice":"13.00"},"repurchaseRate":"32%","monthSold":1234,"traceInfo":"object_id@681234567890","isOnePsale":true}"#;
    let cases: Vec<Case> = vec![
        ("numbers in a sequence", repeat("7", 50_000), measure::<Vec<u64>>),
        (
            "short strings",
            repeat(r#""abcdefgh""#, 20_000),
            measure::<Vec<String>>,
        ),
        (
            "escaped strings",
            repeat(r#""a\nb\tc\"d""#, 20_000),
            measure::<Vec<String>>,
        ),
        (
            "nested sequences",
            repeat("[1,2,3]", 20_000),
            measure::<Vec<Vec<u32>>>,
        ),
        (
            "a map of many entries",
            object((0..20_000).map(|i| format!(r#""k{i}":{i}"#))),
            measure::<BTreeMap<String, u64>>,
        ),
        (
            "a map of eleven entries",
            object((0..11).map(|i| format!(r#""k{i}":{i}"#))),
            measure::<BTreeMap<String, u64>>,
        ),
        (
            "a JSON value object of many short keys",
            object((0..20_000).map(|i| format!(r#""k{i:07}":0"#))),
            measure::<serde_json::Value>,
        ),
        (
            "unknown fields kept by flatten",
            object((0..5_000).map(|i| format!(r#""x{i}":"v{i}""#))),
            measure::<Open>,
        ),
        (
            "flatten structs in a sequence",
            repeat(r#"{"a":1,"name":"n","u":2}"#, 10_000),
            measure::<Vec<Open>>,
        ),
        (
            "empty objects as generated products",
            search_page("{}", 20_000),
            measure::<AlibabaProductSearchResponse>,
        ),
        (
            "tiny objects as generated products",
            search_page(r#"{"a":0}"#, 20_000),
            measure::<AlibabaProductSearchResponse>,
        ),
        (
            "documented products",
            search_page(product, 2_000),
            measure::<AlibabaProductSearchResponse>,
        ),
        (
            "a product with its JSON-in-string fields",
            r#"{"code":200,"msg":"ok","data":{"itemId":"WUnUC1cILiBjt","title":"x","skuList":[{"skuId":"1","price":689,"quantity":3,"properties":"[{\"valueId\":28324,\"valueName\":\"黄色\",\"propId\":1627207,\"propName\":\"颜色分类\"}]"}]}}"#.to_owned(),
            measure::<TaobaoProductGetResponse>,
        ),
    ];
    let mut under = Vec::new();
    for (name, text, measure) in &cases {
        let (charged, allocated) = measure(text);
        eprintln!(
            "{name}: charged {charged} bytes, allocated {allocated} ({:.2}x the body, charges {:.2}x the allocation)",
            allocated as f64 / text.len() as f64,
            charged as f64 / allocated.max(1) as f64
        );
        if allocated > charged {
            under.push(format!("{name}: allocated {allocated}, charged {charged}"));
        }
    }
    assert!(
        under.is_empty(),
        "charges below the allocation:\n{}",
        under.join("\n")
    );
}
