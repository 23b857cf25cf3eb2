//! The audit log (developers/resources/audit-log.mdx): entries, their changes and options,
//! the action types, and the object `GET /guilds/{id}/audit-logs` answers.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::id::{AuditLogEntryId, GuildId, UserId};
use crate::user::User;
use crate::webhook::Webhook;

/// Audit log action types (`action_type`), as Discord numbers them.
pub mod action {
    /// Server settings were updated.
    pub const GUILD_UPDATE: u16 = 1;
    /// A channel was created.
    pub const CHANNEL_CREATE: u16 = 10;
    /// A channel's settings were updated.
    pub const CHANNEL_UPDATE: u16 = 11;
    /// A channel was deleted.
    pub const CHANNEL_DELETE: u16 = 12;
    /// A permission overwrite was added to a channel.
    pub const CHANNEL_OVERWRITE_CREATE: u16 = 13;
    /// A permission overwrite was updated.
    pub const CHANNEL_OVERWRITE_UPDATE: u16 = 14;
    /// A permission overwrite was deleted.
    pub const CHANNEL_OVERWRITE_DELETE: u16 = 15;
    /// A member was removed from the server.
    pub const MEMBER_KICK: u16 = 20;
    /// Members were pruned.
    pub const MEMBER_PRUNE: u16 = 21;
    /// A member was banned.
    pub const MEMBER_BAN_ADD: u16 = 22;
    /// A ban was lifted.
    pub const MEMBER_BAN_REMOVE: u16 = 23;
    /// A member was updated (nickname, mute, deaf, timeout, ...).
    pub const MEMBER_UPDATE: u16 = 24;
    /// A member was added to or removed from roles.
    pub const MEMBER_ROLE_UPDATE: u16 = 25;
    /// A bot user was added to the server.
    pub const BOT_ADD: u16 = 28;
    /// A role was created.
    pub const ROLE_CREATE: u16 = 30;
    /// A role was edited.
    pub const ROLE_UPDATE: u16 = 31;
    /// A role was deleted.
    pub const ROLE_DELETE: u16 = 32;
    /// An invite was created.
    pub const INVITE_CREATE: u16 = 40;
    /// An invite was updated.
    pub const INVITE_UPDATE: u16 = 41;
    /// An invite was deleted.
    pub const INVITE_DELETE: u16 = 42;
    /// A webhook was created.
    pub const WEBHOOK_CREATE: u16 = 50;
    /// A webhook was updated.
    pub const WEBHOOK_UPDATE: u16 = 51;
    /// A webhook was deleted.
    pub const WEBHOOK_DELETE: u16 = 52;
    /// An emoji was created.
    pub const EMOJI_CREATE: u16 = 60;
    /// An emoji was renamed.
    pub const EMOJI_UPDATE: u16 = 61;
    /// An emoji was deleted.
    pub const EMOJI_DELETE: u16 = 62;
    /// A single message was deleted (by someone other than its author).
    pub const MESSAGE_DELETE: u16 = 72;
    /// Messages were bulk deleted.
    pub const MESSAGE_BULK_DELETE: u16 = 73;
    /// A message was pinned.
    pub const MESSAGE_PIN: u16 = 74;
    /// A message was unpinned.
    pub const MESSAGE_UNPIN: u16 = 75;
    /// A sticker was created.
    pub const STICKER_CREATE: u16 = 90;
    /// A sticker was updated.
    pub const STICKER_UPDATE: u16 = 91;
    /// A sticker was deleted.
    pub const STICKER_DELETE: u16 = 92;
    /// A thread was created.
    pub const THREAD_CREATE: u16 = 110;
    /// A thread was updated.
    pub const THREAD_UPDATE: u16 = 111;
    /// A thread was deleted.
    pub const THREAD_DELETE: u16 = 112;
    /// An application command's permissions were updated.
    pub const APPLICATION_COMMAND_PERMISSION_UPDATE: u16 = 121;
}

