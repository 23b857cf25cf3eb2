//! Shape tests for the application object.

use accord_model::*;
use serde_json::json;

use crate::{assert_keys, assert_required, round_trip};

#[test]
fn example_application() {
    // developers/resources/application.mdx, "Example Application Object". Adapted: partial users
    // gain `global_name: null`; the team member gains the `role` its structure table requires.
    let json = json!({
      "bot_public": true,
      "bot_require_code_grant": false,
      "cover_image": "31deabb7e45b6c8ecfef77d2f99c81a5",
      "description": "Test",
      "flags": 8192,
      "flags_new": "8192",
      "guild_id": "290926798626357260",
      "icon": null,
      "id": "172150183260323840",
      "integration_types_config": {
        "0": {
          "oauth2_install_params": {
            "scopes": ["applications.commands", "bot"],
            "permissions": "2048"
          }
        },
        "1": {
          "oauth2_install_params": {
            "scopes": ["applications.commands"],
            "permissions": "0"
          }
        }
      },
      "name": "Baba O-Riley",
      "interactions_endpoint_url": null,
      "role_connections_verification_url": null,
      "event_webhooks_url": null,
      "event_webhooks_status": 1,
      "owner": {
        "avatar": null,
        "discriminator": "1738",
        "flags": 1024,
        "global_name": null,
        "id": "172150183260323840",
        "username": "i own a bot"
      },
      "primary_sku_id": "172150183260323840",
      "slug": "test",
      "team": {
        "name": "A team",
        "icon": "dd9b7dcfdf5351b9c3de0fe167bacbe1",
        "id": "531992624043786253",
        "owner_user_id": "511972282709709995",
        "members": [
          {
            "membership_state": 2,
            "permissions": ["*"],
            "role": "admin",
            "team_id": "531992624043786253",
            "user": {
              "avatar": "d9e261cd35999608eb7e3de1fae3688b",
              "discriminator": "0001",
              "global_name": null,
              "id": "511972282709709995",
              "username": "Mr Owner"
            }
          }
        ]
      },
      "verify_key": "1e0a356058d627ca38a5c8c9648818061d49e49bd9da9e3ab17d98ad4d6bg2u8"
    });
    let app: Application = round_trip(&json);
    assert_eq!(app.flags, Some(ApplicationFlags::GATEWAY_PRESENCE_LIMITED));
    assert_eq!(
        app.event_webhooks_status,
        Some(ApplicationEventWebhookStatus::Disabled)
    );
    let config = app.integration_types_config.unwrap();
    let guild = config[&ApplicationIntegrationType::GuildInstall]
        .oauth2_install_params
        .as_ref()
        .unwrap();
    assert_eq!(guild.permissions, Permissions::SEND_MESSAGES);
    assert!(config.contains_key(&ApplicationIntegrationType::UserInstall));
    assert_eq!(
        app.team.unwrap().members[0].membership_state,
        MembershipState::Accepted
    );
}

#[test]
fn what_discord_py_needs() {
    // GET /oauth2/applications/@me as Accord serves it: discord.py reads id, name, description,
    // icon, bot_public, bot_require_code_grant, owner, verify_key; discord.js reads flags.
    let json = json!({
      "id": "172150183260323840",
      "name": "bot",
      "icon": null,
      "description": "",
      "bot_public": true,
      "bot_require_code_grant": false,
      "owner": {"id": "1", "username": "owner", "discriminator": "0", "global_name": null, "avatar": null},
      "summary": "",
      "verify_key": "00",
      "team": null,
      "flags": 565248,
      "bot": {"id": "172150183260323840", "username": "bot", "discriminator": "0", "global_name": null, "avatar": null, "bot": true}
    });
    let app: Application = round_trip(&json);
    assert_eq!(
        app.flags.unwrap(),
        ApplicationFlags::GATEWAY_GUILD_MEMBERS_LIMITED
            | ApplicationFlags::GATEWAY_PRESENCE_LIMITED
            | ApplicationFlags::GATEWAY_MESSAGE_CONTENT_LIMITED
    );
    assert_keys(
        &json,
        &[
            "id",
            "name",
            "icon",
            "description",
            "bot_public",
            "bot_require_code_grant",
            "owner",
            "summary",
            "verify_key",
            "team",
            "flags",
            "bot",
        ],
        &["icon", "team"],
    );
    for key in [
        "id",
        "name",
        "description",
        "bot_public",
        "bot_require_code_grant",
        "verify_key",
    ] {
        assert_required::<Application>(&json, key);
    }
}

#[test]
fn flag_values_match_the_docs() {
    assert_eq!(ApplicationFlags::GATEWAY_PRESENCE.bits(), 1 << 12);
    assert_eq!(ApplicationFlags::GATEWAY_PRESENCE_LIMITED.bits(), 1 << 13);
    assert_eq!(ApplicationFlags::GATEWAY_GUILD_MEMBERS.bits(), 1 << 14);
    assert_eq!(
        ApplicationFlags::GATEWAY_GUILD_MEMBERS_LIMITED.bits(),
        1 << 15
    );
    assert_eq!(ApplicationFlags::GATEWAY_MESSAGE_CONTENT.bits(), 1 << 18);
    assert_eq!(
        ApplicationFlags::GATEWAY_MESSAGE_CONTENT_LIMITED.bits(),
        1 << 19
    );
}
