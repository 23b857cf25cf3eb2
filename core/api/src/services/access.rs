//! Who may do what: loading a caller's standing in a guild or channel, computing permissions
//! with the model's pure rules (cached per member and channel), and the role hierarchy.

use accord_auth::now_ms;
use accord_model::permission_calc::{self, Hierarchy, MemberPermissionContext, Overwrite};
use accord_model::{
    ChannelId, ChannelType, GenericId, GuildId, OverwriteType, Permissions, RoleId, UserId,
};
use accord_store::{ChannelRecord, GuildRecord, MemberRecord, OverwriteRecord, RoleRecord};

use crate::error::{ApiError, ApiResult, Unknown};
use crate::state::AppState;
use crate::views_guild::channel_type;

/// What a member of a DM or group DM may do there.
pub fn private_channel_permissions() -> Permissions {
    Permissions::VIEW_CHANNEL
        | Permissions::SEND_MESSAGES
        | Permissions::SEND_TTS_MESSAGES
        | Permissions::EMBED_LINKS
        | Permissions::ATTACH_FILES
        | Permissions::READ_MESSAGE_HISTORY
        | Permissions::MENTION_EVERYONE
        | Permissions::USE_EXTERNAL_EMOJIS
        | Permissions::ADD_REACTIONS
        | Permissions::USE_EXTERNAL_STICKERS
        | Permissions::SEND_VOICE_MESSAGES
        | Permissions::SEND_POLLS
        | Permissions::CONNECT
        | Permissions::SPEAK
        | Permissions::STREAM
        | Permissions::USE_VAD
        | Permissions::PIN_MESSAGES
}

/// A caller's standing in a guild: the guild, their member row, every role of the guild, their
/// guild-level permissions and their place in the role hierarchy.
#[derive(Debug, Clone)]
pub struct GuildAccess {
    /// The caller.
    pub user_id: UserId,
    /// The guild.
    pub guild: GuildRecord,
    /// The caller's membership.
    pub member: MemberRecord,
    /// Every role of the guild, @everyone included.
    pub roles: Vec<RoleRecord>,
    /// Guild-level permissions.
    pub permissions: Permissions,
    /// The caller's place in the role hierarchy.
    pub hierarchy: Hierarchy,
}

/// Whether a member's timeout is running.
pub fn timed_out(member: &MemberRecord) -> bool {
    member
        .communication_disabled_until
        .is_some_and(|until| until.timestamp_millis() > now_ms() as i64)
}

impl GuildAccess {
    /// Loads the caller's standing; 10004 when the guild does not exist, 50001 when the caller is
    /// not a member.
    ///
    /// Standings are cached per (guild, member) and dropped by the same per-guild generation bump
    /// as computed permissions: every change to the guild, its roles or its members publishes a
    /// dispatch that invalidates them. A running timeout bounds the entry's life.
    pub async fn load(state: &AppState, guild_id: GuildId, user: UserId) -> ApiResult<Self> {
        let now = now_ms() as i64;
        if let Some(cached) = state.permissions.standing(guild_id, user, now) {
            return Ok((*cached).clone());
        }
        let generation = state.permissions.generation(guild_id);
        let guild = state
            .store
            .guild(guild_id)
            .await?
            .ok_or(ApiError::Unknown(Unknown::Guild))?;
        let member = state
            .store
            .member(guild_id, user)
            .await?
            .ok_or(ApiError::MissingAccess)?;
        let roles = state.store.guild_roles(guild_id).await?;
        let access = Self::from_parts(user, guild, member, roles);
        let valid_until = access.valid_until_ms(now);
        state.permissions.put_standing(
            std::sync::Arc::new(access.clone()),
            generation,
            valid_until,
        );
        Ok(access)
    }

    /// Until when (Unix ms) permissions computed from this standing stay valid at `now_ms`:
    /// the end of a running timeout, when they change by themselves; `None` otherwise.
    pub fn valid_until_ms(&self, now_ms: i64) -> Option<i64> {
        self.member
            .communication_disabled_until
            .map(|t| t.timestamp_millis())
            .filter(|t| *t > now_ms)
    }

    /// Builds the standing from loaded rows.
    pub fn from_parts(
        user_id: UserId,
        guild: GuildRecord,
        member: MemberRecord,
        roles: Vec<RoleRecord>,
    ) -> Self {
        let mut access = Self {
            user_id,
            guild,
            member,
            roles,
            permissions: Permissions::empty(),
            hierarchy: Hierarchy {
                is_owner: false,
                highest_position: 0,
            },
        };
        let member_roles = access.member_role_permissions();
        let ctx = access.context(&member_roles);
        access.permissions = permission_calc::guild_permissions(&ctx);
        access.hierarchy = access.hierarchy_of(&access.member);
        access
    }

