//! Threads and thread members as Discord's JSON objects (channel.mdx: thread fields, thread
//! metadata, thread member).

use accord_model::channel::{ThreadMember, ThreadMetadata};
use accord_model::{Channel, ChannelFlags, ChannelId, GuildId, MessageId, UserId};
use accord_store::{ChannelRecord, ThreadMemberRecord};

use crate::views_guild::{channel_type, timestamp};

/// A thread's channel object; `member` is the viewer's membership, when they joined it.
pub fn thread(c: &ChannelRecord, member: Option<&ThreadMemberRecord>) -> Channel {
    let mut ch = Channel::new(ChannelId::from_i64(c.id), channel_type(c.kind));
    ch.guild_id = c.guild_id.map(GuildId::from_i64);
    ch.parent_id = Some(c.parent_id.map(ChannelId::from_i64));
    ch.owner_id = c.owner_id.or(c.owner_webhook_id).map(UserId::from_i64);
    ch.name = Some(c.name.clone());
    ch.nsfw = Some(c.nsfw);
    ch.last_message_id = Some(c.last_message_id.map(MessageId::from_i64));
    ch.last_pin_timestamp = c.last_pin_timestamp.map(|t| Some(timestamp(t)));
    ch.rate_limit_per_user = Some(c.rate_limit_per_user.max(0) as u32);
    ch.message_count = Some(c.message_count.max(0) as u32);
    // Approximate, and capped at 50 as Discord's is.
    ch.member_count = Some(c.member_count.clamp(0, 50) as u32);
    ch.total_message_sent = Some(c.total_message_sent.max(0) as u32);
    ch.flags = Some(ChannelFlags::from_bits(c.flags as u64));
    ch.applied_tags = Some(
        c.applied_tags
            .0
            .iter()
            .copied()
            .map(accord_model::GenericId::from_i64)
            .collect(),
    );
    ch.thread_metadata = Some(ThreadMetadata {
        archived: c.archived,
        auto_archive_duration: c.auto_archive_duration.unwrap_or(1440).max(0) as u32,
        archive_timestamp: timestamp(c.archive_timestamp.unwrap_or(c.created_at)),
        locked: c.locked,
        invitable: (c.kind == 12).then_some(c.invitable.unwrap_or(true)),
        create_timestamp: Some(Some(timestamp(c.created_at))),
    });
    ch.member = member.map(|m| thread_member(m, true));
    ch
}

/// A thread member object; `with_ids` adds `id` and `user_id` (left out inside the threads of
/// GUILD_CREATE).
pub fn thread_member(m: &ThreadMemberRecord, with_ids: bool) -> ThreadMember {
    ThreadMember {
        id: with_ids.then(|| ChannelId::from_i64(m.thread_id)),
        user_id: with_ids.then(|| UserId::from_i64(m.user_id)),
        join_timestamp: timestamp(m.join_timestamp),
        flags: m.flags.max(0) as u64,
        member: None,
    }
}
