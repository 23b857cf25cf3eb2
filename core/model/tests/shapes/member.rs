//! Shape tests for guild members, full and partial.

use accord_model::*;
use serde_json::json;

use crate::{assert_keys, assert_required, round_trip};

#[test]
fn example_guild_member() {
    // developers/resources/guild.mdx, "Example Guild Member". Adapted: the example's empty
    // `user: {}` becomes a real partial user, and `flags` (required, "defaults to 0") is added.
    let json = json!({
      "user": {"id": "80351110224678912", "username": "Nelly", "discriminator": "1337", "global_name": null, "avatar": null},
      "nick": "NOT API SUPPORT",
      "avatar": null,
      "banner": null,
      "roles": [],
      "joined_at": "2015-04-26T06:26:56.936000+00:00",
      "deaf": false,
      "mute": false,
      "flags": 0
    });
    let member: GuildMember = round_trip(&json);
    assert_eq!(member.nick, Some(Some("NOT API SUPPORT".into())));
    assert_eq!(member.avatar, Some(None));
    assert_eq!(
        member.joined_at.as_ref().unwrap().unix_millis(),
        1_430_029_616_936
    );
    for key in ["roles", "deaf", "mute", "flags"] {
        assert_required::<GuildMember>(&json, key);
    }
}

#[test]
fn full_and_message_member_shapes() {
    // A GUILD_ event member with every field, and the user-less member of MESSAGE_CREATE.
    let json = json!({
      "user": {"id": "1", "username": "a", "discriminator": "0", "global_name": "A", "avatar": null},
      "nick": null,
      "roles": ["41771983423143936"],
      "joined_at": "2015-04-26T06:26:56.936000+00:00",
      "premium_since": null,
      "deaf": false,
      "mute": true,
      "flags": 10,
      "pending": false,
      "permissions": "1024",
      "communication_disabled_until": "2030-01-01T00:00:00.000000+00:00",
      "avatar_decoration_data": null
    });
    let member: GuildMember = round_trip(&json);
    assert_eq!(
        member.flags,
        GuildMemberFlags::COMPLETED_ONBOARDING | GuildMemberFlags::STARTED_ONBOARDING
    );
    assert_eq!(member.permissions, Some(Permissions::VIEW_CHANNEL));
    let partial = json!({
      "roles": [],
      "joined_at": "2015-04-26T06:26:56.936000+00:00",
      "deaf": false,
      "mute": false,
      "flags": 0
    });
    let member: GuildMember = round_trip(&partial);
    assert!(member.user.is_none());
    assert_keys(
        &partial,
        &["roles", "joined_at", "deaf", "mute", "flags"],
        &[],
    );
    // Voice guests have a null joined_at.
    let guest = json!({"roles": [], "joined_at": null, "deaf": false, "mute": false, "flags": 16});
    let member: GuildMember = round_trip(&guest);
    assert!(member.joined_at.is_none() && member.flags.contains(GuildMemberFlags::IS_GUEST));
}
