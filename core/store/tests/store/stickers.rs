//! Guild stickers: create, get (by guild and by id), list, count, update, delete.

use accord_store::{NewSticker, StickerPatch, Store, StoreError};

use crate::support::{guild, id, on_both_backends, user};

on_both_backends! {
    stickers_crud => sqlite_stickers_crud, postgres_stickers_crud;
}

async fn stickers_crud(store: Store) {
    let owner = user(&store, "owner").await.user_id();
    let g = guild(&store, owner, "g").await;
    let other = guild(&store, owner, "other").await;
    let new = NewSticker {
        id: id(),
        guild_id: g,
        name: "wave".into(),
        description: Some("a friendly wave".into()),
        tags: "wave,hello".into(),
        format_type: 1,
        user_id: Some(owner),
    };
    let wave = store.create_sticker(&new).await.unwrap();
    assert_eq!(wave.sticker_id(), new.id);
    assert_eq!(wave.guild(), g);
    assert_eq!(wave.name, "wave");
    assert_eq!(wave.description.as_deref(), Some("a friendly wave"));
    assert_eq!(wave.tags, "wave,hello");
    assert_eq!(wave.format_type, 1);
    assert!(wave.available);
    assert_eq!(wave.user_id, Some(owner.as_i64()));
    let gif = store
        .create_sticker(&NewSticker {
            id: id(),
            name: "dance".into(),
            description: None,
            format_type: 4,
            user_id: None,
            ..new.clone()
        })
        .await
        .unwrap();
    assert_eq!(gif.description, None);

    assert_eq!(
        store.guild_stickers(g).await.unwrap(),
        vec![wave.clone(), gif.clone()]
    );
    assert_eq!(store.guild_sticker_count(g).await.unwrap(), 2);
    assert_eq!(store.guild_sticker_count(other).await.unwrap(), 0);
    assert!(store.guild_stickers(other).await.unwrap().is_empty());
    // Scoped to its guild; by id alone it is found wherever it is.
    assert_eq!(
        store.guild_sticker(other, wave.sticker_id()).await.unwrap(),
        None
    );
    assert_eq!(
        store.sticker(wave.sticker_id()).await.unwrap(),
        Some(wave.clone())
    );
    assert_eq!(store.sticker(id()).await.unwrap(), None);

    // A patch changes only what it names; Some(None) clears the description.
    let renamed = store
        .update_sticker(
            g,
            wave.sticker_id(),
            &StickerPatch {
                name: Some("wave2".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "wave2");
    assert_eq!(renamed.description, wave.description);
    assert_eq!(renamed.tags, wave.tags);
    let cleared = store
        .update_sticker(
            g,
            wave.sticker_id(),
            &StickerPatch {
                description: Some(None),
                tags: Some("hi".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(cleared.name, "wave2");
    assert_eq!(cleared.description, None);
    assert_eq!(cleared.tags, "hi");
    let described = store
        .update_sticker(
            g,
            wave.sticker_id(),
            &StickerPatch {
                description: Some(Some("again".into())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(described.description.as_deref(), Some("again"));
    assert!(matches!(
        store
            .update_sticker(other, wave.sticker_id(), &StickerPatch::default())
            .await,
        Err(StoreError::NotFound)
    ));

    assert!(matches!(
        store.delete_sticker(other, wave.sticker_id()).await,
        Err(StoreError::NotFound)
    ));
    store.delete_sticker(g, wave.sticker_id()).await.unwrap();
    assert_eq!(store.guild_stickers(g).await.unwrap(), vec![gif.clone()]);
    assert!(matches!(
        store.delete_sticker(g, wave.sticker_id()).await,
        Err(StoreError::NotFound)
    ));

    // Deleting the guild deletes its stickers.
    store.delete_guild(g).await.unwrap();
    assert_eq!(store.sticker(gif.sticker_id()).await.unwrap(), None);
}
