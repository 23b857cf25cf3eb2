//! Which sessions an event reaches beyond its audience: the intent each event needs, shard
//! routing, and MESSAGE_CONTENT masking.

use accord_model::{GuildId, Intents, UserId};
use serde_json::Value;

/// The intent a session needs to receive event `name`; `guild` tells guild events from DM
/// events where the two differ. `None`: sent regardless of intents.
pub fn required_intent(name: &str, guild: bool) -> Option<Intents> {
    let pick = |g: Intents, dm: Intents| Some(if guild { g } else { dm });
    match name {
        "GUILD_CREATE"
        | "GUILD_UPDATE"
        | "GUILD_DELETE"
        | "GUILD_ROLE_CREATE"
        | "GUILD_ROLE_UPDATE"
        | "GUILD_ROLE_DELETE"
        | "CHANNEL_CREATE"
        | "CHANNEL_UPDATE"
        | "CHANNEL_DELETE"
        | "THREAD_CREATE"
        | "THREAD_UPDATE"
        | "THREAD_DELETE"
        | "THREAD_LIST_SYNC"
        | "THREAD_MEMBER_UPDATE"
        | "STAGE_INSTANCE_CREATE"
        | "STAGE_INSTANCE_UPDATE"
        | "STAGE_INSTANCE_DELETE" => {
            // A DM's CHANNEL_CREATE is not gated.
            if guild { Some(Intents::GUILDS) } else { None }
        }
        "CHANNEL_PINS_UPDATE" => pick(Intents::GUILDS, Intents::DIRECT_MESSAGES),
        "GUILD_MEMBER_ADD"
        | "GUILD_MEMBER_UPDATE"
        | "GUILD_MEMBER_REMOVE"
        | "THREAD_MEMBERS_UPDATE" => Some(Intents::GUILD_MEMBERS),
        "GUILD_AUDIT_LOG_ENTRY_CREATE" | "GUILD_BAN_ADD" | "GUILD_BAN_REMOVE" => {
            Some(Intents::GUILD_MODERATION)
        }
        "GUILD_EMOJIS_UPDATE"
        | "GUILD_STICKERS_UPDATE"
        | "GUILD_SOUNDBOARD_SOUND_CREATE"
        | "GUILD_SOUNDBOARD_SOUND_UPDATE"
        | "GUILD_SOUNDBOARD_SOUND_DELETE"
        | "GUILD_SOUNDBOARD_SOUNDS_UPDATE" => Some(Intents::GUILD_EXPRESSIONS),
        "GUILD_INTEGRATIONS_UPDATE"
        | "INTEGRATION_CREATE"
        | "INTEGRATION_UPDATE"
        | "INTEGRATION_DELETE" => Some(Intents::GUILD_INTEGRATIONS),
        "WEBHOOKS_UPDATE" => Some(Intents::GUILD_WEBHOOKS),
        "INVITE_CREATE" | "INVITE_DELETE" => Some(Intents::GUILD_INVITES),
        "VOICE_STATE_UPDATE" | "VOICE_CHANNEL_EFFECT_SEND" => Some(Intents::GUILD_VOICE_STATES),
        "PRESENCE_UPDATE" => Some(Intents::GUILD_PRESENCES),
        "MESSAGE_CREATE" | "MESSAGE_UPDATE" | "MESSAGE_DELETE" | "MESSAGE_DELETE_BULK" => {
            pick(Intents::GUILD_MESSAGES, Intents::DIRECT_MESSAGES)
        }
        "MESSAGE_REACTION_ADD"
        | "MESSAGE_REACTION_REMOVE"
        | "MESSAGE_REACTION_REMOVE_ALL"
        | "MESSAGE_REACTION_REMOVE_EMOJI" => pick(
            Intents::GUILD_MESSAGE_REACTIONS,
            Intents::DIRECT_MESSAGE_REACTIONS,
        ),
        "TYPING_START" => pick(
            Intents::GUILD_MESSAGE_TYPING,
            Intents::DIRECT_MESSAGE_TYPING,
        ),
        "GUILD_SCHEDULED_EVENT_CREATE"
        | "GUILD_SCHEDULED_EVENT_UPDATE"
        | "GUILD_SCHEDULED_EVENT_DELETE"
        | "GUILD_SCHEDULED_EVENT_USER_ADD"
        | "GUILD_SCHEDULED_EVENT_USER_REMOVE" => Some(Intents::GUILD_SCHEDULED_EVENTS),
        "AUTO_MODERATION_RULE_CREATE"
        | "AUTO_MODERATION_RULE_UPDATE"
        | "AUTO_MODERATION_RULE_DELETE" => Some(Intents::AUTO_MODERATION_CONFIGURATION),
        "AUTO_MODERATION_ACTION_EXECUTION" => Some(Intents::AUTO_MODERATION_EXECUTION),
        "MESSAGE_POLL_VOTE_ADD" | "MESSAGE_POLL_VOTE_REMOVE" => {
            pick(Intents::GUILD_MESSAGE_POLLS, Intents::DIRECT_MESSAGE_POLLS)
        }
        _ => None,
    }
}

