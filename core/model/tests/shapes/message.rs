//! Shape tests for messages, references, nonces, embeds and attachments.

use accord_model::*;
use serde_json::{Value, json};

use crate::{assert_keys, assert_missing_is_null, assert_required, round_trip};

/// developers/resources/message.mdx, "Example Message"; the author gains `global_name: null`.
fn example_message() -> Value {
    json!({
      "reactions": [
        {
          "count": 1,
          "count_details": {"burst": 0, "normal": 1},
          "me": false,
          "me_burst": false,
          "emoji": {"id": null, "name": "🔥"},
          "burst_colors": []
        }
      ],
      "attachments": [],
      "tts": false,
      "embeds": [],
      "timestamp": "2017-07-11T17:27:07.299000+00:00",
      "mention_everyone": false,
      "id": "334385199974967042",
      "pinned": false,
      "edited_timestamp": null,
      "author": {
        "username": "Mason",
        "discriminator": "9999",
        "global_name": null,
        "id": "53908099506183680",
        "avatar": "a_bab14f271d565501444b2ca3be944b25"
      },
      "mention_roles": [],
      "content": "Supa Hot",
      "channel_id": "290926798999357250",
      "mentions": [],
      "type": 0
    })
}

#[test]
fn example_message_round_trips() {
    let json = example_message();
    let message: Message = round_trip(&json);
    assert_eq!(message.kind, MessageType::Default);
    assert_eq!(message.content, "Supa Hot");
    let reaction = &message.reactions.as_ref().unwrap()[0];
    assert_eq!(reaction.emoji, Emoji::unicode("🔥"));
    assert_eq!(
        reaction.count_details,
        ReactionCountDetails {
            burst: 0,
            normal: 1
        }
    );
    assert_keys(
        &json["reactions"][0],
        &[
            "count",
            "count_details",
            "me",
            "me_burst",
            "emoji",
            "burst_colors",
        ],
        &[],
    );
    // What twilight requires of every message.
    for key in [
        "attachments",
        "author",
        "channel_id",
        "content",
        "embeds",
        "id",
        "type",
        "mention_everyone",
        "mention_roles",
        "mentions",
        "pinned",
        "timestamp",
        "tts",
    ] {
        assert!(json.get(key).is_some());
        assert_required::<Message>(&json, key);
    }
    assert_missing_is_null::<Message>(&json, "edited_timestamp");
}

#[test]
fn example_crossposted_message() {
    // "Example Crossposted Message"; the author gains `global_name: null`.
    let mut json = example_message();
    let extra = json!({
      "mention_channels": [
        {"id": "278325129692446722", "guild_id": "278325129692446720", "name": "big-news", "type": 5}
      ],
      "content": "Big news! In this <#278325129692446722> channel!",
      "flags": 2,
      "message_reference": {
        "type": 0,
        "channel_id": "278325129692446722",
        "guild_id": "278325129692446720",
        "message_id": "306588351130107906"
      }
    });
    for (k, v) in extra.as_object().unwrap() {
        json[k] = v.clone();
    }
    let message: Message = round_trip(&json);
    assert_eq!(message.flags, Some(MessageFlags::IS_CROSSPOST));
    let reference = message.message_reference.unwrap();
    assert_eq!(reference.kind, Some(MessageReferenceType::Default));
    assert_eq!(
        reference.message_id,
        Some(MessageId::new(306_588_351_130_107_906))
    );
    assert_eq!(
        message.mention_channels.unwrap()[0].kind,
        ChannelType::GuildAnnouncement
    );
}

#[test]
fn reply_as_message_create() {
    // A reply as MESSAGE_CREATE carries it: guild_id, a user-less member, a mention with its
    // member, a deleted referenced message (null) and a string nonce.
    let mut json = example_message();
    let extra = json!({
      "type": 19,
      "guild_id": "197038439483310086",
      "member": {"roles": [], "joined_at": "2015-04-26T06:26:56.936000+00:00", "deaf": false, "mute": false, "flags": 0},
      "mentions": [
        {
          "id": "80351110224678912", "username": "Nelly", "discriminator": "1337", "global_name": null, "avatar": null,
          "member": {"roles": [], "joined_at": "2016-01-01T00:00:00.000000+00:00", "deaf": false, "mute": false, "flags": 0}
        }
      ],
      "message_reference": {"type": 0, "message_id": "306588351130107906", "channel_id": "290926798999357250", "guild_id": "197038439483310086"},
      "referenced_message": null,
      "nonce": "1234567890",
      "channel_type": 0
    });
    for (k, v) in extra.as_object().unwrap() {
        json[k] = v.clone();
    }
    let message: Message = round_trip(&json);
    assert_eq!(message.kind, MessageType::Reply);
    assert_eq!(message.referenced_message, Some(None));
    assert_eq!(message.nonce, Some(Nonce::String("1234567890".into())));
    assert_eq!(message.mentions[0].user.username, "Nelly");
    assert!(message.mentions[0].member.is_some());
    assert!(message.member.unwrap().user.is_none());
    // The referenced message, when present, is a whole message.
    json["referenced_message"] = example_message();
    let message: Message = round_trip(&json);
    assert_eq!(
        message.referenced_message.unwrap().unwrap().content,
        "Supa Hot"
    );
}

