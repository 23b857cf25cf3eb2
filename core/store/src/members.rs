//! Guild members and the roles they hold.

use std::collections::HashMap;

use accord_model::{GuildId, RoleId, UserId};
use chrono::{DateTime, Utc};

use crate::{Result, Store, StoreError, dispatch, now};

/// A member row with the ids of the roles the member holds (the implicit @everyone role is
/// never among them).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct MemberRecord {
    /// Guild.
    pub guild_id: i64,
    /// User.
    pub user_id: i64,
    /// Nickname.
    pub nick: Option<String>,
    /// Guild avatar hash.
    pub avatar: Option<String>,
    /// Guild banner hash.
    pub banner: Option<String>,
    /// When the user joined.
    pub joined_at: DateTime<Utc>,
    /// When the user started boosting.
    pub premium_since: Option<DateTime<Utc>>,
    /// Server-deafened.
    pub deaf: bool,
    /// Server-muted.
    pub mute: bool,
    /// Member flags.
    pub flags: i32,
    /// Has not passed membership screening.
    pub pending: bool,
    /// Timed out until then.
    pub communication_disabled_until: Option<DateTime<Utc>>,
    /// Role ids, ascending.
    #[sqlx(skip)]
    pub roles: Vec<i64>,
}

impl MemberRecord {
    /// The typed user id.
    pub fn user(&self) -> UserId {
        UserId::from_i64(self.user_id)
    }

    /// The typed role ids.
    pub fn role_ids(&self) -> Vec<RoleId> {
        self.roles.iter().copied().map(RoleId::from_i64).collect()
    }
}

/// A member's searchable names (see [`Store::member_names`]).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MemberNames {
    /// User.
    pub user_id: i64,
    /// Username.
    pub username: String,
    /// Display name.
    pub global_name: Option<String>,
    /// Guild nickname.
    pub nick: Option<String>,
}

/// What adding a member writes.
#[derive(Debug, Clone)]
pub struct NewMember {
    /// Guild.
    pub guild_id: GuildId,
    /// User.
    pub user_id: UserId,
    /// Nickname.
    pub nick: Option<String>,
    /// Roles (the @everyone role is skipped).
    pub roles: Vec<RoleId>,
    /// Server-deafened.
    pub deaf: bool,
    /// Server-muted.
    pub mute: bool,
    /// Pending membership screening.
    pub pending: bool,
    /// Member flags.
    pub flags: i32,
}

impl NewMember {
    /// A member with no nickname, roles or flags.
    pub fn new(guild_id: GuildId, user_id: UserId) -> Self {
        Self {
            guild_id,
            user_id,
            nick: None,
            roles: Vec::new(),
            deaf: false,
            mute: false,
            pending: false,
            flags: 0,
        }
    }
}

/// A partial update; `None` leaves a field alone, `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default)]
pub struct MemberPatch {
    /// Nickname.
    pub nick: Option<Option<String>>,
    /// Guild avatar.
    pub avatar: Option<Option<String>>,
    /// Guild banner.
    pub banner: Option<Option<String>>,
    /// Server-deafened.
    pub deaf: Option<bool>,
    /// Server-muted.
    pub mute: Option<bool>,
    /// Member flags.
    pub flags: Option<i32>,
    /// Pending membership screening.
    pub pending: Option<bool>,
    /// Boosting since.
    pub premium_since: Option<Option<DateTime<Utc>>>,
    /// Timeout end.
    pub communication_disabled_until: Option<Option<DateTime<Utc>>>,
}

/// The column list of `members`, in [`MemberRecord`]'s order.
macro_rules! member_columns {
    () => {
        "guild_id, user_id, nick, avatar, banner, joined_at, premium_since, deaf, mute, flags, pending, communication_disabled_until"
    };
}

