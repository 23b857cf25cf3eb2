//! Guild-side store records turned into Discord's JSON objects: guilds, channels, roles,
//! members, overwrites, bans and invites.

use accord_model::guild::{
    DefaultMessageNotificationLevel, ExplicitContentFilterLevel, MfaLevel, NsfwLevel, PremiumTier,
    SystemChannelFlags, VerificationLevel,
};
use accord_model::role::{RoleColors, RoleFlags, RoleTags};
use accord_model::{
    Ban, Channel, ChannelFlags, ChannelId, ChannelType, GenericId, Guild, GuildId, GuildMember,
    GuildMemberFlags, OverwriteType, PermissionOverwrite, Permissions, Role, RoleId, Timestamp,
    User, UserId,
};
use accord_store::{
    BanRecord, ChannelRecord, GuildRecord, MemberRecord, OverwriteRecord, RoleRecord,
};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;

/// A stored time as Discord's ISO 8601 timestamp.
pub fn timestamp(t: DateTime<Utc>) -> Timestamp {
    Timestamp::from_unix_micros(t.timestamp_micros())
}

/// A stored small integer as one of the model's integer enums (the store only holds values the
/// API validated, so the fallback is never expected).
fn repr<T: DeserializeOwned + Default>(n: i32) -> T {
    serde_json::from_value(n.into()).unwrap_or_default()
}

/// The channel type of a stored channel.
pub fn channel_type(kind: i32) -> ChannelType {
    serde_json::from_value(kind.into()).unwrap_or(ChannelType::GuildText)
}

/// A role object.
pub fn role(r: &RoleRecord) -> Role {
    let bot_id = r.bot_id.map(UserId::from_i64);
    Role {
        id: RoleId::from_i64(r.id),
        name: r.name.clone(),
        color: r.color as u32,
        colors: RoleColors::solid(r.color as u32),
        hoist: r.hoist,
        icon: Some(r.icon.clone()),
        unicode_emoji: Some(r.unicode_emoji.clone()),
        position: r.position,
        permissions: Permissions::from_bits(r.permissions as u64),
        managed: r.managed,
        mentionable: r.mentionable,
        tags: (bot_id.is_some() || r.integration_id.is_some()).then(|| RoleTags {
            bot_id,
            integration_id: r.integration_id.map(GenericId::from_i64),
            ..RoleTags::default()
        }),
        flags: RoleFlags::from_bits(r.flags as u64),
    }
}

/// A permission overwrite object.
pub fn overwrite(o: &OverwriteRecord) -> PermissionOverwrite {
    PermissionOverwrite {
        id: GenericId::from_i64(o.target_id),
        kind: if o.kind == 1 {
            OverwriteType::Member
        } else {
            OverwriteType::Role
        },
        allow: Permissions::from_bits(o.allow as u64),
        deny: Permissions::from_bits(o.deny as u64),
    }
}

/// A guild channel object with its overwrites.
pub fn channel(c: &ChannelRecord, overwrites: &[OverwriteRecord]) -> Channel {
    if c.is_thread() {
        return crate::views_thread::thread(c, None);
    }
    let kind = channel_type(c.kind);
    let mut ch = Channel::new(ChannelId::from_i64(c.id), kind);
    ch.guild_id = c.guild_id.map(GuildId::from_i64);
    ch.flags = Some(ChannelFlags::from_bits(c.flags as u64));
    if c.guild_id.is_some() {
        ch.position = Some(c.position);
        ch.permission_overwrites = Some(
            overwrites
                .iter()
                .filter(|o| o.channel_id == c.id)
                .map(overwrite)
                .collect(),
        );
        ch.name = Some(c.name.clone());
        ch.nsfw = Some(c.nsfw);
        ch.parent_id = Some(c.parent_id.map(ChannelId::from_i64));
    }
    let text_like = matches!(
        kind,
        ChannelType::GuildText
            | ChannelType::GuildAnnouncement
            | ChannelType::GuildForum
            | ChannelType::GuildMedia
    );
    let voice_like = matches!(kind, ChannelType::GuildVoice | ChannelType::GuildStageVoice);
    if text_like {
        ch.topic = Some(c.topic.clone());
        ch.rate_limit_per_user = Some(c.rate_limit_per_user as u32);
        ch.default_auto_archive_duration = c.default_auto_archive_duration.map(|d| d as u32);
        crate::services::forum::add_to_view(c, &mut ch);
    }
    if text_like || voice_like || matches!(kind, ChannelType::Dm | ChannelType::GroupDm) {
        ch.last_message_id = Some(c.last_message_id.map(accord_model::MessageId::from_i64));
        ch.last_pin_timestamp = c.last_pin_timestamp.map(|t| Some(timestamp(t)));
    }
    if voice_like {
        ch.bitrate = c.bitrate.map(|b| b as u32);
        ch.user_limit = c.user_limit.map(|u| u as u32);
        ch.rtc_region = Some(c.rtc_region.clone());
        ch.rate_limit_per_user = Some(c.rate_limit_per_user as u32);
        ch.video_quality_mode = c
            .video_quality_mode
            .and_then(|v| serde_json::from_value(v.into()).ok());
    }
    ch
}