/// One change of an entry: `key`, and the values before and after (absent when null).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditLogChange {
    /// New value (absent when the property was reset or set to null).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_value: Option<Value>,
    /// Old value (absent when the property was null before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_value: Option<Value>,
    /// The changed field (`$add`/`$remove` for role membership).
    pub key: String,
}

impl AuditLogChange {
    /// A change of `key` from `old` to `new`; nulls are left out, as Discord does.
    pub fn new(key: &str, old: Value, new: Value) -> Self {
        Self {
            key: key.to_owned(),
            old_value: (!old.is_null()).then_some(old),
            new_value: (!new.is_null()).then_some(new),
        }
    }
}

/// Optional entry info: strings and snowflakes depending on the action.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditEntryInfo {
    /// Channel in which the entities were targeted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<String>,
    /// Number of entities targeted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<String>,
    /// Days after which inactive members were pruned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_member_days: Option<String>,
    /// Members removed by a prune.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members_removed: Option<String>,
    /// Id of the overwritten entity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Message targeted (pins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Role name when an overwrite's `type` is `"0"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_name: Option<String>,
    /// Overwrite type: role `"0"` or member `"1"`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Application whose command permissions were targeted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_id: Option<String>,
}

impl AuditEntryInfo {
    /// Whether no field is set.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// An audit log entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditLogEntry {
    /// Id of the affected entity (webhook, user, role, ...).
    pub target_id: Option<String>,
    /// Changes made to the target.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<AuditLogChange>,
    /// User or app that made the changes.
    pub user_id: Option<UserId>,
    /// Id of the entry.
    pub id: AuditLogEntryId,
    /// Type of action.
    pub action_type: u16,
    /// Additional info for some action types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<AuditEntryInfo>,
    /// Reason given with `X-Audit-Log-Reason`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The `GUILD_AUDIT_LOG_ENTRY_CREATE` payload: the entry with its guild.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditLogEntryCreate {
    /// The entry.
    #[serde(flatten)]
    pub entry: AuditLogEntry,
    /// The guild.
    pub guild_id: GuildId,
}

/// What `GET /guilds/{id}/audit-logs` answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditLog {
    /// Application commands referenced (those whose permissions an entry changed).
    pub application_commands: Vec<Value>,
    /// Entries, ordered as the query asked.
    pub audit_log_entries: Vec<AuditLogEntry>,
    /// Auto-moderation rules referenced (none: not implemented).
    pub auto_moderation_rules: Vec<Value>,
    /// Scheduled events referenced (none: not implemented).
    pub guild_scheduled_events: Vec<Value>,
    /// Integrations referenced (none: not implemented).
    pub integrations: Vec<Value>,
    /// Threads referenced.
    pub threads: Vec<Value>,
    /// Users referenced (actors and user targets).
    pub users: Vec<User>,
    /// Webhooks referenced.
    pub webhooks: Vec<Webhook>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_serialise_as_discord_documents_them() {
        let entry = AuditLogEntry {
            target_id: Some("42".into()),
            changes: vec![AuditLogChange::new(
                "nick",
                Value::Null,
                Value::from("Mouse"),
            )],
            user_id: Some(UserId::new(7)),
            id: AuditLogEntryId::new(99),
            action_type: action::MEMBER_UPDATE,
            options: None,
            reason: Some("because".into()),
        };
        let json = serde_json::to_value(&entry).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "target_id": "42",
                "changes": [{"key": "nick", "new_value": "Mouse"}],
                "user_id": "7",
                "id": "99",
                "action_type": 24,
                "reason": "because"
            })
        );
        let info = AuditEntryInfo {
            id: Some("5".into()),
            kind: Some("0".into()),
            role_name: Some("mods".into()),
            ..AuditEntryInfo::default()
        };
        assert_eq!(
            serde_json::to_value(&info).unwrap(),
            serde_json::json!({"id": "5", "type": "0", "role_name": "mods"})
        );
    }
}
