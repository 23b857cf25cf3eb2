//! Guilds, their paging per user, and the cascade of a guild's deletion.

use accord_model::{ChannelId, GuildId, Permissions};
use accord_store::overwrites::OVERWRITE_ROLE;
use accord_store::reactions::ReactionEmoji;
use accord_store::{
    GuildPatch, NewChannel, NewEmoji, NewGuild, NewInvite, NewMember, NewMessage, NewOverwrite,
    NewRole, NewWebhook, Store, StoreError,
};

use crate::support::{guild, id, on_both_backends, user};

on_both_backends! {
    guild_create_and_read => sqlite_guild_create_and_read, postgres_guild_create_and_read;
    guild_update => sqlite_guild_update, postgres_guild_update;
    guilds_of_user_paging => sqlite_guilds_of_user_paging, postgres_guilds_of_user_paging;
    guild_delete_cascades => sqlite_guild_delete_cascades, postgres_guild_delete_cascades;
}

async fn guild_create_and_read(store: Store) {
    let owner = user(&store, "owner").await;
    let general: ChannelId = id();
    let voice: ChannelId = id();
    let gid: GuildId = id();
    let mut new = NewGuild::new(
        gid,
        "Home",
        owner.user_id(),
        Permissions::VIEW_CHANNEL | Permissions::SEND_MESSAGES,
    );
    new.description = Some("a place".into());
    new.features = vec!["COMMUNITY".into(), "NEWS".into()];
    new.verification_level = 2;
    let mut text = NewChannel::new(general, 0, "general");
    text.topic = Some("chat".into());
    text.overwrites.push(NewOverwrite {
        target_id: gid.cast(),
        kind: OVERWRITE_ROLE,
        allow: Permissions::empty(),
        deny: Permissions::SEND_MESSAGES,
    });
    let mut vc = NewChannel::new(voice, 2, "Voice");
    vc.position = 1;
    vc.bitrate = Some(64000);
    vc.user_limit = Some(10);
    new.channels = vec![text, vc];
    new.system_channel_id = Some(general);
    new.afk_channel_id = Some(voice);

    let g = store.create_guild(&new).await.unwrap();
    assert_eq!(g.id, gid.as_i64());
    assert_eq!(g.name, "Home");
    assert_eq!(g.owner(), owner.user_id());
    assert_eq!(g.description.as_deref(), Some("a place"));
    assert_eq!(
        g.features.0,
        vec!["COMMUNITY".to_owned(), "NEWS".to_owned()]
    );
    assert_eq!(g.verification_level, 2);
    assert_eq!(g.afk_timeout, 300);
    assert_eq!(g.max_members, 250000);
    assert_eq!(g.system_channel_id, Some(general.as_i64()));
    assert_eq!(g.afk_channel_id, Some(voice.as_i64()));
    assert_eq!(store.guild(gid).await.unwrap().as_ref(), Some(&g));
    assert_eq!(store.guild(id()).await.unwrap(), None);

    let roles = store.guild_roles(gid).await.unwrap();
    assert_eq!(roles.len(), 1);
    assert_eq!(roles[0].id, gid.as_i64(), "@everyone shares the guild's id");
    assert_eq!(roles[0].name, "@everyone");
    assert_eq!(
        roles[0].permissions(),
        Permissions::VIEW_CHANNEL | Permissions::SEND_MESSAGES
    );

    let member = store
        .member(gid, owner.user_id())
        .await
        .unwrap()
        .expect("owner is a member");
    assert!(member.roles.is_empty());
    assert_eq!(member.joined_at, g.created_at);
    assert_eq!(store.member_count(gid).await.unwrap(), 1);

    let channels = store.guild_channels(gid).await.unwrap();
    assert_eq!(
        channels.iter().map(|c| c.channel_id()).collect::<Vec<_>>(),
        vec![general, voice]
    );
    assert_eq!(channels[0].topic.as_deref(), Some("chat"));
    assert_eq!(channels[0].guild(), Some(gid));
    assert_eq!(channels[1].bitrate, Some(64000));
    let ow = store.channel_overwrites(general).await.unwrap();
    assert_eq!(ow.len(), 1);
    assert_eq!(ow[0].target_id, gid.as_i64());
    assert_eq!(ow[0].deny(), Permissions::SEND_MESSAGES);

    // A second guild with the same id conflicts and leaves nothing behind.
    let again = NewGuild::new(gid, "Again", owner.user_id(), Permissions::empty());
    assert!(matches!(
        store.create_guild(&again).await,
        Err(StoreError::Conflict(_))
    ));
    // A failing channel rolls back the whole guild.
    let mut broken = NewGuild::new(id(), "Broken", owner.user_id(), Permissions::empty());
    broken.channels = vec![NewChannel::new(general, 0, "duplicate id")];
    assert!(matches!(
        store.create_guild(&broken).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.guild(broken.id).await.unwrap(), None);
    assert!(store.guild_roles(broken.id).await.unwrap().is_empty());
    assert_eq!(
        store.member(broken.id, owner.user_id()).await.unwrap(),
        None
    );
}

async fn guild_update(store: Store) {
    let owner = user(&store, "owner").await;
    let heir = user(&store, "heir").await;
    let a = guild(&store, owner.user_id(), "A").await;
    let b = guild(&store, owner.user_id(), "B").await;
    let chan = store
        .create_channel(a, &NewChannel::new(id(), 0, "rules"))
        .await
        .unwrap();
    let patch = GuildPatch {
        name: Some("A2".into()),
        description: Some(Some("desc".into())),
        icon: Some(Some("icon".into())),
        owner_id: Some(heir.user_id()),
        rules_channel_id: Some(Some(chan.channel_id())),
        features: Some(vec!["VANITY_URL".into()]),
        vanity_url_code: Some(Some("cool".into())),
        verification_level: Some(1),
        preferred_locale: Some("de".into()),
        ..GuildPatch::default()
    };
    let g = store.update_guild(a, &patch).await.unwrap();
    assert_eq!(g.name, "A2");
    assert_eq!(g.description.as_deref(), Some("desc"));
    assert_eq!(g.icon.as_deref(), Some("icon"));
    assert_eq!(g.owner_id, heir.id);
    assert_eq!(g.rules_channel_id, Some(chan.id));
    assert_eq!(g.features.0, vec!["VANITY_URL".to_owned()]);
    assert_eq!(g.vanity_url_code.as_deref(), Some("cool"));
    assert_eq!(g.verification_level, 1);
    assert_eq!(g.preferred_locale, "de");

    let cleared = store
        .update_guild(
            a,
            &GuildPatch {
                description: Some(None),
                rules_channel_id: Some(None),
                ..GuildPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(cleared.description, None);
    assert_eq!(cleared.rules_channel_id, None);
    assert_eq!(cleared.icon.as_deref(), Some("icon"));
    assert_eq!(cleared.name, "A2");
    assert_eq!(store.guild(a).await.unwrap(), Some(cleared));

    let steal = GuildPatch {
        vanity_url_code: Some(Some("cool".into())),
        ..GuildPatch::default()
    };
    assert!(matches!(
        store.update_guild(b, &steal).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.update_guild(id(), &GuildPatch::default()).await,
        Err(StoreError::NotFound)
    ));
}

async fn guilds_of_user_paging(store: Store) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let mut mine = Vec::new();
    for i in 0..5 {
        mine.push(guild(&store, alice.user_id(), &format!("g{i}")).await);
    }
    let other = guild(&store, bob.user_id(), "bob's").await;
    store
        .add_member(&NewMember::new(other, bob.user_id()))
        .await
        .expect_err("already the owner");
    let page =
        |v: Vec<accord_store::GuildRecord>| v.into_iter().map(|g| g.guild_id()).collect::<Vec<_>>();

    assert_eq!(
        page(
            store
                .guilds_of_user(alice.user_id(), None, None, 200)
                .await
                .unwrap()
        ),
        mine
    );
    assert_eq!(
        page(
            store
                .guilds_of_user(alice.user_id(), None, None, 2)
                .await
                .unwrap()
        ),
        mine[..2]
    );
    assert_eq!(
        page(
            store
                .guilds_of_user(alice.user_id(), None, Some(mine[1]), 2)
                .await
                .unwrap()
        ),
        mine[2..4]
    );
    assert_eq!(
        page(
            store
                .guilds_of_user(alice.user_id(), None, Some(mine[4]), 2)
                .await
                .unwrap()
        ),
        vec![]
    );
    assert_eq!(
        page(
            store
                .guilds_of_user(alice.user_id(), Some(mine[4]), None, 2)
                .await
                .unwrap()
        ),
        mine[2..4]
    );
    assert_eq!(
        page(
            store
                .guilds_of_user(alice.user_id(), Some(mine[1]), None, 10)
                .await
                .unwrap()
        ),
        mine[..1]
    );
    assert_eq!(
        page(
            store
                .guilds_of_user(alice.user_id(), Some(mine[4]), Some(mine[0]), 10)
                .await
                .unwrap()
        ),
        mine[1..4]
    );
    assert_eq!(
        store.guild_ids_of_user(alice.user_id()).await.unwrap(),
        mine
    );

    store
        .add_member(&NewMember::new(other, alice.user_id()))
        .await
        .unwrap();
    let all = page(
        store
            .guilds_of_user(alice.user_id(), None, None, 200)
            .await
            .unwrap(),
    );
    assert_eq!(all.len(), 6);
    assert_eq!(all.last(), Some(&other));
    assert_eq!(
        page(
            store
                .guilds_of_user(bob.user_id(), None, None, 200)
                .await
                .unwrap()
        ),
        vec![other]
    );
}

async fn guild_delete_cascades(store: Store) {
    let owner = user(&store, "owner").await;
    let member = user(&store, "member").await;
    let g = guild(&store, owner.user_id(), "doomed").await;
    let keep = guild(&store, owner.user_id(), "kept").await;
    let chan = store
        .create_channel(g, &NewChannel::new(id(), 0, "general"))
        .await
        .unwrap()
        .channel_id();
    let kept_chan = store
        .create_channel(keep, &NewChannel::new(id(), 0, "general"))
        .await
        .unwrap()
        .channel_id();
    let role = store
        .create_role(&NewRole::new(id(), g, "mod"))
        .await
        .unwrap()
        .role_id();
    let mut m = NewMember::new(g, member.user_id());
    m.roles = vec![role];
    store.add_member(&m).await.unwrap();
    let over = NewOverwrite {
        target_id: role.cast(),
        kind: OVERWRITE_ROLE,
        allow: Permissions::SEND_MESSAGES,
        deny: Permissions::empty(),
    };
    store.upsert_overwrite(chan, &over).await.unwrap();
    let msg = store
        .create_message(&NewMessage::new(id(), chan, owner.user_id(), "hi"))
        .await
        .unwrap()
        .message_id();
    store
        .add_reaction(msg, &ReactionEmoji::unicode("👍"), member.user_id(), false)
        .await
        .unwrap();
    store.pin_message(chan, msg).await.unwrap();
    let kept_msg = store
        .create_message(&NewMessage::new(id(), kept_chan, owner.user_id(), "stay"))
        .await
        .unwrap();
    let banned = user(&store, "banned").await;
    store
        .create_ban(g, banned.user_id(), Some("spam"), Some(owner.user_id()))
        .await
        .unwrap();
    let emoji = store
        .create_emoji(&NewEmoji {
            id: id(),
            guild_id: g,
            name: "blob".into(),
            user_id: Some(owner.user_id()),
            animated: false,
            roles: vec![role],
        })
        .await
        .unwrap()
        .emoji_id();
    let invite = NewInvite {
        code: "doomed".into(),
        guild_id: Some(g),
        channel_id: chan,
        inviter_id: Some(owner.user_id()),
        max_age: 0,
        max_uses: 0,
        temporary: false,
    };
    store.create_invite(&invite).await.unwrap();
    let hook = store
        .create_webhook(&NewWebhook {
            id: id(),
            kind: 1,
            guild_id: Some(g),
            channel_id: Some(chan),
            user_id: Some(owner.user_id()),
            name: Some("hook".into()),
            avatar: None,
            token: Some("secret".into()),
            application_id: None,
            source_guild_id: None,
            source_channel_id: None,
        })
        .await
        .unwrap()
        .webhook_id();
    store
        .ack_message(member.user_id(), chan, msg, 0)
        .await
        .unwrap();

    store.delete_guild(g).await.unwrap();
    assert_eq!(store.guild(g).await.unwrap(), None);
    assert_eq!(store.channel(chan).await.unwrap(), None);
    assert!(store.guild_channels(g).await.unwrap().is_empty());
    assert!(store.guild_roles(g).await.unwrap().is_empty());
    assert_eq!(store.member(g, owner.user_id()).await.unwrap(), None);
    assert_eq!(store.member(g, member.user_id()).await.unwrap(), None);
    assert_eq!(store.member_count(g).await.unwrap(), 0);
    assert!(store.channel_overwrites(chan).await.unwrap().is_empty());
    assert_eq!(store.message(chan, msg).await.unwrap(), None);
    assert!(store.reaction_counts(msg, None).await.unwrap().is_empty());
    assert_eq!(store.pin_count(chan).await.unwrap(), 0);
    assert_eq!(store.ban(g, banned.user_id()).await.unwrap(), None);
    assert_eq!(store.emoji(g, emoji).await.unwrap(), None);
    assert_eq!(store.invite("doomed").await.unwrap(), None);
    assert_eq!(store.webhook(hook).await.unwrap(), None);
    assert!(
        store
            .read_states(member.user_id())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.guild_ids_of_user(member.user_id()).await.unwrap(),
        vec![]
    );
    // Users and the other guild are untouched.
    assert!(store.user(member.user_id()).await.unwrap().is_some());
    assert_eq!(
        store.guild_ids_of_user(owner.user_id()).await.unwrap(),
        vec![keep]
    );
    assert_eq!(
        store
            .message(kept_chan, kept_msg.message_id())
            .await
            .unwrap(),
        Some(kept_msg)
    );
    assert!(matches!(
        store.delete_guild(g).await,
        Err(StoreError::NotFound)
    ));
}
