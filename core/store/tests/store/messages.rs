//! Messages and their attachments: creation, paging, edits and deletion.

use accord_model::{AttachmentId, ChannelId, MessageId, UserId};
use accord_store::reactions::ReactionEmoji;
use accord_store::{
    MessageEdit, MessageQuery, NewAttachment, NewChannel, NewMessage, Store, StoreError,
};
use serde_json::json;

use crate::support::{guild, id, on_both_backends, user};

on_both_backends! {
    message_create_and_read => sqlite_message_create_and_read, postgres_message_create_and_read;
    message_paging => sqlite_message_paging, postgres_message_paging;
    message_edit => sqlite_message_edit, postgres_message_edit;
    message_delete_and_bulk_delete => sqlite_message_delete_and_bulk_delete, postgres_message_delete_and_bulk_delete;
}

/// A guild with one text channel; returns the author and the channel.
pub async fn setup(store: &Store) -> (UserId, ChannelId) {
    let author = user(store, "author").await.user_id();
    let g = guild(store, author, "g").await;
    let chan = store
        .create_channel(g, &NewChannel::new(id(), 0, "general"))
        .await
        .unwrap();
    (author, chan.channel_id())
}

pub async fn post(store: &Store, channel: ChannelId, author: UserId, content: &str) -> MessageId {
    store
        .create_message(&NewMessage::new(id(), channel, author, content))
        .await
        .unwrap()
        .message_id()
}

pub fn attachment(name: &str) -> NewAttachment {
    NewAttachment {
        id: id(),
        filename: name.into(),
        description: Some("alt".into()),
        content_type: Some("image/png".into()),
        size: 1234,
        storage_key: format!("attachments/{name}"),
        height: Some(10),
        width: Some(20),
        ephemeral: false,
        duration_secs: Some(1.5),
        waveform: None,
        flags: 0,
    }
}