/// Gives the member `role` unless it is @everyone, with the write first (so a SQLite
/// transaction takes its write lock at once). Returns whether a row was added; fails with
/// NotFound if the member or the role (in that guild) does not exist.
macro_rules! grant_role {
    ($conn:expr, $guild:expr, $user:expr, $role:expr) => {{
        let (guild, user, role): (GuildId, UserId, RoleId) = ($guild, $user, $role);
        if role.as_i64() == guild.as_i64() {
            false
        } else {
            let added = sqlx::query(
                "INSERT INTO member_roles (guild_id, user_id, role_id) SELECT $1, $2, id FROM roles \
                 WHERE id = $3 AND guild_id = $1 \
                 AND EXISTS (SELECT 1 FROM members WHERE guild_id = $1 AND user_id = $2) ON CONFLICT DO NOTHING",
            )
            .bind(guild.as_i64())
            .bind(user.as_i64())
            .bind(role.as_i64())
            .execute(&mut *$conn)
            .await?
            .rows_affected()
                == 1;
            if !added {
                let held: Option<i64> = sqlx::query_scalar(
                    "SELECT role_id FROM member_roles WHERE guild_id = $1 AND user_id = $2 AND role_id = $3",
                )
                .bind(guild.as_i64())
                .bind(user.as_i64())
                .bind(role.as_i64())
                .fetch_optional(&mut *$conn)
                .await?;
                if held.is_none() {
                    return Err(StoreError::NotFound);
                }
            }
            added
        }
    }};
}

