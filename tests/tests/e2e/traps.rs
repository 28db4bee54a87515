//! The traps in PandaPon's API, each where it bites: big ids, JSON inside
//! strings, values the server may extend, money units, the address envelope,
//! and the query-signed warehouse-logistics operations.

use pandapon_gen::auth::{QuerySigner, SignedHeaders};
use pandapon_gen::money::{Fen, Yuan};
use pandapon_gen::types::{
    self, OrderAddress, TaobaoBatchCheckItem, TaobaoCartProperty, TaobaoOrderLine,
};
use pandapon_gen::{
    Error, IntegerId, JsonString, MessagePlatform, MessageType, OrderStatus, Outcome, StringId,
};
use pandapon_httpmock::httpmock::Method::{GET, POST};
use pandapon_httpmock::success;
use pandapon_tests::Harness;
use serde_json::{Value, json};

/// Mounts a signed POST route that records nothing but answers `answer`,
/// and returns the body the SDK sent, parsed.
async fn sent_body(path: &'static str, call: impl AsyncFnOnce(&pandapon_gen::Client)) -> Value {
    let h = Harness::start().await;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
    let keep = seen.clone();
    h.server
        .mock_async(|when, then| {
            when.method(POST)
                .path(path)
                .is_true(h.check.signed())
                .is_true(move |req| {
                    *keep.lock().expect("lock") = serde_json::from_slice(&req.body_vec()).ok();
                    true
                });
            then.status(200).json_body(success(json!({})));
        })
        .await;
    call(&h.client()).await;
    let body = seen.lock().expect("lock").take();
    body.expect("the route saw a JSON body")
}

#[tokio::test]
async fn big_ids_survive_as_strings_and_as_integers() {
    let h = Harness::start().await;
    h.server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/v2/alibaba/order/pay/url")
                .is_true(h.check.signed());
            then.status(200).json_body(success(json!({
                "orderId": "2542285634920880794",
                "payUrl": "https://trade.1688.com/pay",
                "cantPayOrderList": ["2542285634920880795", 2542285634920880796u64]
            })));
        })
        .await;
    let reply = h
        .client()
        .alibaba_order_pay_url()
        .order_id("2542285634920880794")
        .call()
        .await
        .expect("pay url");
    let ids: Vec<u64> = reply
        .data
        .cant_pay_order_list
        .iter()
        .flatten()
        .map(|i| i.get())
        .collect();
    assert_eq!(ids, [2542285634920880795, 2542285634920880796]);

    // Request side: a string-typed id list goes out as strings, every digit.
    let body = sent_body("/alibaba/order/batch/submit/to/pay", async |c| {
        let ids: Vec<StringId> = ["2059624776425880794", "2060506524492880794"]
            .iter()
            .map(|s| s.parse().expect("digits"))
            .collect();
        c.alibaba_order_batch_submit_to_pay()
            .body(types::AlibabaOrderBatchSubmitToPayRequest::builder().order_ids(ids))
            .call()
            .await
            .expect("submit");
    })
    .await;
    assert_eq!(
        body,
        json!({"orderIds": ["2059624776425880794", "2060506524492880794"]})
    );

    // An integer-typed id goes out as an integer even when it came in as text.
    let body = sent_body("/alibaba/order/receivegoods", async |c| {
        let order: IntegerId = serde_json::from_str("\"2542285634920880794\"").expect("id");
        c.alibaba_order_confirm_receipt()
            .body(types::AlibabaOrderConfirmReceiptRequest::builder().order_id(order))
            .send()
            .await
            .expect("raw send");
    })
    .await;
    assert_eq!(body.to_string(), r#"{"orderId":2542285634920880794}"#);
}