/// The shard that receives events of `guild` (events without a guild go to shard 0).
pub fn shard_of(guild: Option<GuildId>, num_shards: u32) -> u32 {
    match guild {
        Some(g) if num_shards > 1 => ((g.get() >> 22) % u64::from(num_shards)) as u32,
        _ => 0,
    }
}

/// A snowflake as payloads carry it: a decimal string, or (from some clients) a JSON integer.
pub fn snowflake(v: &Value) -> Option<u64> {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| v.as_u64())
}

/// One snowflake or an array of them (op 8's `guild_id` and `user_ids`, op 31's `guild_ids`).
pub fn snowflakes(v: &Value) -> Vec<u64> {
    match v {
        Value::Array(a) => a.iter().filter_map(snowflake).collect(),
        other => snowflake(other).into_iter().collect(),
    }
}

/// The users a THREAD_MEMBERS_UPDATE adds (`added_members[].user_id`) or removes
/// (`removed_member_ids`).
pub fn thread_members_affected(d: &Value) -> Vec<UserId> {
    let added = d
        .get("added_members")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| m.get("user_id").and_then(snowflake));
    let removed = d
        .get("removed_member_ids")
        .map(snowflakes)
        .unwrap_or_default();
    added.chain(removed).map(UserId::new).collect()
}

/// The guild an event's payload names (`guild_id`, or `id` for GUILD_* events about the guild
/// itself).
pub fn guild_of(name: &str, d: &Value) -> Option<GuildId> {
    let raw = d.get("guild_id").or_else(|| {
        matches!(name, "GUILD_CREATE" | "GUILD_UPDATE" | "GUILD_DELETE")
            .then(|| d.get("id"))
            .flatten()
    })?;
    snowflake(raw).map(GuildId::new)
}

/// Whether a bot without MESSAGE_CONTENT must get this message with its content blanked: guild
/// messages only, except the bot's own messages and messages that mention it.
pub fn must_mask(name: &str, d: &Value, me: UserId) -> bool {
    if !matches!(name, "MESSAGE_CREATE" | "MESSAGE_UPDATE") || d.get("guild_id").is_none() {
        return false;
    }
    let me = me.to_string();
    let is = |v: &Value| v.as_str() == Some(me.as_str());
    let own = d.get("author").and_then(|a| a.get("id")).is_some_and(is);
    let mentioned = d
        .get("mentions")
        .and_then(Value::as_array)
        .is_some_and(|m| m.iter().any(|u| u.get("id").is_some_and(is)));
    !own && !mentioned
}

