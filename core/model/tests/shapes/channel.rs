//! Shape tests for channel objects, channel types and permission overwrites.

use accord_model::*;
use serde_json::json;

use crate::{assert_keys, assert_required, assert_serialised_keys, round_trip};

#[test]
fn example_guild_text_and_announcement_channels() {
    // developers/resources/channel.mdx, "Example Guild Text Channel" and "Example Guild
    // Announcement Channel", as is.
    let text = json!({
      "id": "41771983423143937",
      "guild_id": "41771983423143937",
      "name": "general",
      "type": 0,
      "position": 6,
      "permission_overwrites": [],
      "rate_limit_per_user": 2,
      "nsfw": true,
      "topic": "24/7 chat about how to gank Mike #2",
      "last_message_id": "155117677105512449",
      "parent_id": "399942396007890945",
      "default_auto_archive_duration": 60
    });
    let channel: Channel = round_trip(&text);
    assert_eq!(channel.kind, ChannelType::GuildText);
    assert_eq!(channel.name, Some(Some("general".into())));
    assert_eq!(
        channel.parent_id,
        Some(Some(ChannelId::new(399_942_396_007_890_945)))
    );
    let announcement = json!({
      "id": "41771983423143937",
      "guild_id": "41771983423143937",
      "name": "important-news",
      "type": 5,
      "position": 6,
      "permission_overwrites": [],
      "nsfw": true,
      "topic": "Rumors about Half Life 3",
      "last_message_id": "155117677105512449",
      "parent_id": "399942396007890945",
      "default_auto_archive_duration": 60
    });
    assert_eq!(
        round_trip::<Channel>(&announcement).kind,
        ChannelType::GuildAnnouncement
    );
    assert_required::<Channel>(&text, "id");
    assert_required::<Channel>(&text, "type");
}

#[test]
fn example_voice_channel() {
    // "Example Guild Voice Channel"; the docs' literal has a trailing comma (invalid JSON),
    // dropped here.
    let json = json!({
      "id": "155101607195836416",
      "last_message_id": "174629835082649376",
      "type": 2,
      "name": "ROCKET CHEESE",
      "position": 5,
      "parent_id": null,
      "bitrate": 64000,
      "user_limit": 0,
      "rtc_region": null,
      "guild_id": "41771983423143937",
      "permission_overwrites": [],
      "rate_limit_per_user": 0,
      "nsfw": false
    });
    let channel: Channel = round_trip(&json);
    assert_eq!(
        (channel.bitrate, channel.user_limit),
        (Some(64_000), Some(0))
    );
    assert_eq!(channel.rtc_region, Some(None));
    assert_eq!(channel.parent_id, Some(None));
}

#[test]
fn example_dm_and_group_dm_channels() {
    // "Example DM Channel" and "Example Group DM Channel"; recipients gain `global_name: null`.
    let dm = json!({
      "last_message_id": "3343820033257021450",
      "type": 1,
      "id": "319674150115610528",
      "recipients": [
        {"username": "test", "discriminator": "9999", "global_name": null, "id": "82198898841029460", "avatar": "33ecab261d4681afa4d85a04691c4a01"}
      ]
    });
    let channel: Channel = round_trip(&dm);
    assert!(channel.kind.is_private());
    assert_eq!(channel.recipients.unwrap().len(), 1);
    let group = json!({
      "name": "Some test channel",
      "icon": null,
      "recipients": [
        {"username": "test", "discriminator": "9999", "global_name": null, "id": "82198898841029460", "avatar": "33ecab261d4681afa4d85a04691c4a01"},
        {"username": "test2", "discriminator": "9999", "global_name": null, "id": "82198810841029460", "avatar": "33ecab261d4681afa4d85a10691c4a01"}
      ],
      "last_message_id": "3343820033257021450",
      "type": 3,
      "id": "319674150115710528",
      "owner_id": "82198810841029460"
    });
    let channel: Channel = round_trip(&group);
    assert_eq!(channel.kind, ChannelType::GroupDm);
    assert_eq!(channel.icon, Some(None));
}

#[test]
fn example_category_and_thread() {
    // "Example Channel Category" and "Example Thread Channel", as is.
    let category = json!({
      "permission_overwrites": [],
      "name": "Test",
      "parent_id": null,
      "nsfw": false,
      "position": 0,
      "guild_id": "290926798629997250",
      "type": 4,
      "id": "399942396007890945"
    });
    assert_eq!(
        round_trip::<Channel>(&category).kind,
        ChannelType::GuildCategory
    );
    let thread = json!({
      "id": "41771983423143937",
      "guild_id": "41771983423143937",
      "parent_id": "41771983423143937",
      "owner_id": "41771983423143937",
      "name": "don't buy dota-2",
      "type": 11,
      "last_message_id": "155117677105512449",
      "message_count": 1,
      "member_count": 5,
      "rate_limit_per_user": 2,
      "thread_metadata": {
        "archived": false,
        "auto_archive_duration": 1440,
        "archive_timestamp": "2021-04-12T23:40:39.855793+00:00",
        "locked": false
      },
      "total_message_sent": 1
    });
    let channel: Channel = round_trip(&thread);
    assert!(channel.kind.is_thread());
    assert_eq!(channel.thread_metadata.unwrap().auto_archive_duration, 1440);
}

#[test]
fn channel_types_cover_the_table() {
    let all = [0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15, 16];
    for value in all {
        let kind: ChannelType = serde_json::from_value(json!(value)).unwrap();
        assert_eq!(serde_json::to_value(kind).unwrap(), json!(value));
    }
    for bad in [6, 7, 8, 9, 17] {
        assert!(serde_json::from_value::<ChannelType>(json!(bad)).is_err());
    }
}

#[test]
fn permission_overwrites() {
    let json = json!({"id": "41771983423143936", "type": 0, "allow": "1024", "deny": "2048"});
    let overwrite: PermissionOverwrite = round_trip(&json);
    assert_eq!(overwrite.kind, OverwriteType::Role);
    assert_eq!(overwrite.allow, Permissions::VIEW_CHANNEL);
    assert_eq!(overwrite.deny, Permissions::SEND_MESSAGES);
    assert_keys(&json, &["id", "type", "allow", "deny"], &[]);
    // Integers are accepted for the bit sets and written back as strings.
    let ints: PermissionOverwrite = serde_json::from_value(
        json!({"id": 80351110224678912u64, "type": 1, "allow": 0, "deny": 1024}),
    )
    .unwrap();
    assert_eq!(
        serde_json::to_value(ints).unwrap(),
        json!({"id": "80351110224678912", "type": 1, "allow": "0", "deny": "1024"})
    );
    assert!(
        serde_json::from_value::<PermissionOverwrite>(
            json!({"id": "1", "type": 2, "allow": "0", "deny": "0"})
        )
        .is_err()
    );
}

#[test]
fn thread_member_forum_tag_and_minimal_channel() {
    let member = json!({"id": "1", "user_id": "2", "join_timestamp": "2021-04-12T23:40:39.855793+00:00", "flags": 1});
    round_trip::<ThreadMember>(&member);
    let in_guild_create = json!({"join_timestamp": "2021-04-12T23:40:39.855793+00:00", "flags": 0});
    round_trip::<ThreadMember>(&in_guild_create);
    let tag =
        json!({"id": "5", "name": "bug", "moderated": false, "emoji_id": null, "emoji_name": "🐛"});
    round_trip::<ForumTag>(&tag);
    assert_serialised_keys(
        &Channel::new(ChannelId::new(9), ChannelType::GuildText),
        &["id", "type"],
        &[],
    );
}
