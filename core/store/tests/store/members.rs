//! Roles and members.

use accord_model::{Permissions, RoleId, UserId};
use accord_store::{MemberPatch, NewMember, NewRole, RolePatch, Store, StoreError};

use crate::support::{guild, id, on_both_backends, user};

on_both_backends! {
    roles_crud_and_positions => sqlite_roles_crud_and_positions, postgres_roles_crud_and_positions;
    members_crud_and_roles => sqlite_members_crud_and_roles, postgres_members_crud_and_roles;
    members_paging => sqlite_members_paging, postgres_members_paging;
}

async fn roles_crud_and_positions(store: Store) {
    let owner = user(&store, "owner").await;
    let g = guild(&store, owner.user_id(), "roles").await;
    let other = guild(&store, owner.user_id(), "other").await;
    let mut admin = NewRole::new(id(), g, "admin");
    admin.position = 2;
    admin.permissions = Permissions::ADMINISTRATOR;
    admin.color = 0xff0000;
    admin.hoist = true;
    admin.icon = Some("icon".into());
    let admin = store.create_role(&admin).await.unwrap();
    assert_eq!(admin.permissions(), Permissions::ADMINISTRATOR);
    assert_eq!(admin.color, 0xff0000);
    assert!(admin.hoist && !admin.managed && !admin.mentionable);
    let a = store
        .create_role(&NewRole::new(id(), g, "a"))
        .await
        .unwrap();
    let b = store
        .create_role(&NewRole::new(id(), g, "b"))
        .await
        .unwrap();
    let foreign = store
        .create_role(&NewRole::new(id(), other, "foreign"))
        .await
        .unwrap();

    // By position, then id.
    let names =
        |v: Vec<accord_store::RoleRecord>| v.into_iter().map(|r| r.name).collect::<Vec<_>>();
    assert_eq!(
        names(store.guild_roles(g).await.unwrap()),
        ["@everyone", "a", "b", "admin"]
    );
    assert_eq!(
        store.role(g, admin.role_id()).await.unwrap().as_ref(),
        Some(&admin)
    );
    assert_eq!(
        store.role(g, foreign.role_id()).await.unwrap(),
        None,
        "scoped to the guild"
    );
    assert!(matches!(
        store
            .create_role(&NewRole::new(admin.role_id(), g, "dup"))
            .await,
        Err(StoreError::Conflict(_))
    ));

    let patch = RolePatch {
        name: Some("boss".into()),
        icon: Some(None),
        unicode_emoji: Some(Some("👑".into())),
        permissions: Some(Permissions::MANAGE_GUILD),
        mentionable: Some(true),
        ..RolePatch::default()
    };
    let boss = store.update_role(g, admin.role_id(), &patch).await.unwrap();
    assert_eq!(boss.name, "boss");
    assert_eq!(boss.icon, None);
    assert_eq!(boss.unicode_emoji.as_deref(), Some("👑"));
    assert_eq!(boss.permissions(), Permissions::MANAGE_GUILD);
    assert!(boss.mentionable && boss.hoist);
    assert_eq!(boss.color, 0xff0000);
    assert!(matches!(
        store
            .update_role(other, admin.role_id(), &RolePatch::default())
            .await,
        Err(StoreError::NotFound)
    ));

    let roles = store
        .set_role_positions(
            g,
            &[(b.role_id(), 1), (a.role_id(), 3), (admin.role_id(), 2)],
        )
        .await
        .unwrap();
    assert_eq!(names(roles), ["@everyone", "b", "boss", "a"]);
    // One foreign role refuses the whole batch.
    assert!(matches!(
        store
            .set_role_positions(g, &[(b.role_id(), 9), (foreign.role_id(), 1)])
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        names(store.guild_roles(g).await.unwrap()),
        ["@everyone", "b", "boss", "a"]
    );

    let holder = user(&store, "holder").await;
    let mut m = NewMember::new(g, holder.user_id());
    m.roles = vec![a.role_id(), b.role_id()];
    store.add_member(&m).await.unwrap();
    store.delete_role(g, a.role_id()).await.unwrap();
    assert_eq!(
        store
            .member(g, holder.user_id())
            .await
            .unwrap()
            .unwrap()
            .role_ids(),
        vec![b.role_id()]
    );
    assert!(matches!(
        store.delete_role(g, a.role_id()).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete_role(g, foreign.role_id()).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        names(store.guild_roles(g).await.unwrap()),
        ["@everyone", "b", "boss"]
    );
}

async fn members_crud_and_roles(store: Store) {
    let owner = user(&store, "owner").await;
    let joe = user(&store, "joe").await;
    let g = guild(&store, owner.user_id(), "members").await;
    let other = guild(&store, owner.user_id(), "other").await;
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
    let r3 = store
        .create_role(&NewRole::new(id(), g, "r3"))
        .await
        .unwrap()
        .role_id();
    let foreign = store
        .create_role(&NewRole::new(id(), other, "foreign"))
        .await
        .unwrap()
        .role_id();

    // A foreign role refuses the whole join.
    let mut bad = NewMember::new(g, joe.user_id());
    bad.roles = vec![r1, foreign];
    assert!(matches!(
        store.add_member(&bad).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.member(g, joe.user_id()).await.unwrap(), None);
    assert_eq!(
        store.member_count(g).await.unwrap(),
        1,
        "the owner; the refused join counts nothing"
    );

    let mut new = NewMember::new(g, joe.user_id());
    new.nick = Some("Joey".into());
    new.roles = vec![r2, r1, g.cast()];
    new.mute = true;
    let m = store.add_member(&new).await.unwrap();
    assert_eq!(m.nick.as_deref(), Some("Joey"));
    assert_eq!(m.user(), joe.user_id());
    assert!(m.mute && !m.deaf && !m.pending);
    let mut sorted = vec![r1, r2];
    sorted.sort();
    assert_eq!(m.role_ids(), sorted, "@everyone is never stored");
    assert_eq!(
        store.member(g, joe.user_id()).await.unwrap().as_ref(),
        Some(&m)
    );
    assert!(matches!(
        store.add_member(&NewMember::new(g, joe.user_id())).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.member_count(g).await.unwrap(), 2);

    let until = accord_store::now() + chrono::Duration::hours(1);
    let patch = MemberPatch {
        nick: Some(None),
        deaf: Some(true),
        mute: Some(false),
        avatar: Some(Some("av".into())),
        communication_disabled_until: Some(Some(until)),
        ..MemberPatch::default()
    };
    let m2 = store.update_member(g, joe.user_id(), &patch).await.unwrap();
    assert_eq!(m2.nick, None);
    assert!(m2.deaf && !m2.mute);
    assert_eq!(m2.avatar.as_deref(), Some("av"));
    assert_eq!(m2.communication_disabled_until, Some(until));
    assert_eq!(m2.joined_at, m.joined_at);
    assert_eq!(m2.roles, m.roles);
    let m3 = store
        .update_member(
            g,
            joe.user_id(),
            &MemberPatch {
                communication_disabled_until: Some(None),
                nick: Some(Some("J".into())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(m3.communication_disabled_until, None);
    assert_eq!(m3.nick.as_deref(), Some("J"));
    assert_eq!(m3.avatar.as_deref(), Some("av"));
    assert!(matches!(
        store.update_member(g, id(), &MemberPatch::default()).await,
        Err(StoreError::NotFound)
    ));

    assert!(store.add_member_role(g, joe.user_id(), r3).await.unwrap());
    assert!(
        !store.add_member_role(g, joe.user_id(), r3).await.unwrap(),
        "idempotent"
    );
    assert!(
        !store
            .add_member_role(g, joe.user_id(), g.cast())
            .await
            .unwrap(),
        "@everyone is implicit"
    );
    assert!(matches!(
        store.add_member_role(g, joe.user_id(), foreign).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .add_member_role(g, owner.user_id(), RoleId::new(1))
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.add_member_role(other, joe.user_id(), foreign).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store
            .member(g, joe.user_id())
            .await
            .unwrap()
            .unwrap()
            .roles
            .len(),
        3
    );
    assert!(
        store
            .remove_member_role(g, joe.user_id(), r1)
            .await
            .unwrap()
    );
    assert!(
        !store
            .remove_member_role(g, joe.user_id(), r1)
            .await
            .unwrap()
    );
    let mut expected = vec![r2, r3];
    expected.sort();
    assert_eq!(
        store
            .member(g, joe.user_id())
            .await
            .unwrap()
            .unwrap()
            .role_ids(),
        expected
    );

    store
        .set_member_roles(g, joe.user_id(), &[r1])
        .await
        .unwrap();
    assert_eq!(
        store
            .member(g, joe.user_id())
            .await
            .unwrap()
            .unwrap()
            .role_ids(),
        vec![r1]
    );
    assert!(matches!(
        store
            .set_member_roles(g, joe.user_id(), &[r2, foreign])
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store
            .member(g, joe.user_id())
            .await
            .unwrap()
            .unwrap()
            .role_ids(),
        vec![r1],
        "rolled back"
    );
    assert!(matches!(
        store.set_member_roles(g, id(), &[r1]).await,
        Err(StoreError::NotFound)
    ));
    store.set_member_roles(g, joe.user_id(), &[]).await.unwrap();
    assert!(
        store
            .member(g, joe.user_id())
            .await
            .unwrap()
            .unwrap()
            .roles
            .is_empty()
    );

    store.add_member_role(g, joe.user_id(), r2).await.unwrap();
    assert_eq!(store.member_count(g).await.unwrap(), 2);
    store.remove_member(g, joe.user_id()).await.unwrap();
    assert_eq!(store.member(g, joe.user_id()).await.unwrap(), None);
    assert_eq!(store.member_count(g).await.unwrap(), 1);
    assert!(matches!(
        store.remove_member(g, joe.user_id()).await,
        Err(StoreError::NotFound)
    ));
    // Rejoining starts without the old roles.
    let again = store
        .add_member(&NewMember::new(g, joe.user_id()))
        .await
        .unwrap();
    assert!(again.roles.is_empty());
    assert_eq!(store.member_count(g).await.unwrap(), 2);
    // Counts are per guild, and a deleted guild takes its count with it.
    assert_eq!(store.member_count(other).await.unwrap(), 1);
    store.delete_guild(other).await.unwrap();
    assert_eq!(store.member_count(other).await.unwrap(), 0);
    assert_eq!(store.member_count(g).await.unwrap(), 2);
}

async fn members_paging(store: Store) {
    let owner = user(&store, "owner").await;
    let g = guild(&store, owner.user_id(), "big").await;
    let role = store
        .create_role(&NewRole::new(id(), g, "odd"))
        .await
        .unwrap()
        .role_id();
    let mut users: Vec<UserId> = vec![owner.user_id()];
    for i in 0..6 {
        let u = user(&store, &format!("user{i}")).await.user_id();
        let mut m = NewMember::new(g, u);
        if i % 2 == 1 {
            m.roles = vec![role];
        }
        store.add_member(&m).await.unwrap();
        users.push(u);
    }
    users.sort();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.members(g, after, 3).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 3);
        for m in &page {
            let expected = store.member(g, m.user()).await.unwrap().unwrap();
            assert_eq!(m, &expected, "roles are attached to the right member");
        }
        after = page.last().map(|m| m.user());
        seen.extend(page.iter().map(|m| m.user()));
    }
    assert_eq!(seen, users);
    assert_eq!(
        store
            .members(g, None, 100)
            .await
            .unwrap()
            .iter()
            .filter(|m| !m.roles.is_empty())
            .count(),
        3
    );
    assert!(
        store
            .members(g, users.last().copied(), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.members(g, None, 1).await.unwrap().len(), 1);
}
