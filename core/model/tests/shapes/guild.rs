//! Shape tests for guilds, unavailable guilds, welcome screens, incidents data and bans.

use accord_model::*;
use serde_json::{Value, json};

use crate::{assert_keys, assert_missing_is_null, assert_required, round_trip};

/// developers/resources/guild.mdx, "Example Guild". Adapted: adds the required keys the example
/// leaves out (`nsfw_level`, `premium_progress_bar_enabled`, `incidents_data`).
fn example_guild() -> Value {
    json!({
      "id": "197038439483310086",
      "name": "Discord Testers",
      "icon": "f64c482b807da4f539cff778d174971c",
      "description": "The official place to report Discord Bugs!",
      "splash": null,
      "discovery_splash": null,
      "features": [
        "ANIMATED_ICON", "VERIFIED", "NEWS", "VANITY_URL", "DISCOVERABLE", "MORE_EMOJI", "INVITE_SPLASH",
        "BANNER", "COMMUNITY"
      ],
      "emojis": [],
      "banner": "9b6439a7de04f1d26af92f84ac9e1e4a",
      "owner_id": "73193882359173120",
      "application_id": null,
      "region": null,
      "afk_channel_id": null,
      "afk_timeout": 300,
      "system_channel_id": null,
      "widget_enabled": true,
      "widget_channel_id": null,
      "verification_level": 3,
      "roles": [],
      "default_message_notifications": 1,
      "mfa_level": 1,
      "explicit_content_filter": 2,
      "max_presences": 40000,
      "max_members": 250000,
      "vanity_url_code": "discord-testers",
      "premium_tier": 3,
      "premium_subscription_count": 33,
      "system_channel_flags": 0,
      "preferred_locale": "en-US",
      "rules_channel_id": "441688182833020939",
      "public_updates_channel_id": "281283303326089216",
      "safety_alerts_channel_id": "281283303326089216",
      "nsfw_level": 0,
      "premium_progress_bar_enabled": false,
      "incidents_data": null
    })
}

#[test]
fn example_guild_round_trips() {
    let guild: Guild = round_trip(&example_guild());
    assert_eq!(guild.verification_level, VerificationLevel::High);
    assert_eq!(
        guild.default_message_notifications,
        DefaultMessageNotificationLevel::OnlyMentions
    );
    assert_eq!(
        guild.explicit_content_filter,
        ExplicitContentFilterLevel::AllMembers
    );
    assert_eq!(guild.mfa_level, MfaLevel::Elevated);
    assert_eq!(guild.premium_tier, PremiumTier::Tier3);
    assert_eq!(guild.nsfw_level, NsfwLevel::Default);
    assert_eq!(guild.region, Some(None));
    assert_eq!(guild.widget_channel_id, Some(None));
    assert_eq!(guild.max_presences, Some(Some(40_000)));
    for key in [
        "id",
        "name",
        "owner_id",
        "afk_timeout",
        "verification_level",
        "roles",
        "emojis",
        "features",
        "mfa_level",
        "system_channel_flags",
        "premium_tier",
        "preferred_locale",
        "nsfw_level",
        "premium_progress_bar_enabled",
    ] {
        assert_required::<Guild>(&example_guild(), key);
    }
    for key in [
        "icon",
        "splash",
        "incidents_data",
        "safety_alerts_channel_id",
        "afk_channel_id",
    ] {
        assert_missing_is_null::<Guild>(&example_guild(), key);
    }
}

