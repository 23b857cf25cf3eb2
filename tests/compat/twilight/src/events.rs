//! The README's `EVENT` lines: each gateway event of a listed kind, as twilight-model decoded it,
//! turned into the puppet protocol's JSON (ids as strings, absent fields `null`).

use serde_json::{Value, json};
use twilight_model::channel::message::EmojiReactionType;
use twilight_model::channel::{Attachment, Channel};
use twilight_model::gateway::GatewayReaction;
use twilight_model::gateway::event::Event;
use twilight_model::guild::Role;
use twilight_model::id::Id;

/// An id (or an optional id) as the protocol's string (or `null`).
fn id<T>(id: impl Into<Option<Id<T>>>) -> Value {
    id.into()
        .map_or(Value::Null, |id| Value::String(id.to_string()))
}

/// The `attachments` list of `message_create` and of the `upload` command's answer.
pub fn attachments(list: &[Attachment]) -> Value {
    list.iter()
        .map(|a| json!({"id": id(a.id), "filename": a.filename, "size": a.size, "url": a.url}))
        .collect()
}

/// The unicode character, or `name:id` for a custom emoji.
fn emoji(e: &EmojiReactionType) -> String {
    match e {
        EmojiReactionType::Unicode { name } => name.clone(),
        EmojiReactionType::Custom { id, name, .. } => {
            format!("{}:{id}", name.as_deref().unwrap_or_default())
        }
    }
}

fn reaction(r: &GatewayReaction) -> Value {
    json!({
        "message": id(r.message_id), "channel": id(r.channel_id), "guild": id(r.guild_id),
        "user": id(r.user_id), "emoji": emoji(&r.emoji),
    })
}

fn channel(c: &Channel) -> Value {
    json!({"guild": id(c.guild_id), "channel": id(c.id), "name": c.name})
}

fn role(guild: Value, r: &Role) -> Value {
    json!({"guild": guild, "role": id(r.id), "name": r.name})
}

/// The kind and fields of `event` when it is one of the README's kinds (`shard` is added by the
/// caller); `None` for every other event.
pub fn fields(event: &Event) -> Option<(&'static str, Value)> {
    Some(match event {
        Event::MessageCreate(m) => (
            "message_create",
            json!({
                "id": id(m.id), "channel": id(m.channel_id), "guild": id(m.guild_id),
                "author": id(m.author.id), "content": m.content,
                "reference": id(m.reference.as_ref().and_then(|r| r.message_id)),
                "webhook": id(m.webhook_id), "attachments": attachments(&m.attachments),
            }),
        ),
        Event::MessageUpdate(m) => (
            "message_update",
            json!({"id": id(m.id), "channel": id(m.channel_id), "guild": id(m.guild_id),
                   "content": m.content}),
        ),
        Event::MessageDelete(m) => (
            "message_delete",
            json!({"id": id(m.id), "channel": id(m.channel_id), "guild": id(m.guild_id)}),
        ),
        Event::ReactionAdd(r) => ("reaction_add", reaction(r)),
        Event::ReactionRemove(r) => ("reaction_remove", reaction(r)),
        Event::ChannelPinsUpdate(p) => (
            "pins_update",
            json!({"channel": id(p.channel_id), "guild": id(p.guild_id)}),
        ),
        Event::MemberAdd(m) => (
            "member_add",
            json!({"guild": id(m.guild_id), "user": id(m.member.user.id)}),
        ),
        Event::MemberRemove(m) => (
            "member_remove",
            json!({"guild": id(m.guild_id), "user": id(m.user.id)}),
        ),
        Event::MemberUpdate(m) => {
            let mut roles: Vec<String> = m.roles.iter().map(ToString::to_string).collect();
            roles.sort();
            (
                "member_update",
                json!({"guild": id(m.guild_id), "user": id(m.user.id), "nick": m.nick,
                       "roles": roles}),
            )
        }
        Event::BanAdd(b) => (
            "ban_add",
            json!({"guild": id(b.guild_id), "user": id(b.user.id)}),
        ),
        Event::RoleCreate(r) => ("role_create", role(id(r.guild_id), &r.role)),
        Event::RoleUpdate(r) => ("role_update", role(id(r.guild_id), &r.role)),
        Event::RoleDelete(r) => (
            "role_delete",
            json!({"guild": id(r.guild_id), "role": id(r.role_id), "name": null}),
        ),
        Event::ChannelCreate(c) => ("channel_create", channel(c)),
        Event::ChannelUpdate(c) => ("channel_update", channel(c)),
        Event::ChannelDelete(c) => ("channel_delete", channel(c)),
        Event::TypingStart(t) => (
            "typing",
            json!({"channel": id(t.channel_id), "guild": id(t.guild_id), "user": id(t.user_id)}),
        ),
        Event::PresenceUpdate(p) => (
            "presence",
            json!({"guild": id(p.guild_id), "user": id(p.user.id()), "status": p.status}),
        ),
        Event::WebhooksUpdate(w) => (
            "webhooks_update",
            json!({"guild": id(w.guild_id), "channel": id(w.channel_id)}),
        ),
        Event::ThreadCreate(t) => (
            "thread_create",
            json!({"guild": id(t.guild_id), "channel": id(t.id), "parent": id(t.parent_id),
                   "name": t.name}),
        ),
        Event::ThreadUpdate(t) => (
            "thread_update",
            json!({"guild": id(t.guild_id), "channel": id(t.id),
                   "archived": t.thread_metadata.as_ref().map(|m| m.archived)}),
        ),
        Event::ThreadMembersUpdate(u) => match u.added_members.first() {
            // One line per event: the README's `thread_member_join` names one added user.
            Some(m) => (
                "thread_member_join",
                json!({"guild": id(Some(u.guild_id)), "channel": id(Some(u.id)),
                       "user": id(m.user_id)}),
            ),
            None => return None,
        },
        Event::ThreadDelete(t) => (
            "thread_delete",
            json!({"guild": id(Some(t.guild_id)), "channel": id(Some(t.id)),
                   "parent": id(Some(t.parent_id))}),
        ),
        Event::Resumed => ("resumed", json!({})),
        _ => return None,
    })
}

