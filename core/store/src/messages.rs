//! Messages with their user and role mentions and attachments: creation, lookup, Discord-style
//! paging, edits and (bulk) deletion. Pins and reactions live in `pins` and `reactions`.

use accord_model::{ChannelId, GuildId, MessageId, RoleId, UserId, WebhookId};
use chrono::{DateTime, Utc};
use sqlx::types::Json;

use crate::attachments::{AttachmentRecord, NewAttachment};
use crate::message_parts::insert_mentions;
use crate::{Result, Store, StoreError, dispatch, now};

/// A message row with its mentions and attachments.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct MessageRecord {
    /// Snowflake.
    pub id: i64,
    /// Channel.
    pub channel_id: i64,
    /// Guild of the channel, if any.
    pub guild_id: Option<i64>,
    /// Author (a user, or the webhook id for webhook messages).
    pub author_id: i64,
    /// Webhook that sent it.
    pub webhook_id: Option<i64>,
    /// Application that sent it (interaction responses).
    pub application_id: Option<i64>,
    /// Message type.
    #[sqlx(rename = "type")]
    pub kind: i32,
    /// Text.
    pub content: String,
    /// Text-to-speech.
    pub tts: bool,
    /// Mentions @everyone or @here.
    pub mention_everyone: bool,
    /// Message flags.
    pub flags: i64,
    /// Client nonce.
    pub nonce: Option<String>,
    /// Last edit.
    pub edited_at: Option<DateTime<Utc>>,
    /// Replied-to or forwarded message.
    pub reference_message_id: Option<i64>,
    /// Its channel.
    pub reference_channel_id: Option<i64>,
    /// Its guild.
    pub reference_guild_id: Option<i64>,
    /// Embeds (a JSON array).
    pub embeds: Json<serde_json::Value>,
    /// Components (a JSON array).
    pub components: Json<serde_json::Value>,
    /// Name the webhook posted under.
    pub webhook_name: Option<String>,
    /// Avatar the webhook posted with.
    pub webhook_avatar: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Whether it is pinned.
    pub pinned: bool,
    /// Mentioned user ids, ascending.
    #[sqlx(skip)]
    pub mentions: Vec<i64>,
    /// Mentioned role ids, ascending.
    #[sqlx(skip)]
    pub mention_roles: Vec<i64>,
    /// Attachments, by id.
    #[sqlx(skip)]
    pub attachments: Vec<AttachmentRecord>,
}

impl MessageRecord {
    /// The typed id.
    pub fn message_id(&self) -> MessageId {
        MessageId::from_i64(self.id)
    }
}

#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Snowflake.
    pub id: MessageId,
    /// Channel.
    pub channel_id: ChannelId,
    /// Guild of the channel.
    pub guild_id: Option<GuildId>,
    /// Author.
    pub author_id: UserId,
    /// Webhook that sent it.
    pub webhook_id: Option<WebhookId>,
    /// Message type.
    pub kind: i32,
    /// Text.
    pub content: String,
    /// Text-to-speech.
    pub tts: bool,
    /// Mentions @everyone or @here.
    pub mention_everyone: bool,
    /// Flags.
    pub flags: i64,
    /// Client nonce.
    pub nonce: Option<String>,
    /// Referenced message, channel and guild.
    pub reference: Option<(MessageId, ChannelId, Option<GuildId>)>,
    /// Embeds (a JSON array).
    pub embeds: serde_json::Value,
    /// Components (a JSON array).
    pub components: serde_json::Value,
    /// Webhook display name override.
    pub webhook_name: Option<String>,
    /// Webhook avatar override.
    pub webhook_avatar: Option<String>,
    /// Mentioned users.
    pub mentions: Vec<UserId>,
    /// Mentioned roles.
    pub mention_roles: Vec<RoleId>,
    /// Attachments.
    pub attachments: Vec<NewAttachment>,
}

