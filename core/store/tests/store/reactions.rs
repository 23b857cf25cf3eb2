//! Pins, reactions and read states.

use accord_model::EmojiId;
use accord_store::reactions::ReactionEmoji;
use accord_store::{NewChannel, NewMessage, Store, StoreError};

use crate::messages::{attachment, post, setup};
use crate::support::{id, on_both_backends, user};

on_both_backends! {
    pins_pin_unpin_list => sqlite_pins_pin_unpin_list, postgres_pins_pin_unpin_list;
    reactions_add_list_remove => sqlite_reactions_add_list_remove, postgres_reactions_add_list_remove;
    read_states_ack_and_mentions => sqlite_read_states_ack_and_mentions, postgres_read_states_ack_and_mentions;
}

async fn pins_pin_unpin_list(store: Store) {
    let (author, chan) = setup(&store).await;
    let g = store.channel(chan).await.unwrap().unwrap().guild().unwrap();
    let other = store
        .create_channel(g, &NewChannel::new(id(), 0, "other"))
        .await
        .unwrap()
        .channel_id();
    let mut ids = Vec::new();
    for i in 0..4 {
        let mut new = NewMessage::new(id(), chan, author, format!("{i}"));
        new.attachments = vec![attachment(&format!("{i}"))];
        ids.push(store.create_message(&new).await.unwrap().message_id());
    }
    assert_eq!(
        store
            .channel(chan)
            .await
            .unwrap()
            .unwrap()
            .last_pin_timestamp,
        None
    );

    // Pin in the order 2, 0, 3.
    for &i in &[2usize, 0, 3] {
        assert!(store.pin_message(chan, ids[i]).await.unwrap());
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    assert!(
        !store.pin_message(chan, ids[0]).await.unwrap(),
        "already pinned"
    );
    assert!(matches!(
        store.pin_message(other, ids[1]).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.pin_message(chan, id()).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.pin_count(chan).await.unwrap(), 3);
    assert!(store.message(chan, ids[2]).await.unwrap().unwrap().pinned);
    assert!(!store.message(chan, ids[1]).await.unwrap().unwrap().pinned);

    let pins = store.pins(chan, None, 50).await.unwrap();
    assert_eq!(
        pins.iter()
            .map(|p| p.message.message_id())
            .collect::<Vec<_>>(),
        vec![ids[3], ids[0], ids[2]]
    );
    assert!(pins.windows(2).all(|w| w[0].pinned_at > w[1].pinned_at));
    for p in &pins {
        assert!(p.message.pinned);
        assert_eq!(p.message.attachments.len(), 1);
        assert_eq!(p.message.attachments[0].filename, p.message.content);
    }
    let last_pin = store
        .channel(chan)
        .await
        .unwrap()
        .unwrap()
        .last_pin_timestamp;
    assert_eq!(last_pin, Some(pins[0].pinned_at));

    let page = store.pins(chan, Some(pins[0].pinned_at), 1).await.unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].message.message_id(), ids[0]);
    let rest = store.pins(chan, Some(page[0].pinned_at), 10).await.unwrap();
    assert_eq!(
        rest.iter()
            .map(|p| p.message.message_id())
            .collect::<Vec<_>>(),
        vec![ids[2]]
    );
    assert!(store.pins(other, None, 50).await.unwrap().is_empty());

    assert!(store.unpin_message(chan, ids[3]).await.unwrap());
    assert!(!store.unpin_message(chan, ids[3]).await.unwrap());
    assert!(
        !store.unpin_message(other, ids[0]).await.unwrap(),
        "scoped to the channel"
    );
    assert_eq!(
        store
            .channel(chan)
            .await
            .unwrap()
            .unwrap()
            .last_pin_timestamp,
        Some(pins[1].pinned_at)
    );
    assert!(store.unpin_message(chan, ids[0]).await.unwrap());
    assert!(store.unpin_message(chan, ids[2]).await.unwrap());
    assert_eq!(
        store
            .channel(chan)
            .await
            .unwrap()
            .unwrap()
            .last_pin_timestamp,
        None
    );
    assert_eq!(store.pin_count(chan).await.unwrap(), 0);
}

