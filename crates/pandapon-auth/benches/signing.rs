//! Time per signature, next to a bare MD5 of the same string.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use md5::{Digest, Md5};
use pandapon_auth::{Credentials, Nonce, Signer, StringToSign, Timestamp, sign};

fn signing(c: &mut Criterion) {
    let (key, secret) = (
        "58c0201dfdf148eca63cbf6bb5e7cf03",
        "0123456789abcdef0123456789abcdef",
    );
    let creds = Credentials::new(key, secret, "2100007341207").expect("credentials");
    let ts = Timestamp::parse("1715669977082").expect("timestamp");
    let nonce = Nonce::parse("abcdefghijklmnopqrstuvwxyz012345").expect("nonce");
    let joined = format!("{key}{}{}{secret}", ts.as_str(), nonce.as_str());
    let signer = Signer::new(creds.clone());

    let mut group = c.benchmark_group("signing");
    group.bench_function("md5_of_the_joined_string", |b| {
        b.iter(|| Md5::digest(black_box(joined.as_bytes())))
    });
    group.bench_function("signature", |b| {
        b.iter(|| {
            StringToSign::new(
                black_box(&creds),
                black_box(ts.as_str()),
                black_box(nonce.as_str()),
            )
            .signature()
        })
    });
    group.bench_function("sign_headers", |b| {
        b.iter(|| sign(black_box(&creds), black_box(&ts), black_box(&nonce)))
    });
    group.bench_function("sign_now_with_clock_and_nonce", |b| {
        b.iter(|| signer.sign_now())
    });
    group.finish();
}

criterion_group!(benches, signing);
criterion_main!(benches);