impl NewMessage {
    /// A plain default-type message with `content` and nothing else.
    pub fn new(
        id: MessageId,
        channel_id: ChannelId,
        author_id: UserId,
        content: impl Into<String>,
    ) -> Self {
        Self {
            id,
            channel_id,
            guild_id: None,
            author_id,
            webhook_id: None,
            kind: 0,
            content: content.into(),
            tts: false,
            mention_everyone: false,
            flags: 0,
            nonce: None,
            reference: None,
            embeds: serde_json::Value::Array(Vec::new()),
            components: serde_json::Value::Array(Vec::new()),
            webhook_name: None,
            webhook_avatar: None,
            mentions: Vec::new(),
            mention_roles: Vec::new(),
            attachments: Vec::new(),
        }
    }
}

/// An edit; `None` leaves a field alone. Changing the content or embeds sets `edited_at`.
#[derive(Debug, Clone, Default)]
pub struct MessageEdit {
    /// Text.
    pub content: Option<String>,
    /// Embeds.
    pub embeds: Option<serde_json::Value>,
    /// Components.
    pub components: Option<serde_json::Value>,
    /// Flags.
    pub flags: Option<i64>,
    /// Mentions @everyone.
    pub mention_everyone: Option<bool>,
    /// Replaces the mentioned users.
    pub mentions: Option<Vec<UserId>>,
    /// Replaces the mentioned roles.
    pub mention_roles: Option<Vec<RoleId>>,
}

/// Which page of a channel's messages to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageQuery {
    /// The newest messages.
    Latest,
    /// The newest messages older than this one.
    Before(MessageId),
    /// The oldest messages newer than this one.
    After(MessageId),
    /// This message (if it exists) and those around it: `limit / 2` older ones, the rest from
    /// it on.
    Around(MessageId),
}

/// The column list of `messages`, in [`MessageRecord`]'s order (with `pinned` computed).
macro_rules! message_columns {
    () => {
        "id, channel_id, guild_id, author_id, webhook_id, application_id, type, content, tts, mention_everyone, flags, nonce, edited_at, reference_message_id, reference_channel_id, reference_guild_id, embeds, components, webhook_name, webhook_avatar, created_at, EXISTS (SELECT 1 FROM pins WHERE pins.message_id = messages.id) AS pinned"
    };
}
pub(crate) use message_columns;

/// Messages of channel `$1` older than `$2`, newest first, at most `$3`.
const PAGE_BEFORE: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM messages WHERE channel_id = $1 AND (flags & 64) = 0 AND id < $2 ORDER BY id DESC LIMIT $3"
);
/// Messages of channel `$1` newer than `$2`, oldest first, at most `$3`.
const PAGE_AFTER: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM messages WHERE channel_id = $1 AND (flags & 64) = 0 AND id > $2 ORDER BY id LIMIT $3"
);
/// Messages of channel `$1` from `$2` on, oldest first, at most `$3`.
const PAGE_FROM: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM messages WHERE channel_id = $1 AND (flags & 64) = 0 AND id >= $2 ORDER BY id LIMIT $3"
);

