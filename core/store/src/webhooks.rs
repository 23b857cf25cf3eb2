//! Webhooks of guild channels.

use accord_model::{ApplicationId, ChannelId, GuildId, UserId, WebhookId};
use chrono::{DateTime, Utc};

use crate::{Result, Store, StoreError, dispatch, now};

/// A webhook row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WebhookRecord {
    /// Snowflake.
    pub id: i64,
    /// 1 incoming, 2 channel follower, 3 application.
    #[sqlx(rename = "type")]
    pub kind: i32,
    /// Guild.
    pub guild_id: Option<i64>,
    /// Channel it posts to.
    pub channel_id: Option<i64>,
    /// Creator.
    pub user_id: Option<i64>,
    /// Default name.
    pub name: Option<String>,
    /// Default avatar hash.
    pub avatar: Option<String>,
    /// Secure token (incoming webhooks).
    pub token: Option<String>,
    /// Application that created it.
    pub application_id: Option<i64>,
    /// Followed guild (channel follower webhooks).
    pub source_guild_id: Option<i64>,
    /// Followed channel.
    pub source_channel_id: Option<i64>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl WebhookRecord {
    /// The typed id.
    pub fn webhook_id(&self) -> WebhookId {
        WebhookId::from_i64(self.id)
    }
}

/// What creating a webhook writes.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    /// Snowflake.
    pub id: WebhookId,
    /// Type.
    pub kind: i32,
    /// Guild.
    pub guild_id: Option<GuildId>,
    /// Channel.
    pub channel_id: Option<ChannelId>,
    /// Creator.
    pub user_id: Option<UserId>,
    /// Name.
    pub name: Option<String>,
    /// Avatar hash.
    pub avatar: Option<String>,
    /// Token.
    pub token: Option<String>,
    /// Application.
    pub application_id: Option<ApplicationId>,
    /// Followed guild.
    pub source_guild_id: Option<GuildId>,
    /// Followed channel.
    pub source_channel_id: Option<ChannelId>,
}

/// A partial update; `None` leaves a field alone, `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default)]
pub struct WebhookPatch {
    /// Name.
    pub name: Option<Option<String>>,
    /// Avatar hash.
    pub avatar: Option<Option<String>>,
    /// Channel to move it to.
    pub channel_id: Option<ChannelId>,
}

macro_rules! webhook_columns {
    () => {
        "id, type, guild_id, channel_id, user_id, name, avatar, token, application_id, source_guild_id, source_channel_id, created_at"
    };
}

impl Store {
    /// Creates a webhook.
    pub async fn create_webhook(&self, new: &NewWebhook) -> Result<WebhookRecord> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_as(concat!(
            "INSERT INTO webhooks (",
            webhook_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING ",
            webhook_columns!()
        ))
        .bind(new.id.as_i64())
        .bind(new.kind)
        .bind(new.guild_id.map(|g| g.as_i64()))
        .bind(new.channel_id.map(|c| c.as_i64()))
        .bind(new.user_id.map(|u| u.as_i64()))
        .bind(&new.name)
        .bind(&new.avatar)
        .bind(&new.token)
        .bind(new.application_id.map(|a| a.as_i64()))
        .bind(new.source_guild_id.map(|g| g.as_i64()))
        .bind(new.source_channel_id.map(|c| c.as_i64()))
        .bind(now())
        .fetch_one(pool)
        .await?))
    }

    /// A webhook by id.
    pub async fn webhook(&self, id: WebhookId) -> Result<Option<WebhookRecord>> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_as(concat!(
            "SELECT ",
            webhook_columns!(),
            " FROM webhooks WHERE id = $1"
        ))
        .bind(id.as_i64())
        .fetch_optional(pool)
        .await?))
    }

    /// The webhooks of a channel, by id.
    pub async fn channel_webhooks(&self, channel: ChannelId) -> Result<Vec<WebhookRecord>> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_as(concat!(
            "SELECT ",
            webhook_columns!(),
            " FROM webhooks WHERE channel_id = $1 ORDER BY id"
        ))
        .bind(channel.as_i64())
        .fetch_all(pool)
        .await?))
    }

    /// The webhooks of a guild, by id.
    pub async fn guild_webhooks(&self, guild: GuildId) -> Result<Vec<WebhookRecord>> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_as(concat!(
            "SELECT ",
            webhook_columns!(),
            " FROM webhooks WHERE guild_id = $1 ORDER BY id"
        ))
        .bind(guild.as_i64())
        .fetch_all(pool)
        .await?))
    }

    /// Applies a patch and returns the updated webhook.
    pub async fn update_webhook(
        &self,
        id: WebhookId,
        patch: &WebhookPatch,
    ) -> Result<WebhookRecord> {
        let p = patch;
        dispatch!(self.db(), |pool| {
            let row: Option<WebhookRecord> = sqlx::query_as(concat!(
                "UPDATE webhooks SET \
                 name = CASE WHEN $2 THEN $3 ELSE name END, \
                 avatar = CASE WHEN $4 THEN $5 ELSE avatar END, \
                 channel_id = COALESCE($6, channel_id) \
                 WHERE id = $1 RETURNING ",
                webhook_columns!()
            ))
            .bind(id.as_i64())
            .bind(p.name.is_some())
            .bind(p.name.clone().flatten())
            .bind(p.avatar.is_some())
            .bind(p.avatar.clone().flatten())
            .bind(p.channel_id.map(|c| c.as_i64()))
            .fetch_optional(pool)
            .await?;
            row.ok_or(StoreError::NotFound)
        })
    }

    /// Deletes a webhook.
    pub async fn delete_webhook(&self, id: WebhookId) -> Result<()> {
        let n = dispatch!(self.db(), |pool| sqlx::query(
            "DELETE FROM webhooks WHERE id = $1"
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
}