#[test]
fn get_guild_example_response() {
    // developers/resources/guild.mdx, "Get Guild" example response. Adapted: the role gains
    // `flags`, and the guild gains `nsfw_level`, `premium_progress_bar_enabled`,
    // `incidents_data` (required keys the example leaves out).
    let json = json!({
      "id": "2909267986263572999",
      "name": "Mason's Test Server",
      "icon": "389030ec9db118cb5b85a732333b7c98",
      "description": null,
      "splash": "75610b05a0dd09ec2c3c7df9f6975ea0",
      "discovery_splash": null,
      "approximate_member_count": 2,
      "approximate_presence_count": 2,
      "features": ["INVITE_SPLASH", "VANITY_URL", "COMMERCE", "BANNER", "NEWS", "VERIFIED", "VIP_REGIONS"],
      "emojis": [
        {
          "name": "ultrafastparrot",
          "roles": [],
          "id": "393564762228785161",
          "require_colons": true,
          "managed": false,
          "animated": true,
          "available": true
        }
      ],
      "banner": "5c3cb8d1bc159937fffe7e641ec96ca7",
      "owner_id": "53908232506183680",
      "application_id": null,
      "region": null,
      "afk_channel_id": null,
      "afk_timeout": 300,
      "system_channel_id": null,
      "widget_enabled": true,
      "widget_channel_id": "639513352485470208",
      "verification_level": 0,
      "roles": [
        {
          "id": "2909267986263572999",
          "name": "@everyone",
          "permissions": "49794752",
          "position": 0,
          "color": 0,
          "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
          "hoist": false,
          "managed": false,
          "mentionable": false,
          "flags": 0
        }
      ],
      "default_message_notifications": 1,
      "mfa_level": 0,
      "explicit_content_filter": 0,
      "max_presences": null,
      "max_members": 250000,
      "max_video_channel_users": 25,
      "vanity_url_code": "no",
      "premium_tier": 0,
      "premium_subscription_count": 0,
      "system_channel_flags": 0,
      "preferred_locale": "en-US",
      "rules_channel_id": null,
      "public_updates_channel_id": null,
      "safety_alerts_channel_id": null,
      "nsfw_level": 0,
      "premium_progress_bar_enabled": false,
      "incidents_data": null
    });
    let guild: Guild = round_trip(&json);
    let everyone = &guild.roles[0];
    assert_eq!(everyone.id.get(), guild.id.get());
    assert!(
        everyone
            .permissions
            .contains(Permissions::VIEW_CHANNEL | Permissions::SEND_MESSAGES)
    );
    assert_eq!(everyone.colors, RoleColors::solid(0));
    assert_eq!(guild.max_presences, Some(None));
    assert_eq!(guild.emojis[0].animated, Some(true));
}

#[test]
fn unavailable_guild() {
    // "Example Unavailable Guild", as is.
    let json = json!({"id": "41771983423143937", "unavailable": true});
    let guild: UnavailableGuild = round_trip(&json);
    assert!(guild.unavailable);
    assert_keys(&json, &["id", "unavailable"], &[]);
}

#[test]
fn welcome_screen_and_incidents_data() {
    // "Example Welcome Screen" (first two channels) and "Example Incidents Data", as is.
    let json = json!({
      "description": "Discord Developers is a place to learn about Discord's API, bots, and SDKs and integrations. This is NOT a general Discord support server.",
      "welcome_channels": [
        {
          "channel_id": "697138785317814292",
          "description": "Follow for official Discord API updates",
          "emoji_id": null,
          "emoji_name": "📡"
        },
        {
          "channel_id": "697236247739105340",
          "description": "Get help with Bot Verifications",
          "emoji_id": null,
          "emoji_name": "📸"
        }
      ]
    });
    let screen: WelcomeScreen = round_trip(&json);
    assert_keys(
        &serde_json::to_value(&screen.welcome_channels[0]).unwrap(),
        &["channel_id", "description", "emoji_id", "emoji_name"],
        &["emoji_id"],
    );
    let incidents = json!({"invites_disabled_until": "2023-09-01T14:48:02.222000+00:00", "dms_disabled_until": null});
    let data: IncidentsData = round_trip(&incidents);
    assert_eq!(data.dm_spam_detected_at, None);
    assert!(
        serde_json::from_value::<IncidentsData>(
            json!({"invites_disabled_until": "soon", "dms_disabled_until": null})
        )
        .is_err()
    );
}

#[test]
fn example_ban() {
    // "Example Ban"; the user gains `global_name: null`.
    let json = json!({
      "reason": "mentioning b1nzy",
      "user": {
        "username": "Mason",
        "discriminator": "9999",
        "global_name": null,
        "id": "53908099506183680",
        "avatar": "a_bab14f271d565501444b2ca3be944b25",
        "public_flags": 131141
      }
    });
    round_trip::<Ban>(&json);
    let no_reason = json!({"reason": null, "user": json["user"].clone()});
    let ban: Ban = round_trip(&no_reason);
    assert_keys(
        &serde_json::to_value(&ban).unwrap(),
        &["reason", "user"],
        &["reason"],
    );
    assert_missing_is_null::<Ban>(&no_reason, "reason");
}
