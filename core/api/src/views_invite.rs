//! Invite records turned into Discord's invite object (with or without its metadata), and the
//! INVITE_CREATE / INVITE_DELETE dispatch payloads (developers/events/gateway-events.mdx).

use accord_model::invite::{Invite, InviteChannel, InviteFlags, InviteGuild, InviteType};
use accord_model::{ChannelId, GuildId, Timestamp, User};
use accord_store::{ChannelRecord, GuildRecord, InviteRecord, UserRecord};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::views::public_user;
use crate::views_guild::{channel_type, guild, timestamp};

/// Whether an invite can still be used at `now`: not expired and with uses left. An invite that
/// cannot is treated as gone by every route.
pub fn usable(invite: &InviteRecord, now: DateTime<Utc>) -> bool {
    let expired = invite.expires_at.is_some_and(|at| at <= now);
    let used_up = invite.max_uses > 0 && invite.uses >= invite.max_uses;
    !expired && !used_up
}

/// The partial guild an invite shows.
pub fn invite_guild(g: &GuildRecord) -> InviteGuild {
    let full = guild(g, &[]);
    InviteGuild {
        id: full.id,
        name: full.name,
        splash: full.splash,
        banner: full.banner,
        description: full.description,
        icon: full.icon,
        features: full.features,
        verification_level: full.verification_level,
        vanity_url_code: full.vanity_url_code,
        nsfw_level: Some(full.nsfw_level),
        premium_subscription_count: full.premium_subscription_count,
        welcome_screen: None,
    }
}

/// The partial channel an invite shows.
pub fn invite_channel(c: &ChannelRecord) -> InviteChannel {
    InviteChannel {
        id: ChannelId::from_i64(c.id),
        name: c.name.clone(),
        kind: channel_type(c.kind),
    }
}

/// The invite object; with `metadata`, also `uses`, `max_uses`, `max_age`, `temporary` and
/// `created_at`.
pub fn invite(
    record: &InviteRecord,
    guild: Option<&GuildRecord>,
    channel: Option<&ChannelRecord>,
    inviter: Option<&UserRecord>,
    metadata: bool,
) -> Invite {
    let is_guild = record.guild_id.is_some();
    Invite {
        kind: if is_guild {
            InviteType::Guild
        } else {
            InviteType::GroupDm
        },
        code: record.code.clone(),
        guild: guild.map(invite_guild),
        channel: channel.map(invite_channel),
        inviter: inviter.map(public_user),
        target_type: None,
        target_user: None,
        target_application: None,
        approximate_presence_count: None,
        approximate_member_count: None,
        expires_at: record.expires_at.map(timestamp),
        guild_scheduled_event: None,
        flags: is_guild.then(|| InviteFlags::from_bits(record.flags as u64)),
        roles: None,
        uses: metadata.then_some(record.uses as u32),
        max_uses: metadata.then_some(record.max_uses as u32),
        max_age: metadata.then_some(record.max_age as u32),
        temporary: metadata.then_some(record.temporary),
        created_at: metadata.then(|| timestamp(record.created_at)),
    }
}

/// INVITE_CREATE's payload.
#[derive(Debug, Clone, Serialize)]
pub struct InviteCreate {
    /// Channel the invite is for.
    pub channel_id: ChannelId,
    /// The code.
    pub code: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// Guild of the invite.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<GuildId>,
    /// Who created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inviter: Option<User>,
    /// Lifetime in seconds (0 = forever).
    pub max_age: u32,
    /// Most uses (0 = unlimited).
    pub max_uses: u32,
    /// Whether membership is temporary.
    pub temporary: bool,
    /// Uses so far (always 0).
    pub uses: u32,
    /// When it expires (null = never).
    pub expires_at: Option<Timestamp>,
}

/// INVITE_CREATE's payload for a new invite.
pub fn invite_create(record: &InviteRecord, inviter: Option<&UserRecord>) -> InviteCreate {
    InviteCreate {
        channel_id: ChannelId::from_i64(record.channel_id),
        code: record.code.clone(),
        created_at: timestamp(record.created_at),
        guild_id: record.guild_id.map(GuildId::from_i64),
        inviter: inviter.map(public_user),
        max_age: record.max_age as u32,
        max_uses: record.max_uses as u32,
        temporary: record.temporary,
        uses: record.uses as u32,
        expires_at: record.expires_at.map(timestamp),
    }
}

/// INVITE_DELETE's payload.
#[derive(Debug, Clone, Serialize)]
pub struct InviteDelete {
    /// Channel of the invite.
    pub channel_id: ChannelId,
    /// Guild of the invite.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<GuildId>,
    /// The code.
    pub code: String,
}

/// INVITE_DELETE's payload for a deleted invite.
pub fn invite_delete(record: &InviteRecord) -> InviteDelete {
    InviteDelete {
        channel_id: ChannelId::from_i64(record.channel_id),
        guild_id: record.guild_id.map(GuildId::from_i64),
        code: record.code.clone(),
    }
}
