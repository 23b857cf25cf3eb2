//! `GET /gateway` and `GET /gateway/bot`: the configured public URL, the recommended shard
//! count and the identify budget — on both backends.

mod common;

use common::Server;
use reqwest::{Method, StatusCode};

async fn gateway_urls(backend: &str) {
    let s = Server::start_with(backend, |c| {
        c.gateway.public_url = Some("wss://gateway.example.test".into());
        c.gateway.identifies_per_day = 7;
        c.gateway.max_concurrency = 2;
    })
    .await;
    let (st, body) = s.call(Method::GET, "/gateway", None, None).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        serde_json::json!({"url": "wss://gateway.example.test"})
    );

    let owner = s.register("owner", "correct horse battery").await;
    let (_, bot) = s.bot(&owner, "Sharded").await;
    let bot = format!("Bot {bot}");
    let (st, body) = s.call(Method::GET, "/gateway/bot", Some(&bot), None).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["url"], "wss://gateway.example.test");
    assert_eq!(body["shards"], 1);
    let limit = &body["session_start_limit"];
    assert_eq!(limit["total"], 7);
    assert_eq!(limit["remaining"], 7);
    assert_eq!(limit["max_concurrency"], 2);
    let reset = limit["reset_after"].as_u64().unwrap();
    assert!(reset > 0 && reset <= 86_400_000, "{body}");

    // The budget the gateway spends shows here.
    let bot_id = s.user_id(&bot).await;
    assert!(
        s.state
            .identifies
            .take(accord_model::UserId::new(bot_id.parse().unwrap()))
    );
    let (_, body) = s.call(Method::GET, "/gateway/bot", Some(&bot), None).await;
    assert_eq!(body["session_start_limit"]["remaining"], 6);

    let (st, body) = s.call(Method::GET, "/gateway/bot", None, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{body}");
    s.stop().await;
}

both_backends!(gateway_urls);
