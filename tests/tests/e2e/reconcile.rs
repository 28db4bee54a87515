//! Reconcile (`push::reconcile`) against the fake PandaPon: it fetches each
//! order's and refund's state, stores a reconcile message only where the
//! inbox does not hold that state, stores nothing twice, reports what it
//! could not fetch and goes on, and sends only signed requests.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use pandapon_gen::push::inbox::{Inbox, Listing, NewMessage, Source, SqliteInbox};
use pandapon_gen::push::reconcile::{Checked, RECONCILE_TYPE, Subject, reconcile};
use pandapon_gen::{Outcome, PushEvent};
use pandapon_httpmock::Fault;
use pandapon_tests::start_fake;
use serde_json::{Value, json};

const ORDER: &str = "2542285634920880794";
/// An order whose detail PandaPon refuses.
const REFUSED: &str = "2542285634920880795";
const REFUND: &str = "110002685755";

fn envelope(data: &Value) -> bytes::Bytes {
    serde_json::to_vec(&json!({"code": 200, "msg": "成功", "data": data}))
        .expect("json")
        .into()
}

/// What reconcile did, without the ids of what it stored.
fn verdicts(checked: &[(Subject, Checked)]) -> Vec<&'static str> {
    checked
        .iter()
        .map(|(_, c)| match c {
            Checked::Stored(_) => "stored",
            Checked::Unchanged => "unchanged",
            Checked::Failed(_) => "failed",
            _ => "other",
        })
        .collect()
}

#[tokio::test]
async fn reconcile_stores_each_state_the_inbox_lacks_once() {
    // The states PandaPon holds now: an order's status, a refund's status.
    let states = Arc::new(Mutex::new(BTreeMap::from([
        ("order", json!("WAITING_FOR_SENT")),
        ("refund", json!(2)),
    ])));
    let plan_states = states.clone();
    let (_fake, check, client) = start_fake(move |b| {
        b.plan(move |arrival| {
            let states = plan_states.lock().expect("lock");
            if arrival.path == "/alibaba/order/detail" {
                let body: Value = serde_json::from_slice(arrival.body).ok()?;
                if body["orderId"].to_string().contains(REFUSED) {
                    return Some(Fault::Business(4001, "order not found".into()));
                }
                let data = json!({"orderId": ORDER, "orderStatus": states["order"]});
                return Some(Fault::Answer(200, envelope(&data)));
            }
            if arrival.path == "/v2/taobao/order/refund/query" {
                assert_eq!(arrival.query, Some(&*format!("refundId={REFUND}")));
                let data = json!({"refundOrderAggregate": {"refundOrder": {
                    "refundId": REFUND, "refundStatus": states["refund"]}}});
                return Some(Fault::Answer(200, envelope(&data)));
            }
            None
        })
    })
    .await;
    let dir = std::env::temp_dir().join(format!("pandapon-reconcile-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let inbox = SqliteInbox::open(dir.join("inbox.sqlite")).expect("inbox");
    // The refund's status 2 was pushed before the outage.
    let pushed = format!(
        r#"{{"messageType":"ORDER_BUYER_VIEW_ORDER_BUYER_REFUND","messageBody":"{{\"orderId\":\"{ORDER}\",\"refundId\":\"{REFUND}\",\"refundStatus\":2}}","messagePlatform":0,"timestamp":"1779263269913"}}"#
    );
    let event = PushEvent::parse(pushed.as_bytes()).expect("a refund message");
    inbox
        .store_if_absent(NewMessage::of_event(&event, pushed.into_bytes()))
        .await
        .expect("stored");
    let subjects = [
        Subject::AlibabaOrder(ORDER.into()),
        Subject::AlibabaOrder(REFUSED.into()),
        Subject::TaobaoRefund(REFUND.into()),
        // A refund message's own id: the refund detail takes digits.
        Subject::TaobaoRefund("TQ2100".into()),
    ];

    // The order's state is new to the inbox; the refund's is what was pushed.
    let first = reconcile(&client, &inbox, &subjects)
        .await
        .expect("reconciled");
    assert_eq!(
        verdicts(&first),
        ["stored", "failed", "unchanged", "failed"]
    );
    let Checked::Failed(refused) = &first[1].1 else {
        panic!("{:?}", first[1]);
    };
    assert_eq!(refused.outcome(), Outcome::Refused, "{refused}");
    assert!(refused.to_string().contains("4001"), "{refused}");
    let Checked::Failed(not_digits) = &first[3].1 else {
        panic!("{:?}", first[3]);
    };
    assert_eq!(not_digits.outcome(), Outcome::NotSent, "{not_digits}");
    let Checked::Stored(id) = first[0].1 else {
        panic!("{:?}", first[0]);
    };
    let stored = inbox.messages(Listing::All, 10).await.expect("read");
    let message = stored.iter().find(|m| m.id == id).expect("the stored one");
    assert_eq!(message.source, Source::Reconcile);
    assert_eq!(message.order_id.as_deref(), Some(ORDER));
    let body: Value = serde_json::from_slice(&message.body).expect("json");
    assert_eq!(body["messageType"], RECONCILE_TYPE);
    assert_eq!(body["messageBody"]["orderId"], ORDER);
    assert_eq!(
        body["messageBody"]["detail"]["orderStatus"],
        "WAITING_FOR_SENT"
    );
    assert_eq!(body["messageBody"]["after"], Value::Null);
    let event = message.event().expect("a worker can read it");
    assert_eq!(event.order_id().as_deref(), Some(ORDER));

    // Nothing changed: nothing stored, however often it runs.
    let again = reconcile(&client, &inbox, &subjects)
        .await
        .expect("reconciled");
    assert_eq!(
        verdicts(&again),
        ["unchanged", "failed", "unchanged", "failed"]
    );
    assert_eq!(
        inbox.messages(Listing::All, 10).await.expect("read").len(),
        2
    );

    // Both change: one reconcile message each, after the last held.
    {
        let mut states = states.lock().expect("lock");
        states.insert("order", json!("CANCEL"));
        states.insert("refund", json!(4));
    }
    let changed = reconcile(&client, &inbox, &subjects)
        .await
        .expect("reconciled");
    assert_eq!(verdicts(&changed), ["stored", "failed", "stored", "failed"]);
    let last = inbox
        .last_for_order(REFUND)
        .await
        .expect("read")
        .expect("one");
    assert_eq!(last.source, Source::Reconcile);
    let body: Value = serde_json::from_slice(&last.body).expect("json");
    assert_eq!(body["messageBody"]["refundStatus"], 4);
    assert_eq!(body["messagePlatform"], 0);

    // Back to the first state: a change too, so stored again.
    states
        .lock()
        .expect("lock")
        .insert("order", json!("WAITING_FOR_SENT"));
    let back = reconcile(&client, &inbox, &subjects[..1])
        .await
        .expect("reconciled");
    assert_eq!(verdicts(&back), ["stored"]);
    let last = inbox
        .last_for_order(ORDER)
        .await
        .expect("read")
        .expect("one");
    let body: Value = serde_json::from_slice(&last.body).expect("json");
    assert_eq!(
        body["messageBody"]["after"],
        json!(id + 1),
        "after the CANCEL one"
    );
    assert_eq!(
        inbox.messages(Listing::All, 10).await.expect("read").len(),
        5
    );

    // Every request it sent was signed as PandaPon checks; the TQ id sent none.
    let seen = check.seen();
    assert_eq!(seen.len(), 3 * 3 + 1, "{seen:?}");
    assert!(seen.iter().all(|s| s.verdict.is_ok()), "{seen:?}");
}
