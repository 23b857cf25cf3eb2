//! Users, credentials, applications, token revocation, settings and migrations.

use accord_model::{ApplicationId, Rights, UserId};
use accord_store::{ApplicationPatch, NewApplication, NewUser, Store, StoreError, UserPatch};

use crate::support::{id, new_user, on_both_backends, user};

on_both_backends! {
    migrate_twice_is_a_no_op => sqlite_migrate_twice_is_a_no_op, postgres_migrate_twice_is_a_no_op;
    users_create_and_log_in => sqlite_users_create_and_log_in, postgres_users_create_and_log_in;
    users_conflict => sqlite_users_conflict, postgres_users_conflict;
    users_update => sqlite_users_update, postgres_users_update;
    users_password_and_rights => sqlite_users_password_and_rights, postgres_users_password_and_rights;
    applications_and_bots => sqlite_applications_and_bots, postgres_applications_and_bots;
    tokens_revocation => sqlite_tokens_revocation, postgres_tokens_revocation;
    settings_first_value_wins => sqlite_settings_first_value_wins, postgres_settings_first_value_wins;
}

async fn migrate_twice_is_a_no_op(store: Store) {
    let alice = user(&store, "alice").await;
    store.migrate().await.expect("second migrate");
    store.migrate().await.expect("third migrate");
    store.ping().await.unwrap();
    assert_eq!(store.count_users().await.unwrap(), 1);
    assert_eq!(store.user(alice.user_id()).await.unwrap(), Some(alice));
}

async fn users_create_and_log_in(store: Store) {
    let new = new_user("Alice");
    let alice = store.create_user(&new).await.unwrap();
    assert_eq!(alice.id, new.id.as_i64());
    assert_eq!(alice.username, "Alice");
    assert_eq!(alice.discriminator, "0");
    assert_eq!(alice.email.as_deref(), Some("Alice@example.test"));
    assert_eq!(alice.locale, "en-US");
    assert!(!alice.bot && !alice.verified && !alice.deleted);
    assert_eq!(alice.rights(), new.rights);
    assert_eq!(
        store.user(alice.user_id()).await.unwrap().as_ref(),
        Some(&alice)
    );
    assert_eq!(store.user(id()).await.unwrap(), None);

    // Log in by e-mail and by username, both case-insensitively.
    for login in [
        "alice@example.test",
        "ALICE@EXAMPLE.TEST",
        "alice",
        "ALICE",
        "Alice",
    ] {
        let (found, hash) = store
            .user_for_login(login)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("login {login}"));
        assert_eq!(found, alice);
        assert_eq!(hash, new.password_hash);
    }
    assert!(store.user_for_login("nobody").await.unwrap().is_none());

    // Bots cannot log in with a password.
    let mut bot = new_user("robot");
    bot.bot = true;
    bot.discriminator = "0001".into();
    bot.email = None;
    bot.password_hash = None;
    let bot = store.create_user(&bot).await.unwrap();
    assert!(bot.bot);
    assert!(store.user_for_login("robot").await.unwrap().is_none());
    assert_eq!(store.password_hash(bot.user_id()).await.unwrap(), None);

    assert!(store.name_taken("alice", "0").await.unwrap());
    assert!(store.name_taken("ALICE", "0").await.unwrap());
    assert!(!store.name_taken("alice", "0001").await.unwrap());
    assert!(store.name_taken("Robot", "0001").await.unwrap());
    assert!(store.email_taken("ALICE@example.test").await.unwrap());
    assert!(!store.email_taken("bob@example.test").await.unwrap());
    assert_eq!(
        store.discriminators_of("ROBOT").await.unwrap(),
        vec!["0001".to_owned()]
    );

    let mut both = store
        .users(&[alice.user_id(), bot.user_id(), id()])
        .await
        .unwrap();
    both.sort_by_key(|u| u.id);
    assert_eq!(both, vec![alice, bot]);
    assert_eq!(store.count_users().await.unwrap(), 2);
}

async fn users_conflict(store: Store) {
    user(&store, "carol").await;
    let mut same_name = new_user("CAROL");
    same_name.email = Some("other@example.test".into());
    assert!(matches!(
        store.create_user(&same_name).await,
        Err(StoreError::Conflict(_))
    ));
    let mut same_email = new_user("caroline");
    same_email.email = Some("Carol@Example.Test".into());
    assert!(matches!(
        store.create_user(&same_email).await,
        Err(StoreError::Conflict(_))
    ));
    // The same name with another discriminator is fine.
    let mut tagged = new_user("carol");
    tagged.discriminator = "1234".into();
    tagged.email = None;
    store.create_user(&tagged).await.unwrap();
    // A failed registration left no credentials behind: the id is free again.
    assert!(store.user(same_name.id).await.unwrap().is_none());
    assert_eq!(store.count_users().await.unwrap(), 2);
}

