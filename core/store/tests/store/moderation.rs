//! Bans, webhooks, custom emojis and invites.

use accord_model::{ChannelId, GuildId, UserId};
use accord_store::sqlx;
use accord_store::{
    EmojiPatch, NewChannel, NewEmoji, NewInvite, NewMember, NewRole, NewWebhook, Store, StoreError,
    WebhookPatch,
};

use crate::support::{guild, id, on_both_backends, user};

on_both_backends! {
    bans_create_list_delete => sqlite_bans_create_list_delete, postgres_bans_create_list_delete;
    webhooks_crud => sqlite_webhooks_crud, postgres_webhooks_crud;
    emojis_crud => sqlite_emojis_crud, postgres_emojis_crud;
    invites_use_list_delete => sqlite_invites_use_list_delete, postgres_invites_use_list_delete;
}

async fn bans_create_list_delete(store: Store) {
    let owner = user(&store, "owner").await.user_id();
    let g = guild(&store, owner, "g").await;
    let target = user(&store, "target").await.user_id();
    store.add_member(&NewMember::new(g, target)).await.unwrap();

    let (ban, removed) = store
        .create_ban(g, target, Some("spam"), Some(owner))
        .await
        .unwrap();
    assert!(removed, "the member was removed with the ban");
    assert_eq!(ban.user(), target);
    assert_eq!(ban.reason.as_deref(), Some("spam"));
    assert_eq!(ban.moderator_id, Some(owner.as_i64()));
    assert_eq!(store.member(g, target).await.unwrap(), None);
    assert_eq!(store.ban(g, target).await.unwrap().as_ref(), Some(&ban));

    // A second ban conflicts and changes nothing.
    assert!(matches!(
        store.create_ban(g, target, Some("again"), None).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.ban(g, target).await.unwrap(), Some(ban.clone()));

    // Banning someone who is not a member (or not even a user here) works too.
    let outsider: UserId = id();
    let (_, removed) = store.create_ban(g, outsider, None, None).await.unwrap();
    assert!(!removed);
    let mut banned = vec![target, outsider];
    for i in 0..3 {
        let u = user(&store, &format!("b{i}")).await.user_id();
        store.create_ban(g, u, None, Some(owner)).await.unwrap();
        banned.push(u);
    }
    banned.sort();
    let page =
        |v: Vec<accord_store::BanRecord>| v.into_iter().map(|b| b.user()).collect::<Vec<_>>();
    assert_eq!(page(store.bans(g, None, None, 1000).await.unwrap()), banned);
    assert_eq!(
        page(store.bans(g, None, None, 2).await.unwrap()),
        banned[..2]
    );
    assert_eq!(
        page(store.bans(g, None, Some(banned[1]), 2).await.unwrap()),
        banned[2..4]
    );
    assert_eq!(
        page(store.bans(g, Some(banned[4]), None, 2).await.unwrap()),
        banned[2..4]
    );
    assert_eq!(
        page(store.bans(g, Some(banned[1]), None, 10).await.unwrap()),
        banned[..1]
    );
    assert_eq!(
        page(
            store
                .bans(g, Some(banned[4]), Some(banned[0]), 10)
                .await
                .unwrap()
        ),
        banned[1..4]
    );
    let other: GuildId = guild(&store, owner, "other").await;
    assert!(store.bans(other, None, None, 10).await.unwrap().is_empty());
    assert_eq!(store.ban(other, target).await.unwrap(), None);

    store.delete_ban(g, target).await.unwrap();
    assert_eq!(store.ban(g, target).await.unwrap(), None);
    assert!(matches!(
        store.delete_ban(g, target).await,
        Err(StoreError::NotFound)
    ));
    // Unbanned, they may be banned again.
    store.create_ban(g, target, None, None).await.unwrap();
}

fn webhook(guild: GuildId, channel: ChannelId, creator: UserId, name: &str) -> NewWebhook {
    NewWebhook {
        id: id(),
        kind: 1,
        guild_id: Some(guild),
        channel_id: Some(channel),
        user_id: Some(creator),
        name: Some(name.into()),
        avatar: Some("avatar".into()),
        token: Some(format!("token-{name}")),
        application_id: None,
        source_guild_id: None,
        source_channel_id: None,
    }
}

async fn webhooks_crud(store: Store) {
    let owner = user(&store, "owner").await.user_id();
    let g = guild(&store, owner, "g").await;
    let a = store
        .create_channel(g, &NewChannel::new(id(), 0, "a"))
        .await
        .unwrap()
        .channel_id();
    let b = store
        .create_channel(g, &NewChannel::new(id(), 0, "b"))
        .await
        .unwrap()
        .channel_id();
    let h1 = store
        .create_webhook(&webhook(g, a, owner, "one"))
        .await
        .unwrap();
    let h2 = store
        .create_webhook(&webhook(g, a, owner, "two"))
        .await
        .unwrap();
    let h3 = store
        .create_webhook(&webhook(g, b, owner, "three"))
        .await
        .unwrap();
    assert_eq!(h1.kind, 1);
    assert_eq!(h1.name.as_deref(), Some("one"));
    assert_eq!(h1.token.as_deref(), Some("token-one"));
    assert_eq!(h1.channel_id, Some(a.as_i64()));
    assert_eq!(
        store.webhook(h1.webhook_id()).await.unwrap().as_ref(),
        Some(&h1)
    );
    assert_eq!(store.webhook(id()).await.unwrap(), None);
    assert_eq!(
        store.channel_webhooks(a).await.unwrap(),
        vec![h1.clone(), h2.clone()]
    );
    assert_eq!(store.channel_webhooks(b).await.unwrap(), vec![h3.clone()]);
    assert_eq!(
        store.guild_webhooks(g).await.unwrap(),
        vec![h1.clone(), h2.clone(), h3.clone()]
    );
    let mut dup = webhook(g, a, owner, "dup");
    dup.id = h1.webhook_id();
    assert!(matches!(
        store.create_webhook(&dup).await,
        Err(StoreError::Conflict(_))
    ));

    let patch = WebhookPatch {
        name: Some(Some("renamed".into())),
        avatar: Some(None),
        channel_id: Some(b),
    };
    let moved = store.update_webhook(h1.webhook_id(), &patch).await.unwrap();
    assert_eq!(moved.name.as_deref(), Some("renamed"));
    assert_eq!(moved.avatar, None);
    assert_eq!(moved.channel_id, Some(b.as_i64()));
    assert_eq!(moved.token, h1.token);
    assert_eq!(store.channel_webhooks(a).await.unwrap(), vec![h2.clone()]);
    assert_eq!(store.channel_webhooks(b).await.unwrap().len(), 2);
    let same = store
        .update_webhook(h1.webhook_id(), &WebhookPatch::default())
        .await
        .unwrap();
    assert_eq!(same, moved);
    assert!(matches!(
        store.update_webhook(id(), &patch).await,
        Err(StoreError::NotFound)
    ));

    store.delete_webhook(h2.webhook_id()).await.unwrap();
    assert!(matches!(
        store.delete_webhook(h2.webhook_id()).await,
        Err(StoreError::NotFound)
    ));
    assert!(store.channel_webhooks(a).await.unwrap().is_empty());
    // Deleting a channel deletes its webhooks.
    store.delete_channel(b).await.unwrap();
    assert!(store.guild_webhooks(g).await.unwrap().is_empty());
}

async fn emojis_crud(store: Store) {
    let owner = user(&store, "owner").await.user_id();
    let g = guild(&store, owner, "g").await;
    let other = guild(&store, owner, "other").await;
    let r1 = store
        .create_role(&NewRole::new(id(), g, "r1"))
        .await
        .unwrap()
        .role_id();
    let r2 = store
        .create_role(&NewRole::new(id(), g, "r2"))
        .await
        .unwrap()
        .role_id();
    let new = NewEmoji {
        id: id(),
        guild_id: g,
        name: "blob".into(),
        user_id: Some(owner),
        animated: true,
        roles: vec![r2, r1],
    };
    let blob = store.create_emoji(&new).await.unwrap();
    assert_eq!(blob.emoji_id(), new.id);
    assert_eq!(blob.name, "blob");
    assert!(blob.animated && blob.available && blob.require_colons && !blob.managed);
    assert_eq!(blob.user_id, Some(owner.as_i64()));
    let mut roles = vec![r1.as_i64(), r2.as_i64()];
    roles.sort();
    assert_eq!(blob.roles, roles);
    let plain = store
        .create_emoji(&NewEmoji {
            id: id(),
            guild_id: g,
            name: "plain".into(),
            user_id: None,
            animated: false,
            roles: vec![],
        })
        .await
        .unwrap();
    assert!(plain.roles.is_empty());
    assert!(matches!(
        store.create_emoji(&new).await,
        Err(StoreError::Conflict(_))
    ));

    assert_eq!(
        store.emoji(g, blob.emoji_id()).await.unwrap().as_ref(),
        Some(&blob)
    );
    assert_eq!(
        store.emoji(other, blob.emoji_id()).await.unwrap(),
        None,
        "scoped to the guild"
    );
    assert_eq!(
        store.guild_emojis(g).await.unwrap(),
        vec![blob.clone(), plain.clone()]
    );
    assert!(store.guild_emojis(other).await.unwrap().is_empty());

    let renamed = store
        .update_emoji(
            g,
            blob.emoji_id(),
            &EmojiPatch {
                name: Some("blobby".into()),
                roles: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "blobby");
    assert_eq!(renamed.roles, roles);
    let reroled = store
        .update_emoji(
            g,
            blob.emoji_id(),
            &EmojiPatch {
                name: None,
                roles: Some(vec![r1]),
            },
        )
        .await
        .unwrap();
    assert_eq!(reroled.name, "blobby");
    assert_eq!(reroled.roles, vec![r1.as_i64()]);
    assert!(matches!(
        store
            .update_emoji(other, blob.emoji_id(), &EmojiPatch::default())
            .await,
        Err(StoreError::NotFound)
    ));

    // Deleting a role takes it off the emoji.
    store.delete_role(g, r1).await.unwrap();
    assert!(
        store
            .emoji(g, blob.emoji_id())
            .await
            .unwrap()
            .unwrap()
            .roles
            .is_empty()
    );

    store.delete_emoji(g, blob.emoji_id()).await.unwrap();
    assert!(matches!(
        store.delete_emoji(g, blob.emoji_id()).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete_emoji(other, plain.emoji_id()).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.guild_emojis(g).await.unwrap(), vec![plain]);
}

fn invite(
    code: &str,
    guild: GuildId,
    channel: ChannelId,
    inviter: UserId,
    max_age: i32,
    max_uses: i32,
) -> NewInvite {
    NewInvite {
        code: code.into(),
        guild_id: Some(guild),
        channel_id: channel,
        inviter_id: Some(inviter),
        max_age,
        max_uses,
        temporary: false,
    }
}

async fn invites_use_list_delete(store: Store) {
    let owner = user(&store, "owner").await.user_id();
    let g = guild(&store, owner, "g").await;
    let a = store
        .create_channel(g, &NewChannel::new(id(), 0, "a"))
        .await
        .unwrap()
        .channel_id();
    let b = store
        .create_channel(g, &NewChannel::new(id(), 0, "b"))
        .await
        .unwrap()
        .channel_id();

    let forever = store
        .create_invite(&invite("forever", g, a, owner, 0, 0))
        .await
        .unwrap();
    assert_eq!(forever.expires_at, None);
    assert_eq!(forever.uses, 0);
    let twice = store
        .create_invite(&invite("twice", g, a, owner, 3600, 2))
        .await
        .unwrap();
    assert!(twice.expires_at.is_some_and(|t| t > twice.created_at));
    let expired = store
        .create_invite(&invite("expired", g, b, owner, 60, 0))
        .await
        .unwrap();
    assert_eq!(expired.max_age, 60);
    assert!(matches!(
        store
            .create_invite(&invite("forever", g, b, owner, 0, 0))
            .await,
        Err(StoreError::Conflict(_))
    ));

    let codes = |v: Vec<accord_store::InviteRecord>| {
        let mut c: Vec<String> = v.into_iter().map(|i| i.code).collect();
        c.sort();
        c
    };
    assert_eq!(
        codes(store.guild_invites(g).await.unwrap()),
        ["expired", "forever", "twice"]
    );
    assert_eq!(
        codes(store.channel_invites(a).await.unwrap()),
        ["forever", "twice"]
    );
    assert_eq!(codes(store.channel_invites(b).await.unwrap()), ["expired"]);

    // Unlimited.
    for _ in 0..5 {
        assert!(store.use_invite("forever").await.unwrap());
    }
    assert_eq!(store.invite("forever").await.unwrap().unwrap().uses, 5);
    // At most max_uses, even when racing.
    let (x, y, z) = tokio::join!(
        store.use_invite("twice"),
        store.use_invite("twice"),
        store.use_invite("twice")
    );
    assert_eq!(
        [x.unwrap(), y.unwrap(), z.unwrap()]
            .iter()
            .filter(|ok| **ok)
            .count(),
        2
    );
    assert!(!store.use_invite("twice").await.unwrap());
    assert_eq!(store.invite("twice").await.unwrap().unwrap().uses, 2);
    assert!(!store.invite_usable("twice").await.unwrap());
    assert!(store.invite_usable("forever").await.unwrap());
    // Expired: move the expiry into the past.
    assert!(store.invite_usable("expired").await.unwrap());
    let past = accord_store::now() - chrono::Duration::seconds(1);
    let changed = accord_store::dispatch!(store.db(), |pool| sqlx::query(
        "UPDATE invites SET expires_at = $2 WHERE code = $1"
    )
    .bind("expired")
    .bind(past)
    .execute(pool)
    .await
    .unwrap()
    .rows_affected());
    assert_eq!(changed, 1);
    assert!(!store.use_invite("expired").await.unwrap());
    assert!(!store.invite_usable("expired").await.unwrap());
    assert_eq!(store.invite("expired").await.unwrap().unwrap().uses, 0);
    assert!(!store.use_invite("missing").await.unwrap());

    assert_eq!(store.delete_expired_invites().await.unwrap(), 1);
    assert_eq!(store.invite("expired").await.unwrap(), None);
    let gone = store.delete_invite("twice").await.unwrap();
    assert_eq!(gone.code, "twice");
    assert_eq!(gone.uses, 2);
    assert!(matches!(
        store.delete_invite("twice").await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(codes(store.guild_invites(g).await.unwrap()), ["forever"]);
    assert_eq!(store.delete_expired_invites().await.unwrap(), 0);

    // Deleting the channel deletes its invites.
    store.delete_channel(a).await.unwrap();
    assert!(store.guild_invites(g).await.unwrap().is_empty());
}