async fn message_create_and_read(store: Store) {
    let (author, chan) = setup(&store).await;
    let g = store.channel(chan).await.unwrap().unwrap().guild().unwrap();
    let bob = user(&store, "bob").await.user_id();
    let carol = user(&store, "carol").await.user_id();
    let role = store
        .create_role(&accord_store::NewRole::new(id(), g, "r"))
        .await
        .unwrap()
        .role_id();
    let first = post(&store, chan, author, "first").await;

    let mut new = NewMessage::new(id(), chan, author, "hello <@bob>");
    new.guild_id = Some(g);
    new.nonce = Some("n1".into());
    new.tts = true;
    new.mention_everyone = true;
    new.mentions = vec![carol, bob, bob];
    new.mention_roles = vec![role];
    new.reference = Some((first, chan, Some(g)));
    new.embeds = json!([{"title": "t", "fields": [{"name": "a", "value": "b"}]}]);
    new.components = json!([{"type": 1, "components": []}]);
    new.kind = 19;
    new.attachments = vec![attachment("b.png"), attachment("a.png")];
    let m = store.create_message(&new).await.unwrap();
    // What create returns (built from the write, without a read-back) is exactly what a read
    // returns.
    assert_eq!(
        Some(&m),
        store.message(chan, new.id).await.unwrap().as_ref()
    );
    assert_eq!(m.message_id(), new.id);
    assert_eq!(m.channel_id, chan.as_i64());
    assert_eq!(m.guild_id, Some(g.as_i64()));
    assert_eq!(m.kind, 19);
    assert_eq!(m.content, "hello <@bob>");
    assert!(m.tts && m.mention_everyone && !m.pinned);
    assert_eq!(m.nonce.as_deref(), Some("n1"));
    assert_eq!(m.edited_at, None);
    assert_eq!(m.reference_message_id, Some(first.as_i64()));
    assert_eq!(m.reference_guild_id, Some(g.as_i64()));
    assert_eq!(m.embeds.0, new.embeds);
    assert_eq!(m.components.0, new.components);
    let mut mentions = vec![bob.as_i64(), carol.as_i64()];
    mentions.sort();
    assert_eq!(m.mentions, mentions);
    assert_eq!(m.mention_roles, vec![role.as_i64()]);
    assert_eq!(m.attachments.len(), 2);
    assert_eq!(
        m.attachments[0].id,
        new.attachments[0].id.as_i64(),
        "attachments by id"
    );
    assert_eq!(m.attachments[0].filename, "b.png");
    assert_eq!(m.attachments[0].duration_secs, Some(1.5));
    assert_eq!(m.attachments[1].storage_key, "attachments/a.png");
    assert_eq!(m.attachments[1].message_id, Some(m.id));
    let att: AttachmentId = new.attachments[1].id;
    assert_eq!(
        store.attachment(att).await.unwrap().as_ref(),
        Some(&m.attachments[1])
    );
    assert_eq!(store.attachment(id()).await.unwrap(), None);

    assert_eq!(
        store.message(chan, new.id).await.unwrap().as_ref(),
        Some(&m)
    );
    let other = store
        .create_channel(g, &NewChannel::new(id(), 0, "other"))
        .await
        .unwrap()
        .channel_id();
    assert_eq!(
        store.message(other, new.id).await.unwrap(),
        None,
        "scoped to the channel"
    );
    assert_eq!(
        store.channel(chan).await.unwrap().unwrap().last_message_id,
        Some(m.id)
    );

    // Duplicate ids conflict, and a failed message leaves nothing (not even its attachments).
    let mut dup = NewMessage::new(new.id, chan, author, "dup");
    dup.attachments = vec![attachment("c.png")];
    assert!(matches!(
        store.create_message(&dup).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.attachment(dup.attachments[0].id).await.unwrap(), None);
    // An older message (imported, say) does not move last_message_id back.
    let older = NewMessage::new(MessageId::new(first.get() - 1), chan, author, "older");
    store.create_message(&older).await.unwrap();
    assert_eq!(
        store.channel(chan).await.unwrap().unwrap().last_message_id,
        Some(m.id)
    );
}

async fn message_paging(store: Store) {
    let (author, chan) = setup(&store).await;
    let mentioned = user(&store, "mentioned").await.user_id();
    let other = {
        let g = store.channel(chan).await.unwrap().unwrap().guild().unwrap();
        store
            .create_channel(g, &NewChannel::new(id(), 0, "other"))
            .await
            .unwrap()
            .channel_id()
    };
    let mut ids = Vec::new();
    for i in 0..10u32 {
        let mut new = NewMessage::new(id(), chan, author, format!("m{i}"));
        if i.is_multiple_of(3) {
            new.mentions = vec![mentioned];
            new.attachments = vec![attachment(&format!("{i}.txt"))];
        }
        ids.push(store.create_message(&new).await.unwrap().message_id());
        // Interleave messages of another channel.
        post(&store, other, author, "noise").await;
    }
    let page = |v: Vec<accord_store::MessageRecord>| {
        v.into_iter().map(|m| m.message_id()).collect::<Vec<_>>()
    };
    let rev = |s: &[MessageId]| s.iter().rev().copied().collect::<Vec<_>>();

    assert_eq!(
        page(store.messages(chan, MessageQuery::Latest, 3).await.unwrap()),
        rev(&ids[7..])
    );
    assert_eq!(
        page(
            store
                .messages(chan, MessageQuery::Latest, 50)
                .await
                .unwrap()
        ),
        rev(&ids)
    );
    assert_eq!(
        page(
            store
                .messages(chan, MessageQuery::Before(ids[5]), 3)
                .await
                .unwrap()
        ),
        rev(&ids[2..5])
    );
    assert_eq!(
        page(
            store
                .messages(chan, MessageQuery::Before(ids[1]), 3)
                .await
                .unwrap()
        ),
        rev(&ids[..1])
    );
    assert_eq!(
        page(
            store
                .messages(chan, MessageQuery::After(ids[5]), 3)
                .await
                .unwrap()
        ),
        rev(&ids[6..9])
    );
    assert_eq!(
        page(
            store
                .messages(chan, MessageQuery::After(ids[9]), 3)
                .await
                .unwrap()
        ),
        vec![]
    );
    assert_eq!(
        page(
            store
                .messages(chan, MessageQuery::Around(ids[5]), 4)
                .await
                .unwrap()
        ),
        rev(&ids[3..7])
    );
    assert_eq!(
        page(
            store
                .messages(chan, MessageQuery::Around(ids[5]), 3)
                .await
                .unwrap()
        ),
        rev(&ids[4..7])
    );
    assert_eq!(
        page(
            store
                .messages(chan, MessageQuery::Around(ids[0]), 4)
                .await
                .unwrap()
        ),
        rev(&ids[..2])
    );
    assert_eq!(
        page(
            store
                .messages(chan, MessageQuery::Around(ids[9]), 5)
                .await
                .unwrap()
        ),
        rev(&ids[7..])
    );
    assert_eq!(
        page(
            store
                .messages(chan, MessageQuery::Around(ids[5]), 1)
                .await
                .unwrap()
        ),
        vec![ids[5]]
    );

    // Every message of a page carries exactly its own mentions and attachments.
    for m in store
        .messages(chan, MessageQuery::Latest, 50)
        .await
        .unwrap()
    {
        let i: u32 = m.content[1..].parse().unwrap();
        if i.is_multiple_of(3) {
            assert_eq!(m.mentions, vec![mentioned.as_i64()]);
            assert_eq!(m.attachments.len(), 1);
            assert_eq!(m.attachments[0].filename, format!("{i}.txt"));
        } else {
            assert!(m.mentions.is_empty() && m.attachments.is_empty());
        }
        assert_eq!(store.message(chan, m.message_id()).await.unwrap(), Some(m));
    }
    assert_eq!(
        store
            .messages(other, MessageQuery::Latest, 50)
            .await
            .unwrap()
            .len(),
        10
    );
}

async fn message_edit(store: Store) {
    let (author, chan) = setup(&store).await;
    let bob = user(&store, "bob").await.user_id();
    let mut new = NewMessage::new(id(), chan, author, "before");
    new.mentions = vec![bob];
    let m = store.create_message(&new).await.unwrap();

    let flags_only = store
        .edit_message(
            chan,
            m.message_id(),
            &MessageEdit {
                flags: Some(4),
                ..MessageEdit::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(flags_only.flags, 4);
    assert_eq!(
        flags_only.edited_at, None,
        "suppressing embeds is not an edit"
    );
    assert_eq!(flags_only.content, "before");

    let edit = MessageEdit {
        content: Some("after".into()),
        embeds: Some(json!([{"description": "d"}])),
        mentions: Some(vec![author]),
        mention_everyone: Some(true),
        ..MessageEdit::default()
    };
    let edited = store
        .edit_message(chan, m.message_id(), &edit)
        .await
        .unwrap();
    assert_eq!(edited.content, "after");
    assert_eq!(edited.embeds.0, json!([{"description": "d"}]));
    assert_eq!(edited.mentions, vec![author.as_i64()]);
    assert!(edited.mention_everyone);
    assert_eq!(edited.flags, 4);
    assert!(edited.edited_at.is_some_and(|t| t >= m.created_at));
    assert_eq!(edited.created_at, m.created_at);
    assert_eq!(
        store.message(chan, m.message_id()).await.unwrap(),
        Some(edited)
    );

    let other = {
        let g = store.channel(chan).await.unwrap().unwrap().guild().unwrap();
        store
            .create_channel(g, &NewChannel::new(id(), 0, "other"))
            .await
            .unwrap()
            .channel_id()
    };
    assert!(matches!(
        store.edit_message(other, m.message_id(), &edit).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.edit_message(chan, id(), &edit).await,
        Err(StoreError::NotFound)
    ));
}

async fn message_delete_and_bulk_delete(store: Store) {
    let (author, chan) = setup(&store).await;
    let g = store.channel(chan).await.unwrap().unwrap().guild().unwrap();
    let other = store
        .create_channel(g, &NewChannel::new(id(), 0, "other"))
        .await
        .unwrap()
        .channel_id();
    let mut new = NewMessage::new(id(), chan, author, "with file");
    new.attachments = vec![attachment("f")];
    let m = store.create_message(&new).await.unwrap();
    store
        .add_reaction(m.message_id(), &ReactionEmoji::unicode("🔥"), author, false)
        .await
        .unwrap();
    store.pin_message(chan, m.message_id()).await.unwrap();

    assert!(matches!(
        store.delete_message(other, m.message_id()).await,
        Err(StoreError::NotFound)
    ));
    store.delete_message(chan, m.message_id()).await.unwrap();
    assert_eq!(store.message(chan, m.message_id()).await.unwrap(), None);
    assert_eq!(store.attachment(new.attachments[0].id).await.unwrap(), None);
    assert!(
        store
            .reaction_counts(m.message_id(), None)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.pin_count(chan).await.unwrap(), 0);
    assert!(matches!(
        store.delete_message(chan, m.message_id()).await,
        Err(StoreError::NotFound)
    ));

    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(post(&store, chan, author, &format!("{i}")).await);
    }
    let elsewhere = post(&store, other, author, "elsewhere").await;
    let deleted = store
        .bulk_delete_messages(chan, &[ids[0], ids[2], ids[4], elsewhere, id(), ids[2]])
        .await
        .unwrap();
    assert_eq!(deleted, 3);
    let left: Vec<_> = store
        .messages(chan, MessageQuery::Latest, 50)
        .await
        .unwrap()
        .iter()
        .map(|m| m.message_id())
        .collect();
    assert_eq!(left, vec![ids[3], ids[1]]);
    assert!(store.message(other, elsewhere).await.unwrap().is_some());
    assert_eq!(store.bulk_delete_messages(chan, &[]).await.unwrap(), 0);
}
