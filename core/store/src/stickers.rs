//! Custom guild stickers: their metadata (the file itself lives in blob storage).

use accord_model::{GuildId, StickerId, UserId};
use chrono::{DateTime, Utc};

use crate::{Result, Store, StoreError, dispatch, now};

/// A sticker row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StickerRecord {
    /// Snowflake.
    pub id: i64,
    /// Guild.
    pub guild_id: i64,
    /// Name.
    pub name: String,
    /// Description (`None` when empty).
    pub description: Option<String>,
    /// Autocomplete tags.
    pub tags: String,
    /// Discord's format type (1 PNG, 2 APNG, 3 Lottie, 4 GIF).
    pub format_type: i32,
    /// Usable (false when boosts lapse).
    pub available: bool,
    /// Uploader.
    pub user_id: Option<i64>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl StickerRecord {
    /// The typed id.
    pub fn sticker_id(&self) -> StickerId {
        StickerId::from_i64(self.id)
    }

    /// The typed guild id.
    pub fn guild(&self) -> GuildId {
        GuildId::from_i64(self.guild_id)
    }
}

/// What creating a sticker writes.
#[derive(Debug, Clone)]
pub struct NewSticker {
    /// Snowflake.
    pub id: StickerId,
    /// Guild.
    pub guild_id: GuildId,
    /// Name.
    pub name: String,
    /// Description (`None` when empty).
    pub description: Option<String>,
    /// Autocomplete tags.
    pub tags: String,
    /// Discord's format type.
    pub format_type: i32,
    /// Uploader.
    pub user_id: Option<UserId>,
}

/// A partial update; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct StickerPatch {
    /// Name.
    pub name: Option<String>,
    /// Description: `Some(None)` clears it.
    pub description: Option<Option<String>>,
    /// Tags.
    pub tags: Option<String>,
}

macro_rules! sticker_columns {
    () => {
        "id, guild_id, name, description, tags, format_type, available, user_id, created_at"
    };
}

impl Store {
    /// Creates a sticker.
    pub async fn create_sticker(&self, new: &NewSticker) -> Result<StickerRecord> {
        dispatch!(self.db(), |pool| {
            sqlx::query(
                "INSERT INTO stickers (id, guild_id, name, description, tags, format_type, user_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(new.id.as_i64())
            .bind(new.guild_id.as_i64())
            .bind(&new.name)
            .bind(&new.description)
            .bind(&new.tags)
            .bind(new.format_type)
            .bind(new.user_id.map(|u| u.as_i64()))
            .bind(now())
            .execute(pool)
            .await?;
        });
        self.guild_sticker(new.guild_id, new.id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// A sticker of a guild.
    pub async fn guild_sticker(
        &self,
        guild: GuildId,
        id: StickerId,
    ) -> Result<Option<StickerRecord>> {
        Ok(dispatch!(self.db(), |pool| sqlx::query_as(concat!(
            "SELECT ",
            sticker_columns!(),
            " FROM stickers WHERE id = $1 AND guild_id = $2"
        ))
        .bind(id.as_i64())
        .bind(guild.as_i64())
        .fetch_optional(pool)
        .await?))
    }

    /// A sticker by id alone, whatever its guild.
    pub async fn sticker(&self, id: StickerId) -> Result<Option<StickerRecord>> {
        Ok(dispatch!(self.db(), |pool| sqlx::query_as(concat!(
            "SELECT ",
            sticker_columns!(),
            " FROM stickers WHERE id = $1"
        ))
        .bind(id.as_i64())
        .fetch_optional(pool)
        .await?))
    }

    /// The stickers of a guild by id.
    pub async fn guild_stickers(&self, guild: GuildId) -> Result<Vec<StickerRecord>> {
        Ok(dispatch!(self.db(), |pool| sqlx::query_as(concat!(
            "SELECT ",
            sticker_columns!(),
            " FROM stickers WHERE guild_id = $1 ORDER BY id"
        ))
        .bind(guild.as_i64())
        .fetch_all(pool)
        .await?))
    }

    /// How many stickers a guild has.
    pub async fn guild_sticker_count(&self, guild: GuildId) -> Result<u64> {
        let n: i64 = dispatch!(self.db(), |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM stickers WHERE guild_id = $1"
        )
        .bind(guild.as_i64())
        .fetch_one(pool)
        .await?);
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Changes a sticker's name, description or tags.
    pub async fn update_sticker(
        &self,
        guild: GuildId,
        id: StickerId,
        patch: &StickerPatch,
    ) -> Result<StickerRecord> {
        let n = dispatch!(self.db(), |pool| sqlx::query(
            "UPDATE stickers SET name = COALESCE($3, name), \
             description = CASE WHEN $4 THEN $5 ELSE description END, \
             tags = COALESCE($6, tags) WHERE id = $1 AND guild_id = $2"
        )
        .bind(id.as_i64())
        .bind(guild.as_i64())
        .bind(&patch.name)
        .bind(patch.description.is_some())
        .bind(patch.description.clone().flatten())
        .bind(&patch.tags)
        .execute(pool)
        .await?
        .rows_affected());
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        self.guild_sticker(guild, id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Deletes a sticker of a guild.
    pub async fn delete_sticker(&self, guild: GuildId, id: StickerId) -> Result<()> {
        let n = dispatch!(self.db(), |pool| sqlx::query(
            "DELETE FROM stickers WHERE id = $1 AND guild_id = $2"
        )
        .bind(id.as_i64())
        .bind(guild.as_i64())
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
