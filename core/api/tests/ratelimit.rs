//! Rate limiting: `X-RateLimit-*` headers on every response, 429 answers with Discord's headers
//! and body (route, global and shared scopes), the bypass right, and both counter backends —
//! Redis shared by two API servers.

mod common;
mod ratelimit_util;

use std::time::Duration;

use accord_config::{Config, Quota, RateLimitBackend, RateLimitsConfig};
use accord_model::{Rights, UserId};
use common::Server;
use ratelimit_util::{
    assert_limited, clear_redis, epoch_secs, generous, header, number, patient_client, redis,
    route, send, unique_prefix,
};
use reqwest::{Method, StatusCode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_on_every_response() {
    let s = Server::start_with("sqlite", |c| {
        generous(c);
        c.rate_limits.default_route = Quota::new(5, 10_000);
    })
    .await;
    let token = s.register("headers", "password123").await;
    let mut last = u64::MAX;
    let mut bucket = None;
    for expected in (2..5).rev() {
        let (status, h, _) = send(&s, Method::GET, "/users/@me", Some(&token), None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(number(&h, "x-ratelimit-limit"), 5.0);
        let remaining = number(&h, "x-ratelimit-remaining") as u64;
        assert_eq!(remaining, expected, "{h:?}");
        assert!(remaining < last);
        last = remaining;
        let after = number(&h, "x-ratelimit-reset-after");
        assert!(after > 0.0 && after <= 10.0, "{h:?}");
        let reset = number(&h, "x-ratelimit-reset");
        assert!((reset - (epoch_secs() + after)).abs() < 2.0, "{h:?}");
        let b = header(&h, "x-ratelimit-bucket").expect("bucket").to_owned();
        assert_eq!(bucket.get_or_insert(b.clone()), &b);
        assert!(header(&h, "x-ratelimit-scope").is_none());
        assert!(header(&h, "via").is_none());
    }
    // Another route has its own bucket, also under /api/v9.
    let other = s.url("/users/@me/guilds").replace("/v10/", "/v9/");
    let (status, h, _) = send(&s, Method::GET, &other, Some(&token), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(header(&h, "x-ratelimit-bucket"), bucket.as_deref());
    assert_eq!(number(&h, "x-ratelimit-remaining"), 4.0);
    // Errors and unauthenticated requests carry them too.
    let (status, h, _) = send(&s, Method::GET, "/users/@me", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(number(&h, "x-ratelimit-remaining"), 4.0);
    let (status, h, _) = send(&s, Method::GET, "/no/such/route", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(header(&h, "x-ratelimit-bucket").is_some());
    // Operational endpoints are outside the API and not limited.
    let resp = s
        .http
        .get(format!("{}/healthz", s.origin))
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("x-ratelimit-limit").is_none());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patient_client_never_refused() {
    let s = Server::start_with("sqlite", |c| {
        generous(c);
        c.rate_limits.default_route = Quota::new(3, 600);
    })
    .await;
    let token = s.register("patient", "password123").await;
    patient_client(&s, &token, 12).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_limit_refuses_without_running_the_handler() {
    let s = Server::start_with("postgres", |c| {
        generous(c);
        c.rate_limits.routes = vec![route("POST /guilds", 2, 2000)];
    })
    .await;
    let token = s.register("hasty", "password123").await;
    for name in ["one", "two"] {
        let (status, h, _) = send(
            &s,
            Method::POST,
            "/guilds",
            Some(&token),
            Some(serde_json::json!({"name": name})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(number(&h, "x-ratelimit-limit"), 2.0);
    }
    let (status, h, body) = send(
        &s,
        Method::POST,
        "/guilds",
        Some(&token),
        Some(serde_json::json!({"name": "three"})),
    )
    .await;
    let retry = assert_limited(status, &h, &body, "user");
    assert!(retry <= 1.0, "one request comes back every second: {retry}");
    assert_eq!(number(&h, "x-ratelimit-limit"), 2.0);
    assert_eq!(number(&h, "x-ratelimit-remaining"), 0.0);
    let after = number(&h, "x-ratelimit-reset-after");
    assert!(after > 1.0 && after <= 2.0, "{h:?}");
    assert!(header(&h, "x-ratelimit-bucket").is_some());
    // The refused request created nothing.
    let (_, _, guilds) = send(&s, Method::GET, "/users/@me/guilds", Some(&token), None).await;
    assert_eq!(guilds.as_array().map(Vec::len), Some(2), "{guilds}");
    // Another user has a bucket of their own.
    let other = s.register("calm", "password123").await;
    let (status, _, _) = send(
        &s,
        Method::POST,
        "/guilds",
        Some(&other),
        Some(serde_json::json!({"name": "mine"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    // After Retry-After the caller may go on.
    tokio::time::sleep(Duration::from_secs_f64(retry)).await;
    let (status, _, body) = send(
        &s,
        Method::POST,
        "/guilds",
        Some(&token),
        Some(serde_json::json!({"name": "three"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_limit_of_bots() {
    let s = Server::start_with("sqlite", |c| {
        generous(c);
        c.rate_limits.global_bot = Quota::new(3, 6000);
    })
    .await;
    let owner = s.register("owner", "password123").await;
    let (_, bot) = s.bot(&owner, "Speedy").await;
    let bot = format!("Bot {bot}");
    for path in ["/users/@me", "/users/@me/guilds", "/applications/@me"] {
        let (status, h, _) = send(&s, Method::GET, path, Some(&bot), None).await;
        assert_ne!(status, StatusCode::TOO_MANY_REQUESTS, "{path}");
        assert!(header(&h, "x-ratelimit-remaining").is_some());
    }
    let (status, h, body) = send(
        &s,
        Method::GET,
        "/oauth2/applications/@me",
        Some(&bot),
        None,
    )
    .await;
    let retry = assert_limited(status, &h, &body, "global");
    assert!(retry <= 2.0, "{retry}");
    // The owner, a user account, is not held by the bot's global limit.
    for _ in 0..5 {
        let (status, _, _) = send(&s, Method::GET, "/users/@me", Some(&owner), None).await;
        assert_eq!(status, StatusCode::OK);
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_registration_limit() {
    let s = Server::start_with("sqlite", |c| {
        generous(c);
        c.rate_limits.registrations = Quota::new(2, 6000);
    })
    .await;
    s.register("first", "password123").await;
    s.register("second", "password123").await;
    let users = s.user_count().await;
    let body = serde_json::json!({"username": "third", "password": "password123"});
    let (status, h, body) = send(&s, Method::POST, "/auth/register", None, Some(body)).await;
    assert_limited(status, &h, &body, "shared");
    assert_eq!(body["code"], 40062);
    assert_eq!(s.user_count().await, users, "nothing was created");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_channel_limit_and_reaction_bucket() {
    let s = Server::start_with("sqlite", |c| {
        generous(c);
        c.rate_limits.messages_per_channel = Quota::new(3, 6000);
        // The default reaction bucket: 1 per 250 ms.
        c.rate_limits.routes = RateLimitsConfig::default()
            .routes
            .into_iter()
            .filter(|r| r.route.contains("/reactions/"))
            .collect();
    })
    .await;
    let owner = s.register("owner", "password123").await;
    let member = s.register("member", "password123").await;
    let gid = common::id_of(&s.guild(&owner, "Busy").await);
    s.join(&gid, &member).await;
    let (_, _, g) = send(
        &s,
        Method::GET,
        &format!("/guilds/{gid}"),
        Some(&owner),
        None,
    )
    .await;
    let channel = g["system_channel_id"].as_str().expect("channel").to_owned();
    let messages = format!("/channels/{channel}/messages");
    let mut ids = Vec::new();
    for token in [&owner, &owner, &member] {
        let body = serde_json::json!({"content": "hi"});
        let (status, _, m) = send(&s, Method::POST, &messages, Some(token), Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{m}");
        ids.push(common::id_of(&m));
    }
    let body = serde_json::json!({"content": "one too many"});
    let (status, h, body) = send(&s, Method::POST, &messages, Some(&member), Some(body)).await;
    assert_limited(status, &h, &body, "shared");
    assert_eq!(body["code"], 20028);
    let (_, _, list) = send(&s, Method::GET, &messages, Some(&owner), None).await;
    assert_eq!(list.as_array().map(Vec::len), Some(3), "nothing was posted");

    let react = |emoji: &str| format!("{messages}/{}/reactions/{emoji}/@me", ids[0]);
    let (status, _, body) = send(&s, Method::PUT, &react("%F0%9F%91%8D"), Some(&owner), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, h, body) = send(&s, Method::PUT, &react("%F0%9F%94%A5"), Some(&owner), None).await;
    let retry = assert_limited(status, &h, &body, "user");
    assert!(retry <= 0.25, "{retry}");
    // Another user's reaction is in a bucket of its own.
    let (status, _, body) =
        send(&s, Method::PUT, &react("%F0%9F%91%8D"), Some(&member), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    tokio::time::sleep(Duration::from_secs_f64(retry)).await;
    let (status, _, body) = send(&s, Method::PUT, &react("%F0%9F%94%A5"), Some(&owner), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bypass_right_is_exempt() {
    let s = Server::start_with("sqlite", |c| {
        generous(c);
        c.rate_limits.default_route = Quota::new(1, 5000);
        c.rate_limits.global_user = Quota::new(2, 5000);
        c.rate_limits.routes = vec![route("POST /auth/register", 100, 1000)];
    })
    .await;
    let admin = s.register("admin", "password123").await;
    let plain = s.register("plain", "password123").await;
    let id: u64 = s.user_id(&admin).await.parse().unwrap();
    let rights = s.state.config.default_rights() | Rights::BYPASS_RATE_LIMITS;
    s.state
        .store
        .set_rights(UserId::new(id), rights)
        .await
        .unwrap();
    for _ in 0..6 {
        let (status, h, body) = send(&s, Method::GET, "/users/@me", Some(&admin), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(header(&h, "x-ratelimit-limit").is_some());
    }
    let (status, _, _) = send(&s, Method::GET, "/users/@me", Some(&plain), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, h, body) = send(&s, Method::GET, "/users/@me", Some(&plain), None).await;
    assert_limited(status, &h, &body, "user");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_backend_counts_in_redis() {
    let prefix = unique_prefix("single");
    let s = Server::start_with("sqlite", |c| {
        generous(c);
        redis(c, &prefix);
        c.rate_limits.default_route = Quota::new(3, 900);
    })
    .await;
    let token = s.register("redis", "password123").await;
    let (_, h, _) = send(&s, Method::GET, "/users/@me", Some(&token), None).await;
    assert_eq!(number(&h, "x-ratelimit-remaining"), 2.0);
    let (_, h, _) = send(&s, Method::GET, "/users/@me", Some(&token), None).await;
    assert_eq!(number(&h, "x-ratelimit-remaining"), 1.0);
    let after = number(&h, "x-ratelimit-reset-after");
    assert!(after > 0.3 && after <= 0.9, "{h:?}");
    let (_, h, _) = send(&s, Method::GET, "/users/@me", Some(&token), None).await;
    assert_eq!(number(&h, "x-ratelimit-remaining"), 0.0);
    let (status, h, body) = send(&s, Method::GET, "/users/@me", Some(&token), None).await;
    assert_limited(status, &h, &body, "user");
    tokio::time::sleep(Duration::from_secs_f64(number(
        &h,
        "x-ratelimit-reset-after",
    )))
    .await;
    patient_client(&s, &token, 8).await;
    assert!(clear_redis(&prefix).await > 0, "counters live in Redis");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_redis_limits() {
    let prefix = unique_prefix("pair");
    let tweak = |c: &mut Config| {
        generous(c);
        redis(c, &prefix);
        c.rate_limits.default_route = Quota::new(4, 8000);
        c.rate_limits.registrations = Quota::new(3, 6000);
    };
    let a = Server::start_with("sqlite", tweak).await;
    let b = Server::start_with("postgres", tweak).await;
    // Unauthenticated callers are counted by address: 127.0.0.1 on both servers.
    let mut remaining = Vec::new();
    for s in [&a, &b, &a, &b] {
        let (status, h, _) = send(s, Method::GET, "/policies/instance", None, None).await;
        assert_eq!(status, StatusCode::OK);
        remaining.push(number(&h, "x-ratelimit-remaining") as u64);
    }
    assert_eq!(remaining, [3, 2, 1, 0]);
    let (status, h, body) = send(&b, Method::GET, "/policies/instance", None, None).await;
    assert_limited(status, &h, &body, "user");
    let (status, h, body) = send(&a, Method::GET, "/policies/instance", None, None).await;
    assert_limited(status, &h, &body, "user");
    // The instance-wide registration limit holds across both servers.
    a.register("ada", "password123").await;
    b.register("bob", "password123").await;
    a.register("cy", "password123").await;
    let body = serde_json::json!({"username": "dee", "password": "password123"});
    let (status, h, body) = send(&b, Method::POST, "/auth/register", None, Some(body)).await;
    assert_limited(status, &h, &body, "shared");
    assert!(clear_redis(&prefix).await > 0);
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_redis_falls_back_to_memory() {
    let s = Server::start_with("sqlite", |c| {
        generous(c);
        c.rate_limits.backend = RateLimitBackend::Redis;
        c.rate_limits.redis_url = Some("redis://127.0.0.1:1".into());
        c.rate_limits.default_route = Quota::new(1, 5000);
    })
    .await;
    let (status, h, _) = send(&s, Method::GET, "/policies/instance", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(number(&h, "x-ratelimit-remaining"), 0.0);
    let (status, h, body) = send(&s, Method::GET, "/policies/instance", None, None).await;
    assert_limited(status, &h, &body, "user");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_limits_send_no_headers() {
    let s = Server::start("sqlite").await;
    for _ in 0..3 {
        let (status, h, _) = send(&s, Method::GET, "/policies/instance", None, None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(h.get("x-ratelimit-limit").is_none());
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patient_client_across_two_redis_servers() {
    let prefix = unique_prefix("patient");
    let tweak = |c: &mut Config| {
        generous(c);
        redis(c, &prefix);
        c.rate_limits.default_route = Quota::new(3, 900);
        // One token secret, so a token of one server is valid on the other.
        c.security.token_secret = Some("0123456789abcdef0123456789abcdef-ratelimit".into());
    };
    let a = Server::start_with("sqlite", tweak).await;
    let b = Server::start_with("sqlite", tweak).await;
    let token = a.register("roamer", "password123").await;
    for i in 0..12 {
        let s = if i % 2 == 0 { &a } else { &b };
        // The account exists on one server only; the other answers an error, but both count
        // the same bucket.
        let (status, h, body) = send(s, Method::GET, "/users/@me/guilds", Some(&token), None).await;
        assert_ne!(status, StatusCode::TOO_MANY_REQUESTS, "request {i}: {body}");
        if number(&h, "x-ratelimit-remaining") == 0.0 {
            let wait = number(&h, "x-ratelimit-reset-after");
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
        }
    }
    // Without waiting, requests in a row are soon refused, whichever server gets them.
    let mut statuses = Vec::new();
    for s in [&a, &b, &a, &b, &a, &b] {
        statuses.push(
            send(s, Method::GET, "/users/@me/guilds", Some(&token), None)
                .await
                .0,
        );
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    clear_redis(&prefix).await;
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_addresses_only_from_trusted_proxies() {
    let get = |s: &Server, forwarded: &'static str| {
        let req = s
            .http
            .get(s.url("/policies/instance"))
            .header("x-forwarded-for", forwarded);
        async move { req.send().await.expect("request").status() }
    };
    let trusting = Server::start_with("sqlite", |c| {
        generous(c);
        c.rate_limits.default_route = Quota::new(1, 5000);
        c.security.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    assert_eq!(get(&trusting, "203.0.113.1").await, StatusCode::OK);
    assert_eq!(get(&trusting, "203.0.113.2").await, StatusCode::OK);
    assert_eq!(
        get(&trusting, "203.0.113.1").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    trusting.stop().await;
    let direct = Server::start_with("sqlite", |c| {
        generous(c);
        c.rate_limits.default_route = Quota::new(1, 5000);
    })
    .await;
    assert_eq!(get(&direct, "203.0.113.1").await, StatusCode::OK);
    assert_eq!(
        get(&direct, "203.0.113.2").await,
        StatusCode::TOO_MANY_REQUESTS,
        "a client cannot pick its own address"
    );
    direct.stop().await;
}
