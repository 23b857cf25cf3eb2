//! Reading a channel's history: 10,000 messages walked through `before` with limit 100 (every
//! id once, newest first), `after`, `around`, and the `limit` bounds — on both backends.

mod common;
mod messages_util;

use accord_model::{ChannelId, MessageId, UserId};
use accord_store::NewMessage;
use messages_util::Ctx;
use reqwest::{Method, StatusCode};
use serde_json::Value;

async fn page(c: &Ctx, query: &str) -> Vec<u64> {
    let (st, list) =
        c.s.call(
            Method::GET,
            &format!("/channels/{}/messages?{query}", c.channel),
            Some(&c.member),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().parse().unwrap())
        .collect()
}

async fn ten_thousand(backend: &str) {
    let c = Ctx::new(backend).await;
    let channel: ChannelId = c.channel.parse().unwrap();
    let author: UserId = c.owner_id.parse().unwrap();
    let guild = Some(c.guild.parse().unwrap());
    let inserted: Vec<u64> = (0..10_000)
        .map(|_| {
            let id: MessageId = c.s.state.ids.next();
            id.get()
        })
        .collect();
    // Written by a few tasks at once (ids were taken in order above).
    let mut tasks = Vec::new();
    for (t, chunk) in inserted.chunks(2_500).enumerate() {
        let store = c.s.state.store.clone();
        let chunk = chunk.to_vec();
        tasks.push(tokio::spawn(async move {
            for (i, id) in chunk.into_iter().enumerate() {
                let mut m =
                    NewMessage::new(MessageId::new(id), channel, author, format!("m{t}-{i}"));
                m.guild_id = guild;
                store.create_message(&m).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    // Newest first, 100 at a time, through `before`.
    let mut seen: Vec<u64> = Vec::new();
    let mut query = "limit=100".to_owned();
    loop {
        let ids = page(&c, &query).await;
        if ids.is_empty() {
            break;
        }
        assert!(ids.len() <= 100);
        seen.extend(&ids);
        query = format!("limit=100&before={}", ids.last().unwrap());
    }
    let mut expected = inserted.clone();
    expected.reverse();
    assert_eq!(seen, expected, "every message once, newest first");

    // Default limit 50; `after` and `around`.
    assert_eq!(page(&c, "").await, expected[..50].to_vec());
    let k = 5_000;
    let after = page(&c, &format!("after={}&limit=3", inserted[k])).await;
    assert_eq!(
        after,
        vec![inserted[k + 3], inserted[k + 2], inserted[k + 1]]
    );
    let around = page(&c, &format!("around={}&limit=5", inserted[k])).await;
    assert_eq!(
        around,
        vec![
            inserted[k + 2],
            inserted[k + 1],
            inserted[k],
            inserted[k - 1],
            inserted[k - 2]
        ]
    );
    // `limit` outside 1–100 and a bad snowflake: 50035.
    for q in ["limit=0", "limit=101", "limit=x", "before=abc"] {
        let (st, err): (StatusCode, Value) =
            c.s.call(
                Method::GET,
                &format!("/channels/{}/messages?{q}", c.channel),
                Some(&c.member),
                None,
            )
            .await;
        assert_eq!(
            (st, err["code"].as_u64()),
            (StatusCode::BAD_REQUEST, Some(50035)),
            "{q}"
        );
    }
    c.s.stop().await;
}

both_backends!(ten_thousand);