/// The payload with `content`, `embeds`, `attachments`, `components` and `poll` emptied.
pub fn masked(d: &Value) -> Value {
    let mut out = d.clone();
    if let Some(map) = out.as_object_mut() {
        if map.contains_key("content") {
            map.insert("content".into(), Value::String(String::new()));
        }
        for key in ["embeds", "attachments", "components"] {
            if map.contains_key(key) {
                map.insert(key.into(), Value::Array(Vec::new()));
            }
        }
        map.remove("poll");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn intents_by_event() {
        assert_eq!(
            required_intent("MESSAGE_CREATE", true),
            Some(Intents::GUILD_MESSAGES)
        );
        assert_eq!(
            required_intent("MESSAGE_CREATE", false),
            Some(Intents::DIRECT_MESSAGES)
        );
        assert_eq!(
            required_intent("GUILD_MEMBER_ADD", true),
            Some(Intents::GUILD_MEMBERS)
        );
        assert_eq!(
            required_intent("TYPING_START", false),
            Some(Intents::DIRECT_MESSAGE_TYPING)
        );
        assert_eq!(required_intent("CHANNEL_CREATE", false), None);
        assert_eq!(required_intent("USER_UPDATE", true), None);
        assert_eq!(required_intent("INTERACTION_CREATE", true), None);
    }

    #[test]
    fn shards_follow_the_formula() {
        let g = GuildId::new(41_771_983_423_143_937);
        assert_eq!(shard_of(Some(g), 1), 0);
        assert_eq!(shard_of(Some(g), 4), ((g.get() >> 22) % 4) as u32);
        assert_eq!(shard_of(None, 4), 0);
    }

    #[test]
    fn content_is_masked_except_for_own_and_mentions() {
        let me = UserId::new(5);
        let msg = json!({"guild_id": "1", "content": "hi", "embeds": [{}], "attachments": [{}],
            "components": [{}], "author": {"id": "9"}, "mentions": []});
        assert!(must_mask("MESSAGE_CREATE", &msg, me));
        let m = masked(&msg);
        assert_eq!(m["content"], "");
        assert_eq!(m["embeds"], json!([]));
        assert_eq!(m["attachments"], json!([]));
        assert_eq!(m["components"], json!([]));
        let own = json!({"guild_id": "1", "content": "hi", "author": {"id": "5"}, "mentions": []});
        assert!(!must_mask("MESSAGE_CREATE", &own, me));
        let mention = json!({"guild_id": "1", "content": "<@5>", "author": {"id": "9"},
            "mentions": [{"id": "5"}]});
        assert!(!must_mask("MESSAGE_CREATE", &mention, me));
        let dm = json!({"content": "hi", "author": {"id": "9"}, "mentions": []});
        assert!(!must_mask("MESSAGE_CREATE", &dm, me));
        assert!(!must_mask("MESSAGE_DELETE", &msg, me));
    }

    #[test]
    fn snowflakes_as_strings_or_integers() {
        assert_eq!(snowflake(&json!("12")), Some(12));
        assert_eq!(snowflake(&json!(12)), Some(12));
        assert_eq!(snowflake(&json!("x")), None);
        assert_eq!(snowflakes(&json!(["1", 2, "no"])), vec![1, 2]);
        assert_eq!(snowflakes(&json!("3")), vec![3]);
        assert!(snowflakes(&json!(null)).is_empty());
    }

    #[test]
    fn thread_member_changes_name_their_users() {
        let d = json!({"id": "1", "guild_id": "2", "member_count": 2,
            "added_members": [{"user_id": "5", "id": "1"}], "removed_member_ids": ["7", 8]});
        assert_eq!(
            thread_members_affected(&d),
            vec![UserId::new(5), UserId::new(7), UserId::new(8)]
        );
        assert!(thread_members_affected(&json!({"id": "1"})).is_empty());
    }

    #[test]
    fn guild_ids_from_payloads() {
        assert_eq!(
            guild_of("MESSAGE_CREATE", &json!({"guild_id": "12"})),
            Some(GuildId::new(12))
        );
        assert_eq!(
            guild_of("GUILD_UPDATE", &json!({"id": "13"})),
            Some(GuildId::new(13))
        );
        assert_eq!(guild_of("CHANNEL_CREATE", &json!({"id": "13"})), None);
    }
}
