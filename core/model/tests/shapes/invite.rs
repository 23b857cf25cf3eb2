//! Shape tests for invites with and without metadata.

use accord_model::*;
use serde_json::json;

use crate::{assert_keys, assert_missing_is_null, assert_required, round_trip};

#[test]
fn example_invite() {
    // developers/resources/invite.mdx, "Example Invite Object". Adapted: users gain
    // `global_name: null`; `expires_at` (required, nullable) is added as null.
    let json = json!({
      "type": 0,
      "code": "0vCdhLbwjZZTWZLD",
      "guild": {
        "id": "165176875973476352",
        "name": "CS:GO Fraggers Only",
        "splash": null,
        "banner": null,
        "description": "Very good description",
        "icon": null,
        "features": ["NEWS", "DISCOVERABLE"],
        "verification_level": 2,
        "vanity_url_code": null,
        "nsfw_level": 0,
        "premium_subscription_count": 5
      },
      "channel": {"id": "165176875973476352", "name": "illuminati", "type": 0},
      "inviter": {
        "id": "115590097100865541", "username": "speed", "global_name": null, "avatar": "deadbeef",
        "discriminator": "7653", "public_flags": 131328
      },
      "target_type": 1,
      "target_user": {
        "id": "165176875973476352", "username": "bob", "global_name": null, "avatar": "deadbeef",
        "discriminator": "1234", "public_flags": 64
      },
      "expires_at": null
    });
    let invite: Invite = round_trip(&json);
    assert_eq!(invite.kind, InviteType::Guild);
    assert_eq!(invite.target_type, Some(InviteTargetType::Stream));
    assert_eq!(
        invite.guild.as_ref().unwrap().verification_level,
        VerificationLevel::Medium
    );
    assert_eq!(
        invite.channel.as_ref().unwrap().kind,
        ChannelType::GuildText
    );
    assert_missing_is_null::<Invite>(&json, "expires_at");
    assert_required::<Invite>(&json, "code");
}

#[test]
fn invite_with_metadata() {
    // An invite plus the "Example Invite Metadata" fields, as GET /channels/{id}/invites returns.
    let json = json!({
      "type": 0,
      "code": "abc",
      "channel": {"id": "1", "name": "general", "type": 0},
      "expires_at": "2016-04-01T19:15:39.954000+00:00",
      "flags": 0,
      "uses": 0,
      "max_uses": 0,
      "max_age": 0,
      "temporary": false,
      "created_at": "2016-03-31T19:15:39.954000+00:00"
    });
    let invite: Invite = round_trip(&json);
    let created = invite.created_at.unwrap();
    assert_eq!(
        invite.expires_at.unwrap().unix_millis() - created.unix_millis(),
        86_400_000
    );
    let minimal = json!({"type": 1, "code": "x", "channel": null, "expires_at": null});
    round_trip::<Invite>(&minimal);
    assert_keys(
        &minimal,
        &["type", "code", "channel", "expires_at"],
        &["channel", "expires_at"],
    );
    let role = json!({
      "id": "2", "name": "member", "position": 1, "color": 0,
      "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
      "icon": null, "unicode_emoji": null
    });
    round_trip::<InviteRole>(&role);
}