impl Store {
    /// Creates a message with its mentions and attachments atomically, and makes it the
    /// channel's `last_message_id` if it is the newest. Concurrent creates are committed
    /// together (see `message_writer`); this returns once this message is committed.
    pub async fn create_message(&self, new: &NewMessage) -> Result<MessageRecord> {
        let created = now();
        let id = new.id.as_i64();
        let (ref_msg, ref_chan, ref_guild) = match new.reference {
            Some((m, c, g)) => (Some(m.as_i64()), Some(c.as_i64()), g.map(|g| g.as_i64())),
            None => (None, None, None),
        };
        self.writers.write(self.db(), new.clone(), created).await?;
        // The row as a read would return it, built from what was written (no read-back).
        let mut mentions: Vec<i64> = new.mentions.iter().map(|u| u.as_i64()).collect();
        mentions.sort_unstable();
        mentions.dedup();
        let mut mention_roles: Vec<i64> = new.mention_roles.iter().map(|r| r.as_i64()).collect();
        mention_roles.sort_unstable();
        mention_roles.dedup();
        let mut attachments: Vec<AttachmentRecord> = new
            .attachments
            .iter()
            .map(|a| AttachmentRecord {
                id: a.id.as_i64(),
                message_id: Some(id),
                channel_id: new.channel_id.as_i64(),
                filename: a.filename.clone(),
                description: a.description.clone(),
                content_type: a.content_type.clone(),
                size: a.size,
                storage_key: a.storage_key.clone(),
                height: a.height,
                width: a.width,
                ephemeral: a.ephemeral,
                duration_secs: a.duration_secs,
                waveform: a.waveform.clone(),
                flags: a.flags,
                created_at: created,
            })
            .collect();
        attachments.sort_by_key(|a| a.id);
        Ok(MessageRecord {
            id,
            channel_id: new.channel_id.as_i64(),
            guild_id: new.guild_id.map(|g| g.as_i64()),
            author_id: new.author_id.as_i64(),
            webhook_id: new.webhook_id.map(|w| w.as_i64()),
            application_id: None,
            kind: new.kind,
            content: new.content.clone(),
            tts: new.tts,
            mention_everyone: new.mention_everyone,
            flags: new.flags,
            nonce: new.nonce.clone(),
            edited_at: None,
            reference_message_id: ref_msg,
            reference_channel_id: ref_chan,
            reference_guild_id: ref_guild,
            embeds: Json(new.embeds.clone()),
            components: Json(new.components.clone()),
            webhook_name: new.webhook_name.clone(),
            webhook_avatar: new.webhook_avatar.clone(),
            created_at: created,
            pinned: false,
            mentions,
            mention_roles,
            attachments,
        })
    }

    /// A message of a channel, with mentions and attachments.
    pub async fn message(
        &self,
        channel: ChannelId,
        id: MessageId,
    ) -> Result<Option<MessageRecord>> {
        let row: Option<MessageRecord> = dispatch!(self.db(), |pool| sqlx::query_as(concat!(
            "SELECT ",
            message_columns!(),
            " FROM messages WHERE id = $1 AND channel_id = $2"
        ))
        .bind(id.as_i64())
        .bind(channel.as_i64())
        .fetch_optional(pool)
        .await?);
        let Some(row) = row else { return Ok(None) };
        let mut rows = vec![row];
        self.load_message_extras(channel, &mut rows, false).await?;
        Ok(rows.pop())
    }

    /// A page of a channel's messages, newest first (as Discord returns them), at most `limit`.
    pub async fn messages(
        &self,
        channel: ChannelId,
        query: MessageQuery,
        limit: u32,
    ) -> Result<Vec<MessageRecord>> {
        let limit = i64::from(limit);
        let mut rows = match query {
            MessageQuery::Latest => {
                self.message_page(PAGE_BEFORE, channel, i64::MAX, limit)
                    .await?
            }
            MessageQuery::Before(m) => {
                self.message_page(PAGE_BEFORE, channel, m.as_i64(), limit)
                    .await?
            }
            MessageQuery::After(m) => {
                let mut rows = self
                    .message_page(PAGE_AFTER, channel, m.as_i64(), limit)
                    .await?;
                rows.reverse();
                rows
            }
            MessageQuery::Around(m) => {
                let older = limit / 2;
                let mut rows = self
                    .message_page(PAGE_FROM, channel, m.as_i64(), limit - older)
                    .await?;
                rows.reverse();
                rows.extend(
                    self.message_page(PAGE_BEFORE, channel, m.as_i64(), older)
                        .await?,
                );
                rows
            }
        };
        self.load_message_extras(channel, &mut rows, false).await?;
        Ok(rows)
    }

