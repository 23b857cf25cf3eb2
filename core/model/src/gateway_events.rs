//! The handshake payloads of the gateway (developers/events/gateway-events.mdx): Identify and
//! its connection properties, Resume, and the READY dispatch.

use serde::{Deserialize, Serialize};

use crate::application::ApplicationFlags;
use crate::guild::UnavailableGuild;
use crate::id::ApplicationId;
use crate::intents::Intents;
use crate::user::User;

/// The data of Identify (op 2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identify {
    /// The authentication token.
    pub token: String,
    /// Connection properties.
    pub properties: IdentifyProperties,
    /// Whether the client supports compressed packets (ignored under transport compression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compress: Option<bool>,
    /// Member count (50–250) above which offline members are not sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub large_threshold: Option<u32>,
    /// `[shard_id, num_shards]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<[u32; 2]>,
    /// Initial presence (an Update Presence object, kept as raw JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence: Option<serde_json::Value>,
    /// The intents wanted; undefined bits are kept so the gateway can reject them (4013).
    pub intents: Intents,
}

/// Identify's connection properties. The deprecated `$`-prefixed names are accepted, and a
/// missing property reads as an empty string.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IdentifyProperties {
    /// Operating system.
    #[serde(default, alias = "$os")]
    pub os: String,
    /// Library name.
    #[serde(default, alias = "$browser")]
    pub browser: String,
    /// Library name.
    #[serde(default, alias = "$device")]
    pub device: String,
}

/// The data of Resume (op 6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resume {
    /// The session token.
    pub token: String,
    /// The session to resume.
    pub session_id: String,
    /// The last sequence number received.
    pub seq: u64,
}

/// The data of the READY dispatch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ready {
    /// The API version.
    pub v: u8,
    /// The current user (with email for users).
    pub user: User,
    /// The user's guilds, all unavailable at first.
    pub guilds: Vec<UnavailableGuild>,
    /// The id used to resume.
    pub session_id: String,
    /// The URL to resume on.
    pub resume_gateway_url: String,
    /// `[shard_id, num_shards]`, echoed when Identify sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<[u32; 2]>,
    /// The application: `id` and `flags`.
    pub application: ReadyApplication,
}

/// The partial application in READY.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadyApplication {
    /// The application's id.
    pub id: ApplicationId,
    /// Its public flags.
    pub flags: ApplicationFlags,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::{GatewayPayload, OpCode};
    use crate::id::{GuildId, UserId};
    use serde_json::json;

    #[test]
    fn example_identify() {
        // developers/events/gateway-events.mdx, "Example Identify" (its comments removed).
        let json = json!({
          "op": 2,
          "d": {
            "token": "my_token",
            "properties": {"os": "linux", "browser": "disco", "device": "disco"},
            "compress": true,
            "large_threshold": 250,
            "shard": [0, 1],
            "presence": {
              "activities": [{"name": "Cards Against Humanity", "type": 0}],
              "status": "dnd",
              "since": 91879201,
              "afk": false
            },
            "intents": 5
          },
          "s": null,
          "t": null
        });
        let payload: GatewayPayload<Identify> = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(payload.op, OpCode::Identify);
        assert_eq!(
            payload.d.intents,
            Intents::GUILDS | Intents::GUILD_MODERATION
        );
        assert_eq!(payload.d.shard, Some([0, 1]));
        assert_eq!(serde_json::to_value(&payload).unwrap(), json);
    }

    #[test]
    fn identify_accepts_legacy_property_names_and_undefined_intents() {
        let d = json!({
          "token": "t",
          "properties": {"$os": "linux", "$browser": "lib"},
          "intents": 1u64 << 40
        });
        let identify: Identify = serde_json::from_value(d).unwrap();
        assert_eq!(identify.properties.os, "linux");
        assert_eq!(identify.properties.device, "");
        assert_ne!(identify.intents.undefined_bits(), 0);
        assert!(
            serde_json::from_value::<Identify>(json!({"token": "t", "properties": {}})).is_err()
        );
    }

    #[test]
    fn example_resume() {
        // "Example Resume".
        let json =
            json!({"token": "randomstring", "session_id": "evenmorerandomstring", "seq": 1337});
        let resume: Resume = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(resume.seq, 1337);
        assert_eq!(serde_json::to_value(&resume).unwrap(), json);
    }

    #[test]
    fn ready_shape() {
        let mut user = User::new(UserId::new(172_150_183_260_323_840), "bot", "0");
        user.bot = Some(true);
        user.mfa_enabled = Some(false);
        let ready = Ready {
            v: 10,
            user,
            guilds: vec![UnavailableGuild {
                id: GuildId::new(41_771_983_423_143_937),
                unavailable: true,
            }],
            session_id: "abc".into(),
            resume_gateway_url: "ws://127.0.0.1:8080".into(),
            shard: None,
            application: ReadyApplication {
                id: ApplicationId::new(172_150_183_260_323_840),
                flags: ApplicationFlags::GATEWAY_MESSAGE_CONTENT_LIMITED,
            },
        };
        let json = serde_json::to_value(&ready).unwrap();
        assert_eq!(
            json,
            json!({
              "v": 10,
              "user": {
                "id": "172150183260323840", "username": "bot", "discriminator": "0", "global_name": null,
                "avatar": null, "bot": true, "mfa_enabled": false
              },
              "guilds": [{"id": "41771983423143937", "unavailable": true}],
              "session_id": "abc",
              "resume_gateway_url": "ws://127.0.0.1:8080",
              "application": {"id": "172150183260323840", "flags": 524288}
            })
        );
        assert_eq!(serde_json::from_value::<Ready>(json).unwrap(), ready);
    }
}
