//! Guilds: creation (with the @everyone role, the owner's membership and the first channels),
//! lookup, the guilds of a user, updates and deletion.

use accord_model::{ChannelId, GuildId, Permissions, UserId};
use chrono::{DateTime, Utc};
use sqlx::types::Json;

use crate::channels::{NewChannel, insert_guild_channel};
use crate::{Result, Store, StoreError, dispatch, now};

/// A guild row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct GuildRecord {
    /// Snowflake.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Icon hash.
    pub icon: Option<String>,
    /// Invite splash hash.
    pub splash: Option<String>,
    /// Discovery splash hash.
    pub discovery_splash: Option<String>,
    /// Banner hash.
    pub banner: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Owner.
    pub owner_id: i64,
    /// AFK voice channel.
    pub afk_channel_id: Option<i64>,
    /// AFK timeout in seconds.
    pub afk_timeout: i32,
    /// Where system messages go.
    pub system_channel_id: Option<i64>,
    /// System channel flags.
    pub system_channel_flags: i32,
    /// Rules channel.
    pub rules_channel_id: Option<i64>,
    /// Community updates channel.
    pub public_updates_channel_id: Option<i64>,
    /// Verification level.
    pub verification_level: i32,
    /// Default notification level.
    pub default_message_notifications: i32,
    /// Explicit content filter level.
    pub explicit_content_filter: i32,
    /// MFA level required for moderation.
    pub mfa_level: i32,
    /// NSFW level.
    pub nsfw_level: i32,
    /// Boost tier.
    pub premium_tier: i32,
    /// Preferred locale.
    pub preferred_locale: String,
    /// Enabled guild features.
    pub features: Json<Vec<String>>,
    /// Vanity invite code.
    pub vanity_url_code: Option<String>,
    /// Most members.
    pub max_members: i32,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl GuildRecord {
    /// The typed id.
    pub fn guild_id(&self) -> GuildId {
        GuildId::from_i64(self.id)
    }

    /// The typed owner id.
    pub fn owner(&self) -> UserId {
        UserId::from_i64(self.owner_id)
    }
}

/// What creating a guild writes.
#[derive(Debug, Clone)]
pub struct NewGuild {
    /// Snowflake (also the id of the @everyone role).
    pub id: GuildId,
    /// Name.
    pub name: String,
    /// Icon hash.
    pub icon: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Owner (made the first member).
    pub owner_id: UserId,
    /// Permissions of the @everyone role.
    pub everyone_permissions: Permissions,
    /// Verification level.
    pub verification_level: i32,
    /// Default notification level.
    pub default_message_notifications: i32,
    /// Explicit content filter level.
    pub explicit_content_filter: i32,
    /// AFK timeout in seconds.
    pub afk_timeout: i32,
    /// System channel flags.
    pub system_channel_flags: i32,
    /// Preferred locale.
    pub preferred_locale: String,
    /// Features.
    pub features: Vec<String>,
    /// Channels created with the guild, in the same transaction.
    pub channels: Vec<NewChannel>,
    /// AFK channel (may name one of `channels`).
    pub afk_channel_id: Option<ChannelId>,
    /// System channel (may name one of `channels`).
    pub system_channel_id: Option<ChannelId>,
}

impl NewGuild {
    /// A guild with Discord's defaults and no channels.
    pub fn new(
        id: GuildId,
        name: impl Into<String>,
        owner_id: UserId,
        everyone_permissions: Permissions,
    ) -> Self {
        Self {
            id,
            name: name.into(),
            icon: None,
            description: None,
            owner_id,
            everyone_permissions,
            verification_level: 0,
            default_message_notifications: 0,
            explicit_content_filter: 0,
            afk_timeout: 300,
            system_channel_flags: 0,
            preferred_locale: "en-US".to_owned(),
            features: Vec::new(),
            channels: Vec::new(),
            afk_channel_id: None,
            system_channel_id: None,
        }
    }
}

/// A partial update; `None` leaves a field alone, `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default)]
pub struct GuildPatch {
    /// Name.
    pub name: Option<String>,
    /// Icon hash.
    pub icon: Option<Option<String>>,
    /// Invite splash hash.
    pub splash: Option<Option<String>>,
    /// Discovery splash hash.
    pub discovery_splash: Option<Option<String>>,
    /// Banner hash.
    pub banner: Option<Option<String>>,
    /// Description.
    pub description: Option<Option<String>>,
    /// Owner (ownership transfer).
    pub owner_id: Option<UserId>,
    /// AFK channel.
    pub afk_channel_id: Option<Option<ChannelId>>,
    /// AFK timeout.
    pub afk_timeout: Option<i32>,
    /// System channel.
    pub system_channel_id: Option<Option<ChannelId>>,
    /// System channel flags.
    pub system_channel_flags: Option<i32>,
    /// Rules channel.
    pub rules_channel_id: Option<Option<ChannelId>>,
    /// Community updates channel.
    pub public_updates_channel_id: Option<Option<ChannelId>>,
    /// Verification level.
    pub verification_level: Option<i32>,
    /// Default notification level.
    pub default_message_notifications: Option<i32>,
    /// Explicit content filter level.
    pub explicit_content_filter: Option<i32>,
    /// MFA level.
    pub mfa_level: Option<i32>,
    /// Preferred locale.
    pub preferred_locale: Option<String>,
    /// Features.
    pub features: Option<Vec<String>>,
    /// Vanity invite code.
    pub vanity_url_code: Option<Option<String>>,
}