/// The whole `EVENT` JSON: `t`, `shard`, then the kind's fields.
pub fn line(t: &str, shard: u32, fields: Value) -> Value {
    let mut line = json!({"t": t, "shard": shard});
    if let (Some(line), Value::Object(fields)) = (line.as_object_mut(), fields) {
        line.extend(fields);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(json: &str) -> Event {
        crate::strict::decode(json.to_owned()).expect("a valid payload")
    }

    #[test]
    fn custom_and_unicode_reactions() {
        let add = decode(
            r#"{"op":0,"s":5,"t":"MESSAGE_REACTION_ADD","d":{"user_id":"1","channel_id":"2",
            "message_id":"3","guild_id":"4","emoji":{"id":"9","name":"party"},"burst":false,
            "burst_colors":[],"type":0}}"#,
        );
        let (t, f) = fields(&add).unwrap();
        assert_eq!(t, "reaction_add");
        assert_eq!(
            f,
            json!({"message":"3","channel":"2","guild":"4","user":"1","emoji":"party:9"})
        );
        let remove = decode(
            r#"{"op":0,"s":6,"t":"MESSAGE_REACTION_REMOVE","d":{"user_id":"1","channel_id":"2",
            "message_id":"3","emoji":{"id":null,"name":"👍"},"burst":false,"type":0}}"#,
        );
        let (t, f) = fields(&remove).unwrap();
        assert_eq!(t, "reaction_remove");
        assert_eq!(f["emoji"], "👍");
        assert_eq!(f["guild"], Value::Null);
    }

    #[test]
    fn member_update_roles_are_sorted_and_the_line_carries_shard() {
        let update = decode(
            r#"{"op":0,"s":7,"t":"GUILD_MEMBER_UPDATE","d":{"guild_id":"4","nick":null,
            "roles":["30","200","1000"],"user":{"id":"1","username":"u","discriminator":"0",
            "avatar":null},"joined_at":null,"avatar":null}}"#,
        );
        let (t, f) = fields(&update).unwrap();
        assert_eq!(
            line(t, 1, f),
            json!({"t":"member_update","shard":1,"guild":"4","user":"1","nick":null,
                   "roles":["1000","200","30"]})
        );
    }

    #[test]
    fn other_events_are_not_listed() {
        let hello = decode(r#"{"op":10,"d":{"heartbeat_interval":41250},"s":null,"t":null}"#);
        assert!(fields(&hello).is_none());
        let resumed = decode(r#"{"op":0,"s":9,"t":"RESUMED","d":{}}"#);
        assert_eq!(fields(&resumed).unwrap().0, "resumed");
    }
}