    /// Runs one of the `PAGE_*` queries (without mentions and attachments).
    async fn message_page(
        &self,
        sql: &'static str,
        channel: ChannelId,
        id: i64,
        limit: i64,
    ) -> Result<Vec<MessageRecord>> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_as(sql)
            .bind(channel.as_i64())
            .bind(id)
            .bind(limit)
            .fetch_all(pool)
            .await?))
    }

    /// The newest message `author` posted in `channel` with an id above `since` (a snowflake
    /// made from a time, so "in the last few seconds"), optionally only one with this `nonce`.
    /// Slowmode and nonce deduplication use it; the `(channel_id, id)` order bounds the scan.
    pub async fn recent_message_by(
        &self,
        channel: ChannelId,
        author: UserId,
        since: MessageId,
        nonce: Option<&str>,
    ) -> Result<Option<MessageRecord>> {
        let row: Option<MessageRecord> = dispatch!(self.db(), |pool| {
            sqlx::query_as(concat!(
            "SELECT ",
            message_columns!(),
            " FROM messages WHERE channel_id = $1 AND id > $2 AND author_id = $3 \
              AND webhook_id IS NULL AND (CAST($4 AS TEXT) IS NULL OR nonce = $4) ORDER BY id DESC LIMIT 1"
        ))
        .bind(channel.as_i64())
        .bind(since.as_i64())
        .bind(author.as_i64())
        .bind(nonce)
        .fetch_optional(pool)
        .await?
        });
        let Some(row) = row else { return Ok(None) };
        let mut rows = vec![row];
        self.load_message_extras(channel, &mut rows, false).await?;
        Ok(rows.pop())
    }

    /// Edits a message in one transaction and returns it.
    pub async fn edit_message(
        &self,
        channel: ChannelId,
        id: MessageId,
        edit: &MessageEdit,
    ) -> Result<MessageRecord> {
        let edited = (edit.content.is_some() || edit.embeds.is_some()).then(now);
        let embeds = edit.embeds.as_ref().map(Json);
        let components = edit.components.as_ref().map(Json);
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            let n = sqlx::query(
                "UPDATE messages SET \
                 content = COALESCE($3, content), \
                 embeds = CASE WHEN $4 THEN $5 ELSE embeds END, \
                 components = CASE WHEN $6 THEN $7 ELSE components END, \
                 flags = COALESCE($8, flags), \
                 mention_everyone = COALESCE($9, mention_everyone), \
                 edited_at = COALESCE($10, edited_at) \
                 WHERE id = $1 AND channel_id = $2",
            )
            .bind(id.as_i64())
            .bind(channel.as_i64())
            .bind(&edit.content)
            .bind(embeds.is_some())
            .bind(embeds)
            .bind(components.is_some())
            .bind(components)
            .bind(edit.flags)
            .bind(edit.mention_everyone)
            .bind(edited)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            if let Some(users) = &edit.mentions {
                sqlx::query("DELETE FROM message_user_mentions WHERE message_id = $1")
                    .bind(id.as_i64())
                    .execute(&mut *tx)
                    .await?;
                insert_mentions!(tx, id.as_i64(), users, std::iter::empty::<&RoleId>());
            }
            if let Some(roles) = &edit.mention_roles {
                sqlx::query("DELETE FROM message_role_mentions WHERE message_id = $1")
                    .bind(id.as_i64())
                    .execute(&mut *tx)
                    .await?;
                insert_mentions!(tx, id.as_i64(), std::iter::empty::<&UserId>(), roles);
            }
            tx.commit().await?;
            Ok::<(), StoreError>(())
        })?;
        self.message(channel, id).await?.ok_or(StoreError::NotFound)
    }

    /// Deletes a message of a channel (its mentions, attachments, reactions and pin go with it).
    pub async fn delete_message(&self, channel: ChannelId, id: MessageId) -> Result<()> {
        let n = dispatch!(self.db(), |pool| sqlx::query(
            "DELETE FROM messages WHERE id = $1 AND channel_id = $2"
        )
        .bind(id.as_i64())
        .bind(channel.as_i64())
        .execute(pool)
        .await?
        .rows_affected());
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    /// Deletes several messages of a channel in one transaction; ids that are not messages of
    /// the channel are skipped. Returns how many were deleted.
    pub async fn bulk_delete_messages(&self, channel: ChannelId, ids: &[MessageId]) -> Result<u64> {
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            let mut deleted = 0;
            for id in ids {
                deleted += sqlx::query("DELETE FROM messages WHERE id = $1 AND channel_id = $2")
                    .bind(id.as_i64())
                    .bind(channel.as_i64())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            }
            tx.commit().await?;
            Ok(deleted)
        })
    }
}