/// The column list of `guilds`, in [`GuildRecord`]'s order.
macro_rules! guild_columns {
    () => {
        "id, name, icon, splash, discovery_splash, banner, description, owner_id, afk_channel_id, afk_timeout, system_channel_id, system_channel_flags, rules_channel_id, public_updates_channel_id, verification_level, default_message_notifications, explicit_content_filter, mfa_level, nsfw_level, premium_tier, preferred_locale, features, vanity_url_code, max_members, created_at"
    };
}

impl Store {
    /// Creates a guild in one transaction: the guild row, its @everyone role (whose id is the
    /// guild's) with `everyone_permissions`, the owner's membership and `channels` with their
    /// overwrites.
    pub async fn create_guild(&self, new: &NewGuild) -> Result<GuildRecord> {
        let created = now();
        let gid = new.id.as_i64();
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO guilds (id, name, icon, description, owner_id, verification_level, \
                 default_message_notifications, explicit_content_filter, afk_timeout, system_channel_flags, \
                 preferred_locale, features, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(gid)
            .bind(&new.name)
            .bind(&new.icon)
            .bind(&new.description)
            .bind(new.owner_id.as_i64())
            .bind(new.verification_level)
            .bind(new.default_message_notifications)
            .bind(new.explicit_content_filter)
            .bind(new.afk_timeout)
            .bind(new.system_channel_flags)
            .bind(&new.preferred_locale)
            .bind(Json(&new.features))
            .bind(created)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO roles (id, guild_id, name, position, permissions, created_at) \
                 VALUES ($1, $1, '@everyone', 0, $2, $3)",
            )
            .bind(gid)
            .bind(new.everyone_permissions.bits() as i64)
            .bind(created)
            .execute(&mut *tx)
            .await?;
            sqlx::query("INSERT INTO members (guild_id, user_id, joined_at) VALUES ($1, $2, $3)")
                .bind(gid)
                .bind(new.owner_id.as_i64())
                .bind(created)
                .execute(&mut *tx)
                .await?;
            for channel in &new.channels {
                insert_guild_channel!(tx, gid, channel, created);
            }
            let guild: GuildRecord = sqlx::query_as(concat!(
                "UPDATE guilds SET afk_channel_id = $2, system_channel_id = $3 WHERE id = $1 RETURNING ",
                guild_columns!()
            ))
            .bind(gid)
            .bind(new.afk_channel_id.map(|c| c.as_i64()))
            .bind(new.system_channel_id.map(|c| c.as_i64()))
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(guild)
        })
    }

    /// A guild by id.
    pub async fn guild(&self, id: GuildId) -> Result<Option<GuildRecord>> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_as(concat!(
            "SELECT ",
            guild_columns!(),
            " FROM guilds WHERE id = $1"
        ))
        .bind(id.as_i64())
        .fetch_optional(pool)
        .await?))
    }

    /// The guilds `user` is a member of, by id ascending, at most `limit` of them: those after
    /// `after` if given, else the last ones before `before` if given, else the first ones.
    /// With both, those strictly between them (from `after` on).
    pub async fn guilds_of_user(
        &self,
        user: UserId,
        before: Option<GuildId>,
        after: Option<GuildId>,
        limit: u32,
    ) -> Result<Vec<GuildRecord>> {
        let newest_first = before.is_some() && after.is_none();
        let before = before.map(|g| g.as_i64());
        let after = after.map(|g| g.as_i64());
        let limit = i64::from(limit);
        let mut rows: Vec<GuildRecord> = dispatch!(self.db(), |pool| {
            let q = if newest_first {
                sqlx::query_as(concat!(
                    "SELECT ",
                    guild_columns!(),
                    " FROM guilds WHERE id IN (SELECT guild_id FROM members WHERE user_id = $1) \
                     AND ($2 IS NULL OR id < $2) AND ($3 IS NULL OR id > $3) ORDER BY id DESC LIMIT $4"
                ))
            } else {
                sqlx::query_as(concat!(
                    "SELECT ",
                    guild_columns!(),
                    " FROM guilds WHERE id IN (SELECT guild_id FROM members WHERE user_id = $1) \
                     AND ($2 IS NULL OR id < $2) AND ($3 IS NULL OR id > $3) ORDER BY id LIMIT $4"
                ))
            };
            q.bind(user.as_i64())
                .bind(before)
                .bind(after)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        if newest_first {
            rows.reverse();
        }
        Ok(rows)
    }

    /// The ids of every guild `user` is a member of (for the gateway's READY).
    pub async fn guild_ids_of_user(&self, user: UserId) -> Result<Vec<GuildId>> {
        let ids: Vec<i64> = dispatch!(self.db(), |pool| sqlx::query_scalar(
            "SELECT guild_id FROM members WHERE user_id = $1 ORDER BY guild_id"
        )
        .bind(user.as_i64())
        .fetch_all(pool)
        .await?);
        Ok(ids.into_iter().map(GuildId::from_i64).collect())
    }

    /// Applies a patch and returns the updated guild.
    pub async fn update_guild(&self, id: GuildId, patch: &GuildPatch) -> Result<GuildRecord> {
        let p = patch;
        let chan = |c: &Option<Option<ChannelId>>| c.flatten().map(|c| c.as_i64());
        let features = p.features.as_ref().map(Json);
        dispatch!(self.db(), |pool| {
            let row: Option<GuildRecord> = sqlx::query_as(concat!(
                "UPDATE guilds SET \
                 name = COALESCE($2, name), \
                 icon = CASE WHEN $3 THEN $4 ELSE icon END, \
                 splash = CASE WHEN $5 THEN $6 ELSE splash END, \
                 discovery_splash = CASE WHEN $7 THEN $8 ELSE discovery_splash END, \
                 banner = CASE WHEN $9 THEN $10 ELSE banner END, \
                 description = CASE WHEN $11 THEN $12 ELSE description END, \
                 owner_id = COALESCE($13, owner_id), \
                 afk_channel_id = CASE WHEN $14 THEN $15 ELSE afk_channel_id END, \
                 afk_timeout = COALESCE($16, afk_timeout), \
                 system_channel_id = CASE WHEN $17 THEN $18 ELSE system_channel_id END, \
                 system_channel_flags = COALESCE($19, system_channel_flags), \
                 rules_channel_id = CASE WHEN $20 THEN $21 ELSE rules_channel_id END, \
                 public_updates_channel_id = CASE WHEN $22 THEN $23 ELSE public_updates_channel_id END, \
                 verification_level = COALESCE($24, verification_level), \
                 default_message_notifications = COALESCE($25, default_message_notifications), \
                 explicit_content_filter = COALESCE($26, explicit_content_filter), \
                 mfa_level = COALESCE($27, mfa_level), \
                 preferred_locale = COALESCE($28, preferred_locale), \
                 features = CASE WHEN $29 THEN $30 ELSE features END, \
                 vanity_url_code = CASE WHEN $31 THEN $32 ELSE vanity_url_code END \
                 WHERE id = $1 RETURNING ",
                guild_columns!()
            ))
            .bind(id.as_i64())
            .bind(&p.name)
            .bind(p.icon.is_some())
            .bind(p.icon.clone().flatten())
            .bind(p.splash.is_some())
            .bind(p.splash.clone().flatten())
            .bind(p.discovery_splash.is_some())
            .bind(p.discovery_splash.clone().flatten())
            .bind(p.banner.is_some())
            .bind(p.banner.clone().flatten())
            .bind(p.description.is_some())
            .bind(p.description.clone().flatten())
            .bind(p.owner_id.map(|u| u.as_i64()))
            .bind(p.afk_channel_id.is_some())
            .bind(chan(&p.afk_channel_id))
            .bind(p.afk_timeout)
            .bind(p.system_channel_id.is_some())
            .bind(chan(&p.system_channel_id))
            .bind(p.system_channel_flags)
            .bind(p.rules_channel_id.is_some())
            .bind(chan(&p.rules_channel_id))
            .bind(p.public_updates_channel_id.is_some())
            .bind(chan(&p.public_updates_channel_id))
            .bind(p.verification_level)
            .bind(p.default_message_notifications)
            .bind(p.explicit_content_filter)
            .bind(p.mfa_level)
            .bind(&p.preferred_locale)
            .bind(features.is_some())
            .bind(features)
            .bind(p.vanity_url_code.is_some())
            .bind(p.vanity_url_code.clone().flatten())
            .fetch_optional(pool)
            .await?;
            row.ok_or(StoreError::NotFound)
        })
    }

    /// Deletes a guild; its channels (with their messages), roles, members, bans, emojis,
    /// invites and webhooks go with it.
    pub async fn delete_guild(&self, id: GuildId) -> Result<()> {
        let n = dispatch!(self.db(), |pool| sqlx::query(
            "DELETE FROM guilds WHERE id = $1"
        )
        .bind(id.as_i64())
        .execute(pool)
        .await?
        .rows_affected());
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    /// Number of members of a guild (0 for an unknown guild). Kept in `guilds.member_count`
    /// by triggers on `members` (migration 0002), so this reads one row.
    pub async fn member_count(&self, guild: GuildId) -> Result<i64> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_scalar::<_, i64>(
            "SELECT member_count FROM guilds WHERE id = $1"
        )
        .bind(guild.as_i64())
        .fetch_optional(pool)
        .await?
        .unwrap_or(0)))
    }
}