/// A DM or group DM channel object with its recipients (everyone but the viewer).
pub fn private_channel(c: &ChannelRecord, recipients: Vec<User>) -> Channel {
    let mut ch = channel(c, &[]);
    ch.recipients = Some(recipients);
    if c.kind == 3 {
        ch.name = Some(c.name.clone());
        ch.icon = Some(c.icon.clone());
        ch.owner_id = c.owner_id.map(UserId::from_i64);
    }
    ch
}

/// A guild member object with its user.
pub fn member(m: &MemberRecord, user: Option<User>) -> GuildMember {
    GuildMember {
        user,
        nick: Some(m.nick.clone()),
        avatar: Some(m.avatar.clone()),
        banner: Some(m.banner.clone()),
        roles: m.roles.iter().map(|r| RoleId::from_i64(*r)).collect(),
        joined_at: Some(timestamp(m.joined_at)),
        premium_since: Some(m.premium_since.map(timestamp)),
        deaf: m.deaf,
        mute: m.mute,
        flags: GuildMemberFlags::from_bits(m.flags as u64),
        pending: Some(m.pending),
        permissions: None,
        communication_disabled_until: Some(m.communication_disabled_until.map(timestamp)),
        avatar_decoration_data: Some(None),
        collectibles: None,
    }
}

/// A ban object.
pub fn ban(b: &BanRecord, user: User) -> Ban {
    Ban {
        reason: b.reason.clone(),
        user,
    }
}

/// A guild object with its roles (emojis and stickers are loaded by the caller when needed).
pub fn guild(g: &GuildRecord, roles: &[RoleRecord]) -> Guild {
    Guild {
        id: GuildId::from_i64(g.id),
        name: g.name.clone(),
        icon: g.icon.clone(),
        icon_hash: None,
        splash: g.splash.clone(),
        discovery_splash: g.discovery_splash.clone(),
        owner: None,
        owner_id: UserId::from_i64(g.owner_id),
        permissions: None,
        region: None,
        afk_channel_id: g.afk_channel_id.map(ChannelId::from_i64),
        afk_timeout: g.afk_timeout as u32,
        widget_enabled: Some(false),
        widget_channel_id: Some(None),
        verification_level: repr::<VerificationLevel>(g.verification_level),
        default_message_notifications: repr::<DefaultMessageNotificationLevel>(
            g.default_message_notifications,
        ),
        explicit_content_filter: repr::<ExplicitContentFilterLevel>(g.explicit_content_filter),
        roles: roles.iter().map(role).collect(),
        emojis: Vec::new(),
        features: g.features.0.clone(),
        mfa_level: repr::<MfaLevel>(g.mfa_level),
        application_id: None,
        system_channel_id: g.system_channel_id.map(ChannelId::from_i64),
        system_channel_flags: SystemChannelFlags::from_bits(g.system_channel_flags as u64),
        rules_channel_id: g.rules_channel_id.map(ChannelId::from_i64),
        max_presences: Some(None),
        max_members: Some(g.max_members as u32),
        vanity_url_code: g.vanity_url_code.clone(),
        description: g.description.clone(),
        banner: g.banner.clone(),
        premium_tier: repr::<PremiumTier>(g.premium_tier),
        premium_subscription_count: Some(0),
        preferred_locale: g.preferred_locale.clone(),
        public_updates_channel_id: g.public_updates_channel_id.map(ChannelId::from_i64),
        max_video_channel_users: Some(25),
        max_stage_video_channel_users: Some(50),
        approximate_member_count: None,
        approximate_presence_count: None,
        welcome_screen: None,
        nsfw_level: repr::<NsfwLevel>(g.nsfw_level),
        stickers: Some(Vec::new()),
        premium_progress_bar_enabled: false,
        safety_alerts_channel_id: None,
        incidents_data: None,
    }
}