#[tokio::test]
async fn json_inside_strings_is_built_from_typed_values() {
    let line = |item: &str, sku: &str| {
        TaobaoOrderLine::builder()
            .item_id(item.parse::<StringId>().expect("id"))
            .order_line_no("1".to_owned())
            .quantity("200".to_owned())
            .price(Fen::new(1))
            .currency("CNY".to_owned())
            .sku_id(sku.parse::<StringId>().expect("id"))
            .build()
            .expect("all fields optional")
    };
    let receiver = OrderAddress::builder()
        .name("a测试aa".to_owned())
        .mobile_phone("15068763421".to_owned())
        .country("中国".to_owned())
        .state("浙江省".to_owned())
        .city("杭州市".to_owned())
        .district("余杭区".to_owned())
        .address("测试地址".to_owned())
        .zip("11111".to_owned())
        .build()
        .expect("all fields optional");
    let body = sent_body("/open/order", async |c| {
        c.taobao_order_create()
            .body(
                types::TaobaoOrderCreateRequest::builder()
                    .order_line_list(vec![
                        line("600126245031041190", "5016042822039"),
                        line("600129202197070073", "4860968496626"),
                    ])
                    .receiver(receiver.clone())
                    .purchase_amount(Fen::new(400))
                    .order_source("lazada".to_owned()),
            )
            .call()
            .await
            .expect("create");
    })
    .await;
    let lines = body["orderLineList"]
        .as_str()
        .expect("orderLineList is a string");
    let lines: Value = serde_json::from_str(lines).expect("holding JSON");
    assert_eq!(lines[1]["itemId"], "600129202197070073");
    assert_eq!(lines[0]["skuId"], "5016042822039");
    // The line price is fen in a string, as in PandaPon's example.
    assert_eq!(lines[0]["price"], "1");
    let receiver_text = body["receiver"].as_str().expect("receiver is a string");
    let receiver_json: Value = serde_json::from_str(receiver_text).expect("holding JSON");
    assert_eq!(receiver_json["mobile_phone"], "15068763421");
    assert_eq!(body["purchaseAmount"], 400);

    let body = sent_body("/open/product/batch/check", async |c| {
        c.taobao_product_batch_check()
            .body(
                types::TaobaoProductBatchCheckRequest::builder().params(vec![
                    TaobaoBatchCheckItem::builder()
                        .item_id("672991141190".parse::<StringId>().expect("id"))
                        .sku_ids(vec!["3452545926724".parse::<StringId>().expect("id")])
                        .build()
                        .expect("all fields optional"),
                ]),
            )
            .call()
            .await
            .expect("check");
    })
    .await;
    assert_eq!(
        body["params"],
        r#"[{"itemId":"672991141190","skuIds":["3452545926724"]}]"#
    );

    let body = sent_body("/v2/alibaba/product/keywords/query", async |c| {
        c.alibaba_product_keyword_search()
            .body(
                types::AlibabaProductKeywordSearchRequest::builder()
                    .keyword("男鞋".to_owned())
                    .sort(JsonString::from(
                        [("price".to_owned(), "desc".to_owned())]
                            .into_iter()
                            .collect::<std::collections::BTreeMap<_, _>>(),
                    )),
            )
            .send()
            .await
            .expect("search");
    })
    .await;
    assert_eq!(body["sort"], r#"{"price":"desc"}"#);

    let body = sent_body("/v2/taobao/cart/add", async |c| {
        c.taobao_cart_add()
            .body(
                types::TaobaoCartAddRequest::builder()
                    .mp_id("26")
                    .mp_sku_id("65")
                    .properties(Some(
                        vec![
                            TaobaoCartProperty::builder()
                                .value_id(IntegerId::from(28324))
                                .value_name("黄色".to_owned())
                                .prop_id(IntegerId::from(1627207))
                                .prop_name("颜色分类".to_owned())
                                .build()
                                .expect("all fields optional"),
                        ]
                        .into(),
                    )),
            )
            .call()
            .await
            .expect("add");
    })
    .await;
    let props: Value =
        serde_json::from_str(body["properties"].as_str().expect("a string")).expect("JSON");
    assert_eq!(
        props,
        json!([{"propId": 1627207, "propName": "颜色分类", "valueId": 28324, "valueName": "黄色"}])
    );
}

/// Money goes out in the unit and form each field documents; a yuan amount
/// enters a fen field only when it is whole fen; an id whose form PandaPon
/// documents is refused before anything is signed or sent.
#[tokio::test]
async fn amounts_and_ids_are_checked_before_sending() {
    let order = |total: Yuan| {
        types::TaobaoOrderCreateRequest::builder()
            .order_line_list(Vec::<TaobaoOrderLine>::new())
            .receiver(
                OrderAddress::builder()
                    .build()
                    .expect("all fields optional"),
            )
            .purchase_amount(total)
    };
    let body = sent_body("/open/order", async |c| {
        c.taobao_order_create()
            .body(order("4.00".parse().expect("yuan")))
            .call()
            .await
            .expect("create");
    })
    .await;
    assert_eq!(body["purchaseAmount"], 400);

    let body = sent_body("/v2/alibaba/product/image/query", async |c| {
        c.alibaba_product_image_search()
            .body(
                types::AlibabaProductImageSearchRequest::builder()
                    .image_base64("aGk=".to_owned())
                    .price_start("633.69".parse::<Yuan>().expect("yuan"))
                    .price_end(Yuan::from(Fen::new(64_760))),
            )
            .call()
            .await
            .expect("search");
    })
    .await;
    assert_eq!(body["priceStart"], "633.69");
    assert_eq!(body["priceEnd"], "647.60");

    let h = Harness::start().await;
    let client = h.client();
    let err = client
        .taobao_order_create()
        .body(order("4.005".parse().expect("yuan")))
        .call()
        .await
        .expect_err("not whole fen");
    let Error::InvalidRequest(msg) = &err else {
        panic!("{err:?}");
    };
    assert!(
        msg.contains("purchase_amount: 4.005 yuan is not a whole number of fen"),
        "{msg}"
    );

    let err = client
        .taobao_refund_detail()
        .refund_id("TQ2026")
        .call()
        .await
        .expect_err("not digits");
    assert!(
        matches!(&err, Error::InvalidRequest(m) if m == r#"refund_id: an id must be decimal digits, got "TQ2026""#),
        "{err:?}"
    );
    assert_eq!(err.outcome(), Outcome::NotSent);
    // An optional id field takes a parsed id, so the check is the parse.
    let bad = "110000235001/../1"
        .parse::<StringId>()
        .expect_err("not digits");
    assert_eq!(
        bad.to_string(),
        r#"an id must be decimal digits, got "110000235001/../1""#
    );
    assert!(h.check.seen().is_empty(), "nothing was sent");
}

#[test]
fn pushed_messages_keep_unknown_values_and_accept_both_body_forms() {
    let as_string = json!({
        "messageType": "ORDER_PAY_SUCCESS",
        "messageBody": "{\"orderId\":\"2542285634920880794\",\"orderNo\":\"PO123\",\"orderStatus\":\"WAITING_FOR_SENT\",\"payStatus\":2,\"totalAmount\":6400,\"shippingFee\":0,\"productAmount\":6400,\"refundAmount\":0,\"tbCreateTime\":\"2026-05-20 10:00:00\"}",
        "messagePlatform": 1,
        "timestamp": "1779263269913"
    });
    let msg: types::OrderMessage = serde_json::from_value(as_string).expect("string body");
    assert_eq!(
        msg.pushed_at(),
        Some(std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_779_263_269_913))
    );
    assert_eq!(msg.message_type, Some(MessageType::OrderPaySuccess));
    assert_eq!(msg.message_platform, MessagePlatform::Alibaba1688);
    let body: types::OrderStatusMessageBody = msg
        .message_body
        .expect("body")
        .parse()
        .expect("status body");
    assert_eq!(body.order_id.expect("id").as_str(), "2542285634920880794");
    assert_eq!(body.order_status, Some(OrderStatus::WaitingForSent));
    assert_eq!(body.total_amount, Some(Fen::new(6400)));
    let created = body.tb_create_time.expect("tbCreateTime");
    assert_eq!(created.to_string(), "2026-05-20 10:00:00");
    assert_eq!(
        created.to_system_time(),
        Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_779_242_400))
    );

    let as_object = json!({
        "messageType": "ORDER_SHIPPED_BY_DRONE",
        "messageBody": {"salesOrderId": "3300", "subOrders": [{"quantity": 2, "purchase_order_outer_id": "x", "brand_new_field": 1}]},
        "messagePlatform": 9,
        "timestamp": "1779263269913"
    });
    let msg: types::OrderMessage = serde_json::from_value(as_object).expect("object body");
    assert_eq!(
        msg.message_type,
        Some(MessageType::Other("ORDER_SHIPPED_BY_DRONE".into()))
    );
    assert_eq!(msg.message_platform, MessagePlatform::Other(9));
    let price: types::TaobaoPriceModifyMessageBody =
        msg.message_body.expect("body").parse().expect("price body");
    let sub = &price.sub_orders.expect("sub orders")[0];
    assert_eq!(sub.quantity, Some(2));
    assert_eq!(sub.extra["brand_new_field"], 1);

    let refund: types::RefundMessageBody =
        serde_json::from_value(json!({"refundId": "TQ1", "refundStatus": 3})).expect("refund");
    assert_eq!(refund.refund_id.as_deref(), Some("TQ1"));
    assert_eq!(refund.extra["refundStatus"], 3);

    // 1688's price message: a known type now; its order-detail body is kept
    // as JSON (PandaPon names its parts, not their fields).
    let alibaba = json!({
        "messageType": "1688_ORDER_BUYER_VIEW_ORDER_PRICE_MODIFY",
        "messageBody": "{\"baseInfo\":{\"id\":2542285634920880794,\"totalAmount\":633.69},\"productItems\":[{\"quantity\":2}],\"newPart\":true}",
        "messagePlatform": 1,
        "timestamp": "1779263269913"
    });
    let msg: types::OrderMessage = serde_json::from_value(alibaba).expect("1688 message");
    assert_eq!(
        msg.message_type,
        Some(MessageType::AlibabaOrderBuyerViewOrderPriceModify)
    );
    let body: types::AlibabaPriceModifyMessageBody = msg
        .message_body
        .expect("body")
        .parse()
        .expect("order-detail body");
    // The 19-digit id inside the string keeps every digit.
    assert_eq!(
        body.base_info.expect("baseInfo")["id"].to_string(),
        "2542285634920880794"
    );
    assert_eq!(body.product_items.expect("items")[0]["quantity"], 2);
    assert_eq!(body.extra["newPart"], true);
}

