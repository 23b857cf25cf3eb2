//! Adding a bot to a guild: its managed role and its membership, written in one transaction.

use accord_model::UserId;

use crate::members::MemberRecord;
use crate::roles::{NewRole, RoleRecord};
use crate::{Result, Store, StoreError, dispatch, now};

impl Store {
    /// Adds `bot` to the guild of `role` and creates `role` (its managed role) held by it, all
    /// or nothing. Returns `None`, writing nothing, when the bot already is a member.
    pub async fn add_bot_member(
        &self,
        role: &NewRole,
        bot: UserId,
    ) -> Result<Option<(RoleRecord, MemberRecord)>> {
        let guild = role.guild_id.as_i64();
        let created = now();
        let added = dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            // The membership first: it is the write that decides, and it takes SQLite's write
            // lock at once.
            let inserted = sqlx::query(
                "INSERT INTO members (guild_id, user_id, joined_at) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(guild)
            .bind(bot.as_i64())
            .bind(created)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                tx.rollback().await?;
                false
            } else {
                sqlx::query(
                    "INSERT INTO roles (id, guild_id, name, color, hoist, icon, unicode_emoji, \
                     position, permissions, mentionable, managed, bot_id, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                )
                .bind(role.id.as_i64())
                .bind(guild)
                .bind(&role.name)
                .bind(role.color)
                .bind(role.hoist)
                .bind(&role.icon)
                .bind(&role.unicode_emoji)
                .bind(role.position)
                .bind(role.permissions.bits() as i64)
                .bind(role.mentionable)
                .bind(role.managed)
                .bind(role.bot_id.map(|u| u.as_i64()))
                .bind(created)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO member_roles (guild_id, user_id, role_id) VALUES ($1, $2, $3)",
                )
                .bind(guild)
                .bind(bot.as_i64())
                .bind(role.id.as_i64())
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                true
            }
        });
        if !added {
            return Ok(None);
        }
        let stored_role = self
            .role(role.guild_id, role.id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let member = self
            .member(role.guild_id, bot)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(Some((stored_role, member)))
    }
}