impl Store {
    /// Adds a member with its roles in one transaction; [`StoreError::Conflict`] if the user
    /// already is a member, [`StoreError::NotFound`] if a role is not one of the guild's.
    pub async fn add_member(&self, new: &NewMember) -> Result<MemberRecord> {
        let joined = now();
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO members (guild_id, user_id, nick, joined_at, deaf, mute, pending, flags) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(new.guild_id.as_i64())
            .bind(new.user_id.as_i64())
            .bind(&new.nick)
            .bind(joined)
            .bind(new.deaf)
            .bind(new.mute)
            .bind(new.pending)
            .bind(new.flags)
            .execute(&mut *tx)
            .await?;
            for role in &new.roles {
                grant_role!(tx, new.guild_id, new.user_id, *role);
            }
            tx.commit().await?;
            Ok::<(), StoreError>(())
        })?;
        self.member(new.guild_id, new.user_id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// A member of a guild, with its roles.
    pub async fn member(&self, guild: GuildId, user: UserId) -> Result<Option<MemberRecord>> {
        let (member, roles): (Option<MemberRecord>, Vec<i64>) = dispatch!(self.db(), |pool| {
            let member = sqlx::query_as(concat!(
                "SELECT ",
                member_columns!(),
                " FROM members WHERE guild_id = $1 AND user_id = $2"
            ))
            .bind(guild.as_i64())
            .bind(user.as_i64())
            .fetch_optional(pool)
            .await?;
            let roles = sqlx::query_scalar(
                "SELECT role_id FROM member_roles WHERE guild_id = $1 AND user_id = $2 ORDER BY role_id",
            )
            .bind(guild.as_i64())
            .bind(user.as_i64())
            .fetch_all(pool)
            .await?;
            (member, roles)
        });
        Ok(member.map(|m| MemberRecord { roles, ..m }))
    }

    /// Up to `limit` members of a guild with user ids above `after`, by user id, with roles.
    pub async fn members(
        &self,
        guild: GuildId,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<MemberRecord>> {
        let after = after.map_or(i64::MIN, |u| u.as_i64());
        let mut members: Vec<MemberRecord> = dispatch!(self.db(), |pool| sqlx::query_as(concat!(
            "SELECT ",
            member_columns!(),
            " FROM members WHERE guild_id = $1 AND user_id > $2 ORDER BY user_id LIMIT $3"
        ))
        .bind(guild.as_i64())
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?);
        let (Some(first), Some(last)) = (members.first(), members.last()) else {
            return Ok(members);
        };
        let (low, high) = (first.user_id, last.user_id);
        let rows: Vec<(i64, i64)> = dispatch!(self.db(), |pool| {
            sqlx::query_as(
            "SELECT user_id, role_id FROM member_roles WHERE guild_id = $1 AND user_id BETWEEN $2 AND $3 \
             ORDER BY user_id, role_id"
        )
        .bind(guild.as_i64())
        .bind(low)
        .bind(high)
        .fetch_all(pool)
        .await?
        });
        let index: HashMap<i64, usize> = members
            .iter()
            .enumerate()
            .map(|(i, m)| (m.user_id, i))
            .collect();
        for (user, role) in rows {
            if let Some(&i) = index.get(&user) {
                members[i].roles.push(role);
            }
        }
        Ok(members)
    }

    /// The names members are searched by: up to `limit` members of a guild with user ids above
    /// `after`, by user id, as (user id, username, global name, nickname).
    pub async fn member_names(
        &self,
        guild: GuildId,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<MemberNames>> {
        let after = after.map_or(i64::MIN, |u| u.as_i64());
        dispatch!(self.db(), |pool| Ok(sqlx::query_as(
            "SELECT m.user_id, u.username, u.global_name, m.nick FROM members m \
             JOIN users u ON u.id = m.user_id \
             WHERE m.guild_id = $1 AND m.user_id > $2 ORDER BY m.user_id LIMIT $3"
        )
        .bind(guild.as_i64())
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?))
    }

    /// The members of a guild among `users`, by user id, with their roles (one query per 500
    /// ids for the members and one for their roles); users who are not members are skipped.
    pub async fn members_by_ids(
        &self,
        guild: GuildId,
        users: &[UserId],
    ) -> Result<Vec<MemberRecord>> {
        let mut out: Vec<MemberRecord> = Vec::with_capacity(users.len());
        for chunk in users.chunks(500) {
            let placeholders: Vec<String> =
                (2..=chunk.len() + 1).map(|i| format!("${i}")).collect();
            let list = placeholders.join(", ");
            let members_sql = format!(
                "SELECT {} FROM members WHERE guild_id = $1 AND user_id IN ({list})",
                member_columns!()
            );
            let roles_sql = format!(
                "SELECT user_id, role_id FROM member_roles WHERE guild_id = $1 AND user_id IN ({list}) \
                 ORDER BY user_id, role_id"
            );
            let (members, roles): (Vec<MemberRecord>, Vec<(i64, i64)>) =
                dispatch!(self.db(), |pool| {
                    let mut q = sqlx::query_as(sqlx::AssertSqlSafe(members_sql.clone()))
                        .bind(guild.as_i64());
                    for u in chunk {
                        q = q.bind(u.as_i64());
                    }
                    let members: Vec<MemberRecord> = q.fetch_all(pool).await?;
                    let mut q =
                        sqlx::query_as(sqlx::AssertSqlSafe(roles_sql.clone())).bind(guild.as_i64());
                    for u in chunk {
                        q = q.bind(u.as_i64());
                    }
                    let roles: Vec<(i64, i64)> = q.fetch_all(pool).await?;
                    (members, roles)
                });
            let start = out.len();
            out.extend(members);
            let index: HashMap<i64, usize> = out[start..]
                .iter()
                .enumerate()
                .map(|(i, m)| (m.user_id, start + i))
                .collect();
            for (user, role) in roles {
                if let Some(&i) = index.get(&user) {
                    out[i].roles.push(role);
                }
            }
        }
        out.sort_by_key(|m| m.user_id);
        Ok(out)
    }

    /// Applies a patch to a member and returns the updated member.
    pub async fn update_member(
        &self,
        guild: GuildId,
        user: UserId,
        patch: &MemberPatch,
    ) -> Result<MemberRecord> {
        let p = patch;
        let n = dispatch!(self.db(), |pool| {
            sqlx::query(
            "UPDATE members SET \
             nick = CASE WHEN $3 THEN $4 ELSE nick END, \
             avatar = CASE WHEN $5 THEN $6 ELSE avatar END, \
             banner = CASE WHEN $7 THEN $8 ELSE banner END, \
             deaf = COALESCE($9, deaf), \
             mute = COALESCE($10, mute), \
             flags = COALESCE($11, flags), \
             pending = COALESCE($12, pending), \
             premium_since = CASE WHEN $13 THEN $14 ELSE premium_since END, \
             communication_disabled_until = CASE WHEN $15 THEN $16 ELSE communication_disabled_until END \
             WHERE guild_id = $1 AND user_id = $2"
        )
        .bind(guild.as_i64())
        .bind(user.as_i64())
        .bind(p.nick.is_some())
        .bind(p.nick.clone().flatten())
        .bind(p.avatar.is_some())
        .bind(p.avatar.clone().flatten())
        .bind(p.banner.is_some())
        .bind(p.banner.clone().flatten())
        .bind(p.deaf)
        .bind(p.mute)
        .bind(p.flags)
        .bind(p.pending)
        .bind(p.premium_since.is_some())
        .bind(p.premium_since.flatten())
        .bind(p.communication_disabled_until.is_some())
        .bind(p.communication_disabled_until.flatten())
        .execute(pool)
        .await?
        .rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        self.member(guild, user).await?.ok_or(StoreError::NotFound)
    }

    /// Removes a member (its roles and thread memberships go with it).
    pub async fn remove_member(&self, guild: GuildId, user: UserId) -> Result<()> {
        let n = dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            let n = sqlx::query("DELETE FROM members WHERE guild_id = $1 AND user_id = $2")
                .bind(guild.as_i64())
                .bind(user.as_i64())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            crate::threads::leave_guild_threads!(tx, guild.as_i64(), user.as_i64());
            tx.commit().await?;
            n
        });
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    /// Gives a member a role; returns false if the member already had it (or it is @everyone).
    /// [`StoreError::NotFound`] if the member or the role (in that guild) does not exist.
    pub async fn add_member_role(
        &self,
        guild: GuildId,
        user: UserId,
        role: RoleId,
    ) -> Result<bool> {
        if role.as_i64() == guild.as_i64() {
            return match self.member(guild, user).await? {
                Some(_) => Ok(false),
                None => Err(StoreError::NotFound),
            };
        }
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            let added = grant_role!(tx, guild, user, role);
            tx.commit().await?;
            Ok(added)
        })
    }

    /// Takes a role from a member; returns false if the member did not have it.
    pub async fn remove_member_role(
        &self,
        guild: GuildId,
        user: UserId,
        role: RoleId,
    ) -> Result<bool> {
        let n = dispatch!(self.db(), |pool| sqlx::query(
            "DELETE FROM member_roles WHERE guild_id = $1 AND user_id = $2 AND role_id = $3"
        )
        .bind(guild.as_i64())
        .bind(user.as_i64())
        .bind(role.as_i64())
        .execute(pool)
        .await?
        .rows_affected());
        Ok(n == 1)
    }

    /// Replaces a member's roles in one transaction (the @everyone role is skipped);
    /// [`StoreError::NotFound`], changing nothing, if the member or one of the roles does not
    /// exist in the guild.
    pub async fn set_member_roles(
        &self,
        guild: GuildId,
        user: UserId,
        roles: &[RoleId],
    ) -> Result<()> {
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM member_roles WHERE guild_id = $1 AND user_id = $2")
                .bind(guild.as_i64())
                .bind(user.as_i64())
                .execute(&mut *tx)
                .await?;
            let member: Option<i64> = sqlx::query_scalar(
                "SELECT user_id FROM members WHERE guild_id = $1 AND user_id = $2",
            )
            .bind(guild.as_i64())
            .bind(user.as_i64())
            .fetch_optional(&mut *tx)
            .await?;
            if member.is_none() {
                return Err(StoreError::NotFound);
            }
            for role in roles {
                grant_role!(tx, guild, user, *role);
            }
            tx.commit().await?;
            Ok(())
        })
    }
}
