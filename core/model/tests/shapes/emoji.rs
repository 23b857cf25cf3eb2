//! Shape tests for emojis and stickers.

use accord_model::*;
use serde_json::json;

use crate::{assert_keys, assert_missing_is_null, assert_serialised_keys, round_trip};

#[test]
fn example_emoji() {
    // developers/resources/emoji.mdx, "Emoji Example"; the user gains `global_name: null`.
    let json = json!({
      "id": "41771983429993937",
      "name": "LUL",
      "roles": ["41771983429993000", "41771983429993111"],
      "user": {
        "username": "Luigi",
        "discriminator": "0002",
        "global_name": null,
        "id": "96008815106887111",
        "avatar": "5500909a3274e1812beb4e8de6631111",
        "public_flags": 131328
      },
      "require_colons": true,
      "managed": false,
      "animated": false
    });
    let emoji: Emoji = round_trip(&json);
    assert_eq!(emoji.roles.unwrap().len(), 2);
}

#[test]
fn standard_and_partial_emojis() {
    // "Standard Emoji Example" and the two "Custom Emoji Examples", as is.
    let standard = json!({"id": null, "name": "🔥"});
    assert_eq!(round_trip::<Emoji>(&standard), Emoji::unicode("🔥"));
    assert_keys(&standard, &["id", "name"], &["id"]);
    round_trip::<Emoji>(&json!({"id": "41771983429993937", "name": "LUL", "animated": true}));
    let deleted = json!({"id": "41771983429993937", "name": null});
    round_trip::<Emoji>(&deleted);
    assert_serialised_keys(
        &Emoji::partial(Some(EmojiId::new(1)), None),
        &["id", "name"],
        &["name"],
    );
    assert_missing_is_null::<Emoji>(&standard, "id");
}

#[test]
fn example_sticker() {
    // developers/resources/sticker.mdx, "Example Sticker" (tags shortened).
    let json = json!({
      "id": "749054660769218631",
      "name": "Wave",
      "tags": "wumpus, hello, sup, hi, oi, heyo, heya, yo, greetings, greet, welcome, wave",
      "type": 1,
      "format_type": 3,
      "description": "Wumpus waves hello",
      "pack_id": "847199849233514549",
      "sort_value": 12
    });
    let sticker: Sticker = round_trip(&json);
    assert_eq!(sticker.kind, StickerType::Standard);
    assert_eq!(sticker.format_type, StickerFormatType::Lottie);
    let item = json!({"id": "749054660769218631", "name": "Wave", "format_type": 3});
    round_trip::<StickerItem>(&item);
}