    fn member_role_permissions(&self) -> Vec<(RoleId, Permissions)> {
        self.roles
            .iter()
            .filter(|r| self.member.roles.contains(&r.id))
            .map(|r| {
                (
                    RoleId::from_i64(r.id),
                    Permissions::from_bits(r.permissions as u64),
                )
            })
            .collect()
    }

    fn context<'a>(&self, roles: &'a [(RoleId, Permissions)]) -> MemberPermissionContext<'a> {
        let everyone = self
            .roles
            .iter()
            .find(|r| r.id == self.guild.id)
            .map_or(Permissions::empty(), |r| {
                Permissions::from_bits(r.permissions as u64)
            });
        MemberPermissionContext {
            guild_id: GuildId::from_i64(self.guild.id),
            owner_id: UserId::from_i64(self.guild.owner_id),
            user_id: self.user_id,
            everyone,
            roles,
            timed_out: timed_out(&self.member),
        }
    }

    /// The guild's id.
    pub fn guild_id(&self) -> GuildId {
        GuildId::from_i64(self.guild.id)
    }

    /// Whether the caller owns the guild.
    pub fn is_owner(&self) -> bool {
        self.guild.owner_id == self.user_id.as_i64()
    }

    /// Fails with 50013 unless the caller holds `needed` at guild level.
    pub fn require(&self, needed: Permissions) -> ApiResult<()> {
        if self.permissions.contains(needed) {
            Ok(())
        } else {
            Err(ApiError::MissingPermissions)
        }
    }

    /// The caller's permissions in a channel of this guild with `overwrites`.
    pub fn channel_permissions(
        &self,
        channel: &ChannelRecord,
        overwrites: &[OverwriteRecord],
    ) -> Permissions {
        let roles = self.member_role_permissions();
        let ctx = self.context(&roles);
        // A thread takes its parent's overwrites (threads have none of their own).
        let source = if channel.is_thread() {
            channel.parent_id.unwrap_or_default()
        } else {
            channel.id
        };
        let rules: Vec<Overwrite> = overwrites
            .iter()
            .filter(|o| o.channel_id == source)
            .map(rule)
            .collect();
        if channel.is_thread() {
            // The parent is a text, announcement, forum or media channel: their CONNECT rule
            // is the same (none), so the text kind stands for all of them.
            permission_calc::thread_permissions(
                &ctx,
                &rules,
                ChannelType::GuildText,
                channel_type(channel.kind),
            )
        } else {
            permission_calc::channel_permissions(&ctx, &rules, channel_type(channel.kind))
        }
    }

    /// [`GuildAccess::channel_permissions`] with a private thread's membership rule: outside
    /// the thread, without MANAGE_THREADS, nothing at all (threads.mdx).
    pub fn thread_aware_permissions(
        &self,
        channel: &ChannelRecord,
        overwrites: &[OverwriteRecord],
        is_thread_member: bool,
    ) -> Permissions {
        let p = self.channel_permissions(channel, overwrites);
        if channel.kind == 12 && !is_thread_member && !p.contains(Permissions::MANAGE_THREADS) {
            Permissions::empty()
        } else {
            p
        }
    }

    /// Another member's place in the hierarchy.
    pub fn hierarchy_of(&self, member: &MemberRecord) -> Hierarchy {
        let positions: Vec<i32> = self
            .roles
            .iter()
            .filter(|r| member.roles.contains(&r.id))
            .map(|r| r.position)
            .collect();
        permission_calc::hierarchy(
            UserId::from_i64(self.guild.owner_id),
            UserId::from_i64(member.user_id),
            &positions,
        )
    }

    /// Whether the caller may edit, assign or delete `role` (it must sit below their highest role).
    pub fn can_manage_role(&self, role: &RoleRecord) -> bool {
        permission_calc::can_manage_role(&self.hierarchy, role.position)
    }

    /// Whether the caller outranks `member` (kick, ban, nickname, roles, timeout).
    pub fn can_manage_member(&self, member: &MemberRecord) -> bool {
        permission_calc::can_manage_member(&self.hierarchy, &self.hierarchy_of(member))
    }

    /// A role of this guild.
    pub fn role(&self, id: i64) -> Option<&RoleRecord> {
        self.roles.iter().find(|r| r.id == id)
    }
}

