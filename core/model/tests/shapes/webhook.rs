//! Shape tests for the three kinds of webhook.

use accord_model::*;
use serde_json::json;

use crate::{assert_keys, assert_missing_is_null, assert_required, round_trip};

#[test]
fn example_incoming_webhook() {
    // developers/resources/webhook.mdx, "Example Incoming Webhook"; the user gains
    // `global_name: null`.
    let json = json!({
      "name": "test webhook",
      "type": 1,
      "channel_id": "199737254929760256",
      "token": "3d89bb7572e0fb30d8128367b3b1b44fecd1726de135cbe28a41f8b2f777c372ba2939e72279b94526ff5d1bd4358d65cf11",
      "avatar": null,
      "guild_id": "199737254929760256",
      "id": "223704706495545344",
      "application_id": null,
      "user": {
        "username": "test", "discriminator": "7479", "global_name": null, "id": "190320984123768832",
        "avatar": "b004ec1740a63ca06ae2e14c5cee11f3", "public_flags": 131328
      }
    });
    let webhook: Webhook = round_trip(&json);
    assert_eq!(webhook.kind, WebhookType::Incoming);
    assert_eq!(
        webhook.guild_id,
        Some(Some(GuildId::new(199_737_254_929_760_256)))
    );
    for key in ["id", "type"] {
        assert_required::<Webhook>(&json, key);
    }
    assert_missing_is_null::<Webhook>(&json, "avatar");
}

#[test]
fn example_channel_follower_webhook() {
    // "Example Channel Follower Webhook"; the user gains `global_name: null`.
    let json = json!({
      "type": 2,
      "id": "752831914402115456",
      "name": "Guildy name",
      "avatar": "bb71f469c158984e265093a81b3397fb",
      "channel_id": "561885260615255432",
      "guild_id": "56188498421443265",
      "application_id": null,
      "source_guild": {"id": "56188498421476534", "name": "Guildy name", "icon": "bb71f469c158984e265093a81b3397fb"},
      "source_channel": {"id": "5618852344134324", "name": "announcements"},
      "user": {
        "username": "test", "discriminator": "7479", "global_name": null, "id": "190320984123768832",
        "avatar": "b004ec1740a63ca06ae2e14c5cee11f3", "public_flags": 131328
      }
    });
    let webhook: Webhook = round_trip(&json);
    assert_eq!(webhook.kind, WebhookType::ChannelFollower);
    assert_eq!(webhook.source_channel.unwrap().name, "announcements");
}

#[test]
fn example_application_webhook() {
    // "Example Application Webhook", as is.
    let json = json!({
      "type": 3,
      "id": "658822586720976555",
      "name": "Clyde",
      "avatar": "689161dc90ac261d00f1608694ac6bfd",
      "channel_id": null,
      "guild_id": null,
      "application_id": "658822586720976555"
    });
    let webhook: Webhook = round_trip(&json);
    assert_eq!(webhook.guild_id, Some(None));
    assert_keys(
        &json,
        &[
            "type",
            "id",
            "name",
            "avatar",
            "channel_id",
            "guild_id",
            "application_id",
        ],
        &["channel_id", "guild_id"],
    );
}