async fn reactions_add_list_remove(store: Store) {
    let (author, chan) = setup(&store).await;
    let m = post(&store, chan, author, "react to me").await;
    let m2 = post(&store, chan, author, "me too").await;
    let mut users = vec![author];
    for i in 0..4 {
        users.push(user(&store, &format!("r{i}")).await.user_id());
    }
    let thumbs = ReactionEmoji::unicode("👍");
    let custom_id: EmojiId = id();
    let custom = ReactionEmoji::custom(custom_id, "blob", true);
    assert_eq!(custom.key, custom_id.to_string());

    for u in &users {
        assert!(store.add_reaction(m, &thumbs, *u, false).await.unwrap());
    }
    assert!(
        !store
            .add_reaction(m, &thumbs, users[0], false)
            .await
            .unwrap(),
        "idempotent"
    );
    assert!(
        store
            .add_reaction(m, &thumbs, users[1], true)
            .await
            .unwrap(),
        "a burst reaction is separate"
    );
    assert!(
        store
            .add_reaction(m, &custom, users[2], false)
            .await
            .unwrap()
    );
    assert!(
        store
            .add_reaction(m2, &custom, users[3], false)
            .await
            .unwrap()
    );

    let counts = store.reaction_counts(m, Some(users[1])).await.unwrap();
    assert_eq!(counts.len(), 2);
    assert_eq!(counts[0].emoji_key, "👍", "first reacted first");
    assert_eq!(counts[0].emoji_name.as_deref(), Some("👍"));
    assert_eq!(counts[0].emoji_id, None);
    assert_eq!((counts[0].count, counts[0].burst_count), (5, 1));
    assert!(counts[0].me && counts[0].me_burst);
    assert_eq!(counts[1].emoji_id, Some(custom_id.as_i64()));
    assert_eq!(counts[1].emoji_name.as_deref(), Some("blob"));
    assert!(counts[1].animated);
    assert_eq!((counts[1].count, counts[1].burst_count), (1, 0));
    assert!(!counts[1].me && !counts[1].me_burst);
    assert!(
        store
            .reaction_counts(m, None)
            .await
            .unwrap()
            .iter()
            .all(|c| !c.me && !c.me_burst)
    );

    let batch = store
        .reaction_counts_for(chan, &[m, m2, id()], Some(users[3]))
        .await
        .unwrap();
    assert_eq!(batch.len(), 2);
    assert_eq!(batch[&m.as_i64()].len(), 2);
    assert!(batch[&m2.as_i64()][0].me);
    assert_eq!(batch[&m2.as_i64()][0].count, 1);
    assert!(
        store
            .reaction_counts_for(chan, &[], None)
            .await
            .unwrap()
            .is_empty()
    );

    // Users who reacted, paged by id.
    let mut sorted = users.clone();
    sorted.sort();
    let first = store.reaction_users(m, "👍", false, None, 3).await.unwrap();
    assert_eq!(first, sorted[..3]);
    let rest = store
        .reaction_users(m, "👍", false, first.last().copied(), 3)
        .await
        .unwrap();
    assert_eq!(rest, sorted[3..]);
    assert_eq!(
        store.reaction_users(m, "👍", true, None, 10).await.unwrap(),
        vec![users[1]]
    );
    assert!(
        store
            .reaction_users(m, "nope", false, None, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Own and someone else's: both normal and burst go.
    assert!(store.remove_reaction(m, "👍", users[1]).await.unwrap());
    assert!(!store.remove_reaction(m, "👍", users[1]).await.unwrap());
    assert!(store.remove_reaction(m, "👍", users[0]).await.unwrap());
    let counts = store.reaction_counts(m, None).await.unwrap();
    assert_eq!((counts[0].count, counts[0].burst_count), (3, 0));

    assert_eq!(store.remove_emoji_reactions(m, "👍").await.unwrap(), 3);
    let counts = store.reaction_counts(m, None).await.unwrap();
    assert_eq!(counts.len(), 1);
    assert_eq!(counts[0].emoji_key, custom.key);
    assert_eq!(store.remove_all_reactions(m).await.unwrap(), 1);
    assert!(store.reaction_counts(m, None).await.unwrap().is_empty());
    assert_eq!(
        store.reaction_counts(m2, None).await.unwrap().len(),
        1,
        "other messages keep theirs"
    );
}

async fn read_states_ack_and_mentions(store: Store) {
    let (author, chan) = setup(&store).await;
    let g = store.channel(chan).await.unwrap().unwrap().guild().unwrap();
    let other = store
        .create_channel(g, &NewChannel::new(id(), 0, "other"))
        .await
        .unwrap()
        .channel_id();
    let reader = user(&store, "reader").await.user_id();
    let m1 = post(&store, chan, author, "1").await;
    let m2 = post(&store, chan, author, "2").await;

    assert!(store.read_states(reader).await.unwrap().is_empty());
    store.add_mentions(chan, &[reader, author]).await.unwrap();
    store.add_mentions(chan, &[reader]).await.unwrap();
    let states = store.read_states(reader).await.unwrap();
    assert_eq!(states.len(), 1);
    assert_eq!(states[0].mention_count, 2);
    assert_eq!(states[0].last_message_id, None);

    let s = store.ack_message(reader, chan, m1, 1).await.unwrap();
    assert_eq!((s.last_message_id, s.mention_count), (Some(m1.as_i64()), 1));
    let s = store.ack_message(reader, chan, m2, 0).await.unwrap();
    assert_eq!((s.last_message_id, s.mention_count), (Some(m2.as_i64()), 0));
    let at = accord_store::now();
    let s = store.ack_pins(reader, chan, at).await.unwrap();
    assert_eq!(s.last_pin_timestamp, Some(at));
    assert_eq!(
        s.last_message_id,
        Some(m2.as_i64()),
        "acking pins keeps the message ack"
    );
    let s = store.ack_pins(reader, other, at).await.unwrap();
    assert_eq!((s.last_message_id, s.mention_count), (None, 0));

    let states = store.read_states(reader).await.unwrap();
    assert_eq!(
        states.iter().map(|s| s.channel_id).collect::<Vec<_>>(),
        vec![chan.as_i64(), other.as_i64()]
    );
    assert_eq!(store.read_states(author).await.unwrap()[0].mention_count, 1);
}