/// A stored overwrite as the rule the permission calculation applies.
pub fn rule(o: &OverwriteRecord) -> Overwrite {
    Overwrite {
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

/// A caller's standing in a channel.
#[derive(Debug, Clone)]
pub struct ChannelAccess {
    /// The channel.
    pub channel: ChannelRecord,
    /// The caller's permissions in it.
    pub permissions: Permissions,
    /// For guild channels, the caller's standing in the guild.
    pub guild: Option<GuildAccess>,
}

impl ChannelAccess {
    /// Loads the caller's standing in a channel: 10003 when it does not exist or the caller
    /// cannot see it (DMs they are not in), 50001 when the caller is a guild member without
    /// VIEW_CHANNEL.
    pub async fn load(state: &AppState, channel_id: ChannelId, user: UserId) -> ApiResult<Self> {
        let channel = state
            .store
            .channel(channel_id)
            .await?
            .ok_or(ApiError::Unknown(Unknown::Channel))?;
        Self::of(state, channel, user).await
    }

    /// [`ChannelAccess::load`] for routes that act in a channel without showing it (sending
    /// a message): a guild channel's row may come from the cache, kept under its guild's
    /// generation like the permissions, so its `last_message_id` and `last_pin_timestamp` may
    /// be behind.
    pub async fn load_cached(
        state: &AppState,
        channel_id: ChannelId,
        user: UserId,
    ) -> ApiResult<Self> {
        let channel = match state.permissions.channel(channel_id) {
            Some(cached) => (*cached).clone(),
            None => {
                let epoch = state.permissions.epoch();
                let channel = state
                    .store
                    .channel(channel_id)
                    .await?
                    .ok_or(ApiError::Unknown(Unknown::Channel))?;
                state
                    .permissions
                    .put_channel(std::sync::Arc::new(channel.clone()), epoch);
                channel
            }
        };
        Self::of(state, channel, user).await
    }

    /// The caller's standing in a loaded channel.
    async fn of(state: &AppState, channel: ChannelRecord, user: UserId) -> ApiResult<Self> {
        let channel_id = channel.channel_id();
        match channel.guild_id {
            None => {
                let recipients = state.store.recipients(channel_id).await?;
                if !recipients.contains(&user) {
                    return Err(ApiError::Unknown(Unknown::Channel));
                }
                Ok(Self {
                    channel,
                    permissions: private_channel_permissions(),
                    guild: None,
                })
            }
            Some(guild_id) => {
                let guild_id = GuildId::from_i64(guild_id);
                let generation = state.permissions.generation(guild_id);
                let guild = GuildAccess::load(state, guild_id, user).await?;
                let permissions =
                    channel_permissions_cached(state, &guild, &channel, generation).await?;
                if !permissions.contains(Permissions::VIEW_CHANNEL) {
                    return Err(ApiError::MissingAccess);
                }
                Ok(Self {
                    channel,
                    permissions,
                    guild: Some(guild),
                })
            }
        }
    }

    /// Fails with 50013 unless the caller holds `needed` in this channel.
    pub fn require(&self, needed: Permissions) -> ApiResult<()> {
        if self.permissions.contains(needed) {
            Ok(())
        } else {
            Err(ApiError::MissingPermissions)
        }
    }

    /// The guild standing, or 50003 for DM channels.
    pub fn guild(&self) -> ApiResult<&GuildAccess> {
        self.guild.as_ref().ok_or(ApiError::DmChannel)
    }

    /// The channel's type.
    pub fn kind(&self) -> ChannelType {
        channel_type(self.channel.kind)
    }
}

/// The caller's permissions in a guild channel, from the cache or computed (and cached);
/// `generation` is the guild's cache generation read before `guild` was loaded.
pub async fn channel_permissions_cached(
    state: &AppState,
    guild: &GuildAccess,
    channel: &ChannelRecord,
    generation: u64,
) -> ApiResult<Permissions> {
    let now = now_ms() as i64;
    let channel_id = ChannelId::from_i64(channel.id);
    if let Some(p) = state
        .permissions
        .get(guild.guild_id(), channel_id, guild.user_id, now)
    {
        return Ok(p);
    }
    let (overwrites, is_member) = overwrites_for(state, channel, guild.user_id).await?;
    let permissions = guild.thread_aware_permissions(channel, &overwrites, is_member);
    let valid_until = guild.valid_until_ms(now);
    state.permissions.put(
        guild.guild_id(),
        channel_id,
        guild.user_id,
        permissions,
        generation,
        valid_until,
    );
    Ok(permissions)
}

/// The overwrites a channel's permissions come from (a thread's parent's), and for a private
/// thread whether `user` is one of its members.
async fn overwrites_for(
    state: &AppState,
    channel: &ChannelRecord,
    user: UserId,
) -> ApiResult<(Vec<OverwriteRecord>, bool)> {
    if !channel.is_thread() {
        let o = state.store.channel_overwrites(channel.channel_id()).await?;
        return Ok((o, false));
    }
    let parent = ChannelId::from_i64(channel.parent_id.unwrap_or_default());
    let o = state.store.channel_overwrites(parent).await?;
    let member = channel.kind == 12
        && state
            .store
            .thread_member(channel.channel_id(), user)
            .await?
            .is_some();
    Ok((o, member))
}
