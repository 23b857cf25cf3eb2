//! Group commit of new messages: many concurrent creates across channels land exactly once with
//! their mentions, each channel's `last_message_id` ends at its newest message, and a message
//! that cannot be written fails alone without taking its batch-mates with it.

use accord_model::{ChannelId, MessageId, UserId};
use accord_store::{MessageQuery, NewChannel, NewMessage, Store, StoreError};

use crate::support::{guild, id, on_both_backends, user};

on_both_backends! {
    concurrent_creates_batch => sqlite_concurrent_creates_batch, postgres_concurrent_creates_batch;
    failures_stay_alone => sqlite_failures_stay_alone, postgres_failures_stay_alone;
}

const PER_CHANNEL: usize = 60;

async fn channels(store: &Store, owner: UserId, n: usize) -> Vec<ChannelId> {
    let g = guild(store, owner, "batch").await;
    let mut out = Vec::new();
    for i in 0..n {
        let c = store
            .create_channel(g, &NewChannel::new(id(), 0, format!("c{i}")))
            .await
            .unwrap();
        out.push(c.channel_id());
    }
    out
}

async fn concurrent_creates_batch(store: Store) {
    let author = user(&store, "author").await.user_id();
    let mentioned = user(&store, "mentioned").await.user_id();
    let chans = channels(&store, author, 3).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..PER_CHANNEL * chans.len() {
        let store = store.clone();
        let chan = chans[i % chans.len()];
        tasks.spawn(async move {
            let mut m = NewMessage::new(id(), chan, author, format!("message {i}"));
            if i % 7 == 0 {
                m.mentions = vec![mentioned, mentioned];
            }
            let record = store.create_message(&m).await.unwrap();
            (chan, record.message_id(), i % 7 == 0)
        });
    }
    let mut written: Vec<(ChannelId, MessageId, bool)> = Vec::new();
    while let Some(r) = tasks.join_next().await {
        written.push(r.unwrap());
    }
    for chan in &chans {
        let mut ours: Vec<(MessageId, bool)> = written
            .iter()
            .filter(|(c, _, _)| c == chan)
            .map(|(_, m, mention)| (*m, *mention))
            .collect();
        ours.sort();
        let page = store
            .messages(*chan, MessageQuery::Latest, 100)
            .await
            .unwrap();
        let mut stored: Vec<(MessageId, bool)> = page
            .iter()
            .map(|m| (m.message_id(), m.mentions == vec![mentioned.as_i64()]))
            .collect();
        stored.sort();
        assert_eq!(
            stored, ours,
            "every acknowledged message is stored once, mentions too"
        );
        let newest = ours.iter().map(|(m, _)| *m).max().unwrap();
        assert_eq!(
            store.channel(*chan).await.unwrap().unwrap().last_message_id,
            Some(newest.as_i64())
        );
    }
}

async fn failures_stay_alone(store: Store) {
    let author = user(&store, "author").await.user_id();
    let chans = channels(&store, author, 1).await;
    let chan = chans[0];
    let taken = store
        .create_message(&NewMessage::new(id(), chan, author, "first"))
        .await
        .unwrap()
        .message_id();
    // Duplicates of a taken id race with good messages in the same channel (same writer).
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..40 {
        let store = store.clone();
        tasks.spawn(async move {
            let m = if i % 4 == 0 {
                NewMessage::new(taken, chan, author, "duplicate")
            } else {
                NewMessage::new(id(), chan, author, format!("good {i}"))
            };
            (i % 4 == 0, store.create_message(&m).await)
        });
    }
    let mut good = 0;
    while let Some(r) = tasks.join_next().await {
        match r.unwrap() {
            (true, outcome) => assert!(matches!(outcome, Err(StoreError::Conflict(_)))),
            (false, outcome) => {
                outcome.unwrap();
                good += 1;
            }
        }
    }
    let page = store
        .messages(chan, MessageQuery::Latest, 100)
        .await
        .unwrap();
    assert_eq!(page.len(), good + 1);
    assert_eq!(
        page.iter().filter(|m| m.content == "duplicate").count(),
        0,
        "no duplicate replaced the original"
    );
}
