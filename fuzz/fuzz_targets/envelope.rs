//! Fuzz target: decoding response bodies into operation results.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pandapon_gen::{decode_response, types};

fuzz_target!(|data: &[u8]| {
    let (status, body) = match data.split_first() {
        Some((s, rest)) => (if *s % 4 == 0 { 502 } else { 200 }, rest),
        None => (200, data),
    };
    let _ = decode_response::<types::AlibabaOrderPayUrlResponse>(status, body);
    let _ = decode_response::<types::AlibabaOrderBatchCreateResponse>(status, body);
    let _ = decode_response::<types::TaobaoRefundCancelResponse>(status, body);
    let _ = decode_response::<types::UndocumentedEnvelope>(status, body);
    let _ = decode_response::<types::OpenAddressAddOrUpdateResponse>(status, body);
});