#[test]
fn message_reference_accepts_integer_ids() {
    // discord.py sends the reply target's ids as JSON integers.
    let sent = json!({"message_id": 306588351130107906u64, "channel_id": 290926798999357250u64, "fail_if_not_exists": false});
    let reference: MessageReference = serde_json::from_value(sent).unwrap();
    assert_eq!(
        reference.message_id,
        Some(MessageId::new(306_588_351_130_107_906))
    );
    assert_eq!(
        serde_json::to_value(reference).unwrap(),
        json!({"message_id": "306588351130107906", "channel_id": "290926798999357250", "fail_if_not_exists": false})
    );
    let forward = json!({"type": 1, "message_id": "1", "channel_id": "2", "guild_id": "3"});
    assert_eq!(
        round_trip::<MessageReference>(&forward).kind,
        Some(MessageReferenceType::Forward)
    );
    assert_keys(
        &serde_json::to_value(MessageReference::default()).unwrap(),
        &[],
        &[],
    );
}

#[test]
fn nonce_is_an_integer_or_a_string() {
    assert_eq!(round_trip::<Nonce>(&json!(42)), Nonce::Integer(42));
    assert_eq!(round_trip::<Nonce>(&json!(-7)), Nonce::Integer(-7));
    assert_eq!(
        round_trip::<Nonce>(&json!("abc")),
        Nonce::String("abc".into())
    );
    assert!(serde_json::from_value::<Nonce>(json!(1.5)).is_err());
    assert!(serde_json::from_value::<Nonce>(json!(null)).is_err());
}

#[test]
fn message_types_cover_the_table() {
    let values = [
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
        26, 27, 28, 29, 31, 32, 36, 37, 38, 39, 44, 46,
    ];
    for value in values {
        let kind: MessageType = serde_json::from_value(json!(value)).unwrap();
        assert_eq!(serde_json::to_value(kind).unwrap(), json!(value));
    }
    for bad in [13, 30, 33, 45, 47] {
        assert!(serde_json::from_value::<MessageType>(json!(bad)).is_err());
    }
    assert!(!MessageType::ThreadStarterMessage.deletable());
    assert!(MessageType::Reply.deletable());
}

#[test]
fn full_embed() {
    let json = json!({
      "title": "Title",
      "type": "rich",
      "description": "Description",
      "url": "https://example.com/",
      "timestamp": "2017-07-11T17:27:07.299000+00:00",
      "color": 3447003,
      "footer": {"text": "footer", "icon_url": "https://example.com/f.png", "proxy_icon_url": "https://media.example.com/f.png"},
      "image": {"url": "https://example.com/i.png", "proxy_url": "https://media.example.com/i.png", "height": 100, "width": 200, "content_type": "image/png", "flags": 32},
      "thumbnail": {"url": "https://example.com/t.png"},
      "video": {"url": "https://example.com/v.mp4", "height": 720, "width": 1280},
      "provider": {"name": "Example", "url": "https://example.com/"},
      "author": {"name": "Author", "url": "https://example.com/a", "icon_url": "https://example.com/a.png"},
      "fields": [{"name": "a", "value": "b", "inline": true}, {"name": "c", "value": "d"}]
    });
    let embed: Embed = round_trip(&json);
    assert_eq!(
        embed.image.unwrap().flags,
        Some(EmbedMediaFlags::IS_ANIMATED)
    );
    assert_eq!(embed.fields.unwrap()[1].inline, None);
    assert_keys(&serde_json::to_value(Embed::default()).unwrap(), &[], &[]);
    assert_required::<EmbedField>(&json["fields"][0], "value");
    assert_required::<EmbedFooter>(&json["footer"], "text");
}

#[test]
fn attachment() {
    let json = json!({
      "id": "1101234567890123456",
      "filename": "cat.png",
      "description": "a cat",
      "content_type": "image/png",
      "size": 12345,
      "url": "https://cdn.example.com/attachments/1/2/cat.png",
      "proxy_url": "https://media.example.com/attachments/1/2/cat.png",
      "height": 480,
      "width": 640,
      "flags": 8
    });
    let attachment: Attachment = round_trip(&json);
    assert_eq!(attachment.flags, Some(AttachmentFlags::IS_SPOILER));
    assert_eq!(attachment.height, Some(Some(480)));
    let voice = json!({
      "id": "1", "filename": "voice-message.ogg", "size": 100, "url": "u", "proxy_url": "p",
      "height": null, "width": null, "duration_secs": 3.5, "waveform": "AAAA", "flags": 0
    });
    let attachment: Attachment = round_trip(&voice);
    assert_eq!(attachment.width, Some(None));
    for key in ["id", "filename", "size", "url", "proxy_url"] {
        assert_required::<Attachment>(&json, key);
    }
}