async fn users_update(store: Store) {
    let dave = user(&store, "dave").await;
    let erin = user(&store, "erin").await;
    let patch = UserPatch {
        global_name: Some(Some("Dave D.".into())),
        avatar: Some(Some("a_hash".into())),
        accent_color: Some(Some(0x00ff00)),
        bio: Some("hello".into()),
        pronouns: Some("he/him".into()),
        locale: Some("fr".into()),
        ..UserPatch::default()
    };
    let updated = store.update_user(dave.user_id(), &patch).await.unwrap();
    assert_eq!(updated.global_name.as_deref(), Some("Dave D."));
    assert_eq!(updated.avatar.as_deref(), Some("a_hash"));
    assert_eq!(updated.accent_color, Some(0x00ff00));
    assert_eq!(updated.bio, "hello");
    assert_eq!(updated.pronouns, "he/him");
    assert_eq!(updated.locale, "fr");
    assert_eq!(updated.username, "dave");
    assert_eq!(updated.email, dave.email);

    // Some(None) clears; None leaves alone.
    let cleared = store
        .update_user(
            dave.user_id(),
            &UserPatch {
                global_name: Some(None),
                accent_color: Some(None),
                ..UserPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(cleared.global_name, None);
    assert_eq!(cleared.accent_color, None);
    assert_eq!(cleared.avatar.as_deref(), Some("a_hash"));
    assert_eq!(store.user(dave.user_id()).await.unwrap(), Some(cleared));

    let renamed = store
        .update_user(
            dave.user_id(),
            &UserPatch {
                username: Some("david".into()),
                email: Some(Some("david@example.test".into())),
                ..UserPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.username, "david");
    assert_eq!(renamed.email.as_deref(), Some("david@example.test"));
    assert!(!renamed.verified);
    assert!(
        store
            .user_for_login("david@example.test")
            .await
            .unwrap()
            .is_some()
    );
    let no_email = store
        .update_user(
            dave.user_id(),
            &UserPatch {
                email: Some(None),
                ..UserPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(no_email.email, None);

    let taken = UserPatch {
        username: Some("ERIN".into()),
        ..UserPatch::default()
    };
    assert!(matches!(
        store.update_user(dave.user_id(), &taken).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.user(erin.user_id()).await.unwrap(), Some(erin));
    assert!(matches!(
        store.update_user(id(), &UserPatch::default()).await,
        Err(StoreError::NotFound)
    ));
}

async fn users_password_and_rights(store: Store) {
    let frank = user(&store, "frank").await;
    store
        .set_password(frank.user_id(), "$argon2id$new", 1_700_000_000_000)
        .await
        .unwrap();
    assert_eq!(
        store
            .password_hash(frank.user_id())
            .await
            .unwrap()
            .as_deref(),
        Some("$argon2id$new")
    );
    let (_, hash) = store.user_for_login("frank").await.unwrap().unwrap();
    assert_eq!(hash.as_deref(), Some("$argon2id$new"));
    assert_eq!(
        store.token_cutoffs().await.unwrap(),
        vec![(frank.user_id(), 1_700_000_000_000)]
    );
    assert!(matches!(
        store.set_password(id(), "x", 1).await,
        Err(StoreError::NotFound)
    ));

    let rights = Rights::from_bits(Rights::OPERATOR.bits() | Rights::MANAGE_USERS.bits());
    store.set_rights(frank.user_id(), rights).await.unwrap();
    assert_eq!(
        store.user(frank.user_id()).await.unwrap().unwrap().rights(),
        rights
    );
    assert!(matches!(
        store.set_rights(id(), rights).await,
        Err(StoreError::NotFound)
    ));
}

fn new_app(owner: UserId, name: &str) -> NewApplication {
    NewApplication {
        id: id(),
        name: name.into(),
        description: "an app".into(),
        owner_id: owner,
        verify_key: "ab".repeat(32),
        signing_key: "cd".repeat(32),
        flags: 0,
    }
}

async fn applications_and_bots(store: Store) {
    let owner = user(&store, "grace").await;
    let app = store
        .create_application(&new_app(owner.user_id(), "First"))
        .await
        .unwrap();
    let second = store
        .create_application(&new_app(owner.user_id(), "Second"))
        .await
        .unwrap();
    assert_eq!(app.name, "First");
    assert_eq!(app.bot_user_id, None);
    assert!(app.bot_public);
    assert_eq!(
        store
            .application(app.application_id())
            .await
            .unwrap()
            .as_ref(),
        Some(&app)
    );
    assert_eq!(
        store.applications_of(owner.user_id()).await.unwrap(),
        vec![app.clone(), second]
    );

    let mut bot = new_user("firstbot");
    bot.discriminator = "4242".into();
    let bot_user = store.create_bot(app.application_id(), &bot).await.unwrap();
    assert!(bot_user.bot);
    assert_eq!(bot_user.email, None);
    assert_eq!(store.password_hash(bot_user.user_id()).await.unwrap(), None);
    let with_bot = store
        .application_of_bot(bot_user.user_id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(with_bot.id, app.id);
    assert_eq!(with_bot.bot_user_id, Some(bot_user.id));

    let mut another: NewUser = new_user("secondbot");
    another.discriminator = "4243".into();
    assert!(matches!(
        store.create_bot(app.application_id(), &another).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(
        store.user(another.id).await.unwrap().is_none(),
        "the refused bot was not created"
    );
    assert!(matches!(
        store.create_bot(ApplicationId::new(1), &another).await,
        Err(StoreError::NotFound)
    ));

    let patch = ApplicationPatch {
        name: Some("Renamed".into()),
        bot_public: Some(false),
        flags: Some(1 << 15),
        interactions_endpoint_url: Some(Some("https://example.test/i".into())),
        icon: Some(Some("0123456789abcdef0123456789abcdef".into())),
        ..ApplicationPatch::default()
    };
    let updated = store
        .update_application(app.application_id(), &patch)
        .await
        .unwrap();
    assert_eq!(updated.name, "Renamed");
    assert_eq!(updated.description, "an app");
    assert!(!updated.bot_public);
    assert_eq!(updated.flags, 1 << 15);
    assert_eq!(
        updated.interactions_endpoint_url.as_deref(),
        Some("https://example.test/i")
    );
    let cleared = store
        .update_application(
            app.application_id(),
            &ApplicationPatch {
                interactions_endpoint_url: Some(None),
                ..ApplicationPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(cleared.interactions_endpoint_url, None);
    assert_eq!(cleared.name, "Renamed");
    assert_eq!(
        cleared.icon.as_deref(),
        Some("0123456789abcdef0123456789abcdef"),
        "a patch without an icon leaves it"
    );
    let no_icon = store
        .update_application(
            app.application_id(),
            &ApplicationPatch {
                icon: Some(None),
                ..ApplicationPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(no_icon.icon, None);
    assert!(matches!(
        store
            .update_application(id(), &ApplicationPatch::default())
            .await,
        Err(StoreError::NotFound)
    ));
}

async fn tokens_revocation(store: Store) {
    let heidi = user(&store, "heidi").await;
    let ivan = user(&store, "ivan").await;
    store.revoke_token(heidi.user_id(), "t1").await.unwrap();
    store.revoke_token(heidi.user_id(), "t1").await.unwrap();
    store.revoke_token(heidi.user_id(), "t2").await.unwrap();
    store.revoke_token(ivan.user_id(), "t3").await.unwrap();
    let mut revoked = store.revoked_tokens().await.unwrap();
    revoked.sort();
    let mut expected = vec![
        (heidi.user_id(), "t1".into()),
        (heidi.user_id(), "t2".into()),
        (ivan.user_id(), "t3".to_owned()),
    ];
    expected.sort();
    assert_eq!(revoked, expected);
    assert!(store.token_cutoffs().await.unwrap().is_empty());

    store.set_token_cutoff(heidi.user_id(), 1234).await.unwrap();
    assert_eq!(
        store.revoked_tokens().await.unwrap(),
        vec![(ivan.user_id(), "t3".to_owned())]
    );
    assert_eq!(
        store.token_cutoffs().await.unwrap(),
        vec![(heidi.user_id(), 1234)]
    );
    assert!(matches!(
        store.set_token_cutoff(id(), 1).await,
        Err(StoreError::NotFound)
    ));
}

async fn settings_first_value_wins(store: Store) {
    assert_eq!(store.setting("token_secret").await.unwrap(), None);
    assert_eq!(
        store
            .setting_or_init("token_secret", "first")
            .await
            .unwrap(),
        "first"
    );
    assert_eq!(
        store
            .setting_or_init("token_secret", "second")
            .await
            .unwrap(),
        "first"
    );
    assert_eq!(
        store.setting("token_secret").await.unwrap().as_deref(),
        Some("first")
    );
    let (a, b) = tokio::join!(
        store.setting_or_init("race", "a"),
        store.setting_or_init("race", "b")
    );
    assert_eq!(a.unwrap(), b.unwrap());
}
