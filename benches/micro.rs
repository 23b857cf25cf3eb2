//! Micro-benchmarks of the per-request hot paths that involve no I/O: token verification (every
//! authenticated request), revocation checks, snowflake generation and user serialisation.
//! Run: `cargo run --release -p accord-bench --bin accord-micro`.

use std::hint::black_box;
use std::time::Instant;

use accord_auth::{Revocations, TokenSigner};
use accord_model::{SnowflakeGenerator, User, UserId, UserMarker};

fn bench(name: &str, iterations: u64, mut f: impl FnMut(u64)) {
    for i in 0..iterations / 10 {
        f(i);
    }
    let start = Instant::now();
    for i in 0..iterations {
        f(i);
    }
    let elapsed = start.elapsed();
    let ns = elapsed.as_nanos() as f64 / iterations as f64;
    println!("{name:<32} {ns:>10.1} ns/op {:>14.0} op/s", 1e9 / ns);
}

fn main() {
    let signer = TokenSigner::new(b"a benchmark secret of at least thirty-two bytes");
    let tokens: Vec<String> = (0..1024)
        .map(|i| signer.issue(UserId::new(1 << 40 | i), false, 1_700_000_000_000 + i))
        .collect();
    let revocations = Revocations::new();
    for i in 0..10_000u64 {
        revocations.set_cutoff(UserId::new(i), 1);
    }
    revocations.revoke(UserId::new(7), "AAAAAAAAAAAA");
    let claims: Vec<_> = tokens
        .iter()
        .map(|t| signer.verify(t).expect("valid"))
        .collect();

    bench("token issue", 1_000_000, |i| {
        black_box(signer.issue(UserId::new(i), false, 1_700_000_000_000));
    });
    bench("token verify (HMAC-SHA256)", 1_000_000, |i| {
        black_box(signer.verify(&tokens[(i % 1024) as usize]).is_ok());
    });
    bench("revocation check", 5_000_000, |i| {
        black_box(revocations.check(&claims[(i % 1024) as usize]).is_ok());
    });
    let ids = SnowflakeGenerator::new(1, 1);
    bench("snowflake generate", 10_000_000, |_| {
        black_box(ids.next::<UserMarker>());
    });
    let mut user = User::new(UserId::new(175_928_847_299_117_063), "benchmark", "0");
    user.global_name = Some("Benchmark User".into());
    bench("user to JSON", 2_000_000, |_| {
        black_box(serde_json::to_vec(&user).expect("serialise"));
    });
}