#[tokio::test]
async fn the_address_answer_without_data_is_a_success() {
    let h = Harness::start().await;
    h.server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/v2/open/address/addOrUpdate")
                .is_true(h.check.signed());
            then.status(200)
                .json_body(json!({"code": 200, "msg": "成功"}));
        })
        .await;
    let reply = h
        .client()
        .open_address_add_or_update()
        .body(types::OpenAddressAddOrUpdateRequest::builder().name("张三".to_owned()))
        .call()
        .await
        .expect("address saved");
    assert_eq!(reply.msg.as_deref(), Some("成功"));
    assert_eq!(reply.request_id, None);
}

/// A replacement rule for the undocumented logistics `sign`.
#[derive(Debug)]
struct Reversed;

impl QuerySigner for Reversed {
    fn query(&self, headers: &SignedHeaders) -> Vec<(&'static str, String)> {
        vec![
            ("timestamp", headers.timestamp().as_str().to_owned()),
            ("sign", headers.signature().as_str().chars().rev().collect()),
        ]
    }
}

#[tokio::test]
async fn logistics_query_signing_is_pluggable() {
    let h = Harness::start().await;
    let route = h
        .server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/v2/open/pp/logistics/itemLogisticsPrice")
                .is_true(h.check.signed())
                .is_true(|req| {
                    let headers = req.headers();
                    let signature = headers["signature"].to_str().unwrap_or_default();
                    let query: std::collections::HashMap<_, _> =
                        req.query_params().into_iter().collect();
                    query.get("sign").map(String::as_str)
                        == Some(signature.chars().rev().collect::<String>().as_str())
                        && query.get("timestamp").map(String::as_str)
                            == headers["timestamp"].to_str().ok()
                });
            then.status(200).json_body(success(json!({"fee": "12.00"})));
        })
        .await;
    let client = h.builder().query_signer(Reversed).build().expect("client");
    client
        .open_logistics_item_price()
        .body(
            types::OpenLogisticsItemPriceRequest::builder()
                .item_id("2048232789087639")
                .sku_id("4970432383383")
                .quantity(1)
                .receiver_address(types::ReceiverAddress::default()),
        )
        .call()
        .await
        .expect("priced");
    route.assert_calls_async(1).await;
}
