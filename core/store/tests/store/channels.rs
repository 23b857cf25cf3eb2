//! Guild channels, DMs, group DMs and permission overwrites.

use accord_model::{ChannelId, GenericId, MessageId, Permissions};
use accord_store::channels::ChannelPatch;
use accord_store::dms::{CHANNEL_TYPE_DM, CHANNEL_TYPE_GROUP_DM, dm_key};
use accord_store::overwrites::{OVERWRITE_MEMBER, OVERWRITE_ROLE};
use accord_store::{NewChannel, NewOverwrite, Store, StoreError};

use crate::support::{guild, id, on_both_backends, user};

on_both_backends! {
    guild_channels_crud => sqlite_guild_channels_crud, postgres_guild_channels_crud;
    dm_is_unique_per_pair => sqlite_dm_is_unique_per_pair, postgres_dm_is_unique_per_pair;
    group_dm_recipients => sqlite_group_dm_recipients, postgres_group_dm_recipients;
    overwrites_upsert_and_delete => sqlite_overwrites_upsert_and_delete, postgres_overwrites_upsert_and_delete;
}

async fn guild_channels_crud(store: Store) {
    let owner = user(&store, "owner").await;
    let g = guild(&store, owner.user_id(), "g").await;
    let category = store
        .create_channel(g, &NewChannel::new(id(), 4, "Text Channels"))
        .await
        .unwrap();
    let mut new = NewChannel::new(id(), 0, "general");
    new.topic = Some("talk".into());
    new.position = 2;
    new.nsfw = true;
    new.parent_id = Some(category.channel_id());
    new.rate_limit_per_user = 5;
    new.overwrites.push(NewOverwrite {
        target_id: owner.user_id().cast(),
        kind: OVERWRITE_MEMBER,
        allow: Permissions::MANAGE_CHANNELS,
        deny: Permissions::empty(),
    });
    let general = store.create_channel(g, &new).await.unwrap();
    assert_eq!(general.kind, 0);
    assert_eq!(general.guild(), Some(g));
    assert_eq!(general.name.as_deref(), Some("general"));
    assert_eq!(general.topic.as_deref(), Some("talk"));
    assert!(general.nsfw);
    assert_eq!(general.parent_id, Some(category.id));
    assert_eq!(general.rate_limit_per_user, 5);
    assert_eq!(general.last_message_id, None);
    assert_eq!(general.dm_key, None);
    assert_eq!(
        store.channel(general.channel_id()).await.unwrap().as_ref(),
        Some(&general)
    );
    assert_eq!(store.channel(id()).await.unwrap(), None);
    assert_eq!(
        store
            .channel_overwrites(general.channel_id())
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(matches!(
        store.create_channel(g, &new).await,
        Err(StoreError::Conflict(_))
    ));
    let voice = store
        .create_channel(g, &NewChannel::new(id(), 2, "voice"))
        .await
        .unwrap();

    let order = |v: Vec<accord_store::ChannelRecord>| {
        v.into_iter().map(|c| c.channel_id()).collect::<Vec<_>>()
    };
    // By position, then id.
    assert_eq!(
        order(store.guild_channels(g).await.unwrap()),
        vec![
            category.channel_id(),
            voice.channel_id(),
            general.channel_id()
        ]
    );

    let patch = ChannelPatch {
        name: Some(Some("chat".into())),
        topic: Some(None),
        nsfw: Some(false),
        parent_id: Some(None),
        kind: Some(5),
        flags: Some(2),
        ..ChannelPatch::default()
    };
    let updated = store
        .update_channel(general.channel_id(), &patch)
        .await
        .unwrap();
    assert_eq!(updated.name.as_deref(), Some("chat"));
    assert_eq!(updated.topic, None);
    assert!(!updated.nsfw);
    assert_eq!(updated.parent_id, None);
    assert_eq!(updated.kind, 5);
    assert_eq!(updated.flags, 2);
    assert_eq!(updated.rate_limit_per_user, 5);
    assert_eq!(updated.position, 2);
    let voice2 = store
        .update_channel(
            voice.channel_id(),
            &ChannelPatch {
                bitrate: Some(Some(96000)),
                user_limit: Some(Some(5)),
                ..ChannelPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((voice2.bitrate, voice2.user_limit), (Some(96000), Some(5)));
    assert!(matches!(
        store.update_channel(id(), &ChannelPatch::default()).await,
        Err(StoreError::NotFound)
    ));

    store
        .set_channel_positions(
            g,
            &[
                (general.channel_id(), 0),
                (category.channel_id(), 1),
                (voice.channel_id(), 2),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        order(store.guild_channels(g).await.unwrap()),
        vec![
            general.channel_id(),
            category.channel_id(),
            voice.channel_id()
        ]
    );
    let other = guild(&store, owner.user_id(), "other").await;
    let foreign = store
        .create_channel(other, &NewChannel::new(id(), 0, "x"))
        .await
        .unwrap();
    assert!(matches!(
        store
            .set_channel_positions(g, &[(voice.channel_id(), 0), (foreign.channel_id(), 0)])
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store
            .channel(voice.channel_id())
            .await
            .unwrap()
            .unwrap()
            .position,
        2,
        "rolled back"
    );

    let m: MessageId = id();
    store
        .set_last_message_id(general.channel_id(), Some(m))
        .await
        .unwrap();
    assert_eq!(
        store
            .channel(general.channel_id())
            .await
            .unwrap()
            .unwrap()
            .last_message_id,
        Some(m.as_i64())
    );
    store
        .set_last_message_id(general.channel_id(), None)
        .await
        .unwrap();
    assert_eq!(
        store
            .channel(general.channel_id())
            .await
            .unwrap()
            .unwrap()
            .last_message_id,
        None
    );
    assert!(matches!(
        store.set_last_message_id(id(), Some(m)).await,
        Err(StoreError::NotFound)
    ));

    store.delete_channel(general.channel_id()).await.unwrap();
    assert_eq!(store.channel(general.channel_id()).await.unwrap(), None);
    assert!(
        store
            .channel_overwrites(general.channel_id())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        store.delete_channel(general.channel_id()).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.guild_channels(g).await.unwrap().len(), 2);
}

async fn dm_is_unique_per_pair(store: Store) {
    let a = user(&store, "a").await.user_id();
    let b = user(&store, "b").await.user_id();
    let c = user(&store, "c").await.user_id();
    assert_eq!(dm_key(a, b), dm_key(b, a));
    assert_eq!(dm_key(a, b), format!("{}:{}", a.min(b), a.max(b)));

    let first: ChannelId = id();
    let (dm, created) = store.create_dm(first, a, b).await.unwrap();
    assert!(created);
    assert_eq!(dm.channel_id(), first);
    assert_eq!(dm.kind, CHANNEL_TYPE_DM);
    assert_eq!(dm.guild_id, None);
    assert_eq!(dm.dm_key.as_deref(), Some(dm_key(a, b).as_str()));
    let mut pair = vec![a, b];
    pair.sort();
    assert_eq!(store.recipients(first).await.unwrap(), pair);

    // The other way round (and with a fresh id) returns the first channel.
    let (again, created) = store.create_dm(id(), b, a).await.unwrap();
    assert!(!created);
    assert_eq!(again, dm);
    assert_eq!(store.dm_between(b, a).await.unwrap(), Some(dm.clone()));
    assert_eq!(store.dm_between(a, c).await.unwrap(), None);

    // Racing creations of a new pair agree on one channel.
    let (x, y) = tokio::join!(store.create_dm(id(), a, c), store.create_dm(id(), c, a));
    let (x, y) = (x.unwrap(), y.unwrap());
    assert_eq!(x.0, y.0);
    assert!(x.1 ^ y.1, "exactly one call created it");
    assert_eq!(store.recipients(x.0.channel_id()).await.unwrap().len(), 2);

    // A DM with oneself has one recipient.
    let (own, created) = store.create_dm(id(), c, c).await.unwrap();
    assert!(created);
    assert_eq!(store.recipients(own.channel_id()).await.unwrap(), vec![c]);

    let private = store.private_channels(a).await.unwrap();
    assert_eq!(
        private.iter().map(|ch| ch.channel_id()).collect::<Vec<_>>(),
        vec![first, x.0.channel_id()]
    );
    assert_eq!(store.private_channels(c).await.unwrap().len(), 2);
}

async fn group_dm_recipients(store: Store) {
    let owner = user(&store, "owner").await.user_id();
    let b = user(&store, "b").await.user_id();
    let c = user(&store, "c").await.user_id();
    let d = user(&store, "d").await.user_id();
    let gid: ChannelId = id();
    let group = store
        .create_group_dm(gid, owner, &[b, c, b], Some("friends"), None)
        .await
        .unwrap();
    assert_eq!(group.kind, CHANNEL_TYPE_GROUP_DM);
    assert_eq!(group.owner_id, Some(owner.as_i64()));
    assert_eq!(group.name.as_deref(), Some("friends"));
    assert_eq!(group.dm_key, None);
    let mut expected = vec![owner, b, c];
    expected.sort();
    assert_eq!(store.recipients(gid).await.unwrap(), expected);

    assert!(store.add_recipient(gid, d).await.unwrap());
    assert!(!store.add_recipient(gid, d).await.unwrap());
    assert!(store.remove_recipient(gid, b).await.unwrap());
    assert!(!store.remove_recipient(gid, b).await.unwrap());
    let mut expected = vec![owner, c, d];
    expected.sort();
    assert_eq!(store.recipients(gid).await.unwrap(), expected);
    assert_eq!(
        store.private_channels(d).await.unwrap(),
        vec![group.clone()]
    );
    assert!(store.private_channels(b).await.unwrap().is_empty());

    let patch = ChannelPatch {
        name: Some(None),
        icon: Some(Some("icon".into())),
        owner_id: Some(c),
        ..ChannelPatch::default()
    };
    let updated = store.update_channel(gid, &patch).await.unwrap();
    assert_eq!(updated.name, None);
    assert_eq!(updated.icon.as_deref(), Some("icon"));
    assert_eq!(updated.owner_id, Some(c.as_i64()));

    store.delete_channel(gid).await.unwrap();
    assert!(store.recipients(gid).await.unwrap().is_empty());
}

async fn overwrites_upsert_and_delete(store: Store) {
    let owner = user(&store, "owner").await;
    let g = guild(&store, owner.user_id(), "g").await;
    let chan = store
        .create_channel(g, &NewChannel::new(id(), 0, "general"))
        .await
        .unwrap()
        .channel_id();
    let second = store
        .create_channel(g, &NewChannel::new(id(), 0, "second"))
        .await
        .unwrap()
        .channel_id();
    let everyone: GenericId = g.cast();
    let member: GenericId = owner.user_id().cast();

    let o = NewOverwrite {
        target_id: member,
        kind: OVERWRITE_MEMBER,
        allow: Permissions::SEND_MESSAGES,
        deny: Permissions::empty(),
    };
    let first = store.upsert_overwrite(chan, &o).await.unwrap();
    assert_eq!(first.allow(), Permissions::SEND_MESSAGES);
    assert_eq!(first.kind, OVERWRITE_MEMBER);
    let role_o = NewOverwrite {
        target_id: everyone,
        kind: OVERWRITE_ROLE,
        allow: Permissions::empty(),
        deny: Permissions::VIEW_CHANNEL,
    };
    store.upsert_overwrite(chan, &role_o).await.unwrap();
    store.upsert_overwrite(second, &role_o).await.unwrap();

    // The same target again replaces the row.
    let replaced = NewOverwrite {
        allow: Permissions::empty(),
        deny: Permissions::ADD_REACTIONS,
        ..o.clone()
    };
    let row = store.upsert_overwrite(chan, &replaced).await.unwrap();
    assert_eq!(row.allow, 0);
    assert_eq!(row.deny(), Permissions::ADD_REACTIONS);
    let rows = store.channel_overwrites(chan).await.unwrap();
    assert_eq!(rows.len(), 2);
    let mut targets = vec![everyone.as_i64(), member.as_i64()];
    targets.sort();
    assert_eq!(
        rows.iter().map(|r| r.target_id).collect::<Vec<_>>(),
        targets
    );
    assert!(rows.contains(&row));
    assert_eq!(store.guild_overwrites(g).await.unwrap().len(), 3);

    store.delete_overwrite(chan, member).await.unwrap();
    assert!(matches!(
        store.delete_overwrite(chan, member).await,
        Err(StoreError::NotFound)
    ));
    let rows = store.channel_overwrites(chan).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].kind, OVERWRITE_ROLE);
    assert_eq!(rows[0].deny(), Permissions::VIEW_CHANNEL);
}
