//! Attachments: the files of messages, written with their message and read with it, and the
//! files of interactions' ATTACHMENT options, written alone.

use accord_model::{AttachmentId, ChannelId, MessageId};
use chrono::{DateTime, Utc};

use crate::{Result, Store, StoreError, dispatch, now};

/// An attachment row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AttachmentRecord {
    /// Snowflake.
    pub id: i64,
    /// Message it belongs to.
    pub message_id: Option<i64>,
    /// Channel it was uploaded to.
    pub channel_id: i64,
    /// File name.
    pub filename: String,
    /// Alt text.
    pub description: Option<String>,
    /// MIME type.
    pub content_type: Option<String>,
    /// Size in bytes.
    pub size: i64,
    /// Key of the file in the CDN's storage.
    pub storage_key: String,
    /// Image height.
    pub height: Option<i32>,
    /// Image width.
    pub width: Option<i32>,
    /// Ephemeral.
    pub ephemeral: bool,
    /// Voice message length.
    pub duration_secs: Option<f64>,
    /// Voice message waveform (base64).
    pub waveform: Option<String>,
    /// Attachment flags.
    pub flags: i32,
    /// Upload time.
    pub created_at: DateTime<Utc>,
}

/// An attachment written with its message.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    /// Snowflake.
    pub id: AttachmentId,
    /// File name.
    pub filename: String,
    /// Alt text.
    pub description: Option<String>,
    /// MIME type.
    pub content_type: Option<String>,
    /// Size in bytes.
    pub size: i64,
    /// Storage key.
    pub storage_key: String,
    /// Image height.
    pub height: Option<i32>,
    /// Image width.
    pub width: Option<i32>,
    /// Ephemeral.
    pub ephemeral: bool,
    /// Voice message length.
    pub duration_secs: Option<f64>,
    /// Voice message waveform.
    pub waveform: Option<String>,
    /// Flags.
    pub flags: i32,
}

/// The column list of `attachments`, in [`AttachmentRecord`]'s order.
macro_rules! attachment_columns {
    () => {
        "id, message_id, channel_id, filename, description, content_type, size, storage_key, height, width, ephemeral, duration_secs, waveform, flags, created_at"
    };
}
pub(crate) use attachment_columns;

/// Inserts the [`NewAttachment`] `$a` of message `$message` in channel `$channel` on `$conn`.
macro_rules! insert_attachment {
    ($conn:expr, $a:expr, $message:expr, $channel:expr, $created:expr) => {{
        let a: &$crate::attachments::NewAttachment = $a;
        sqlx::query(concat!(
            "INSERT INTO attachments (",
            attachment_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        ))
        .bind(a.id.as_i64())
        .bind($message)
        .bind($channel)
        .bind(&a.filename)
        .bind(&a.description)
        .bind(&a.content_type)
        .bind(a.size)
        .bind(&a.storage_key)
        .bind(a.height)
        .bind(a.width)
        .bind(a.ephemeral)
        .bind(a.duration_secs)
        .bind(&a.waveform)
        .bind(a.flags)
        .bind($created)
        .execute(&mut *$conn)
        .await?;
    }};
}
pub(crate) use insert_attachment;

impl Store {
    /// An attachment by id (for the CDN, which serves it by id and file name).
    pub async fn attachment(&self, id: AttachmentId) -> Result<Option<AttachmentRecord>> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_as(concat!(
            "SELECT ",
            attachment_columns!(),
            " FROM attachments WHERE id = $1"
        ))
        .bind(id.as_i64())
        .fetch_optional(pool)
        .await?))
    }

    /// Stores attachments uploaded to `channel` without a message (the files of an
    /// interaction's ATTACHMENT options) and returns their rows.
    pub async fn add_loose_attachments(
        &self,
        channel: ChannelId,
        add: &[NewAttachment],
    ) -> Result<Vec<AttachmentRecord>> {
        let created = now();
        let c = channel.as_i64();
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            for a in add {
                insert_attachment!(tx, a, None::<i64>, c, created);
            }
            tx.commit().await?;
            Ok::<(), StoreError>(())
        })?;
        Ok(add
            .iter()
            .map(|a| AttachmentRecord {
                id: a.id.as_i64(),
                message_id: None,
                channel_id: c,
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
            .collect())
    }

    /// Sets the attachments of a message of `channel` to those of `keep` it has, plus `add`, in
    /// one transaction (a message edit's `attachments` and new files). Returns the removed
    /// attachments, whose files the caller deletes.
    pub async fn replace_attachments(
        &self,
        channel: ChannelId,
        message: MessageId,
        keep: &[AttachmentId],
        add: &[NewAttachment],
    ) -> Result<Vec<AttachmentRecord>> {
        let created = now();
        let (m, c) = (message.as_i64(), channel.as_i64());
        dispatch!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            let current: Vec<AttachmentRecord> = sqlx::query_as(concat!(
                "SELECT ",
                attachment_columns!(),
                " FROM attachments WHERE message_id = $1 AND channel_id = $2 ORDER BY id"
            ))
            .bind(m)
            .bind(c)
            .fetch_all(&mut *tx)
            .await?;
            let removed: Vec<AttachmentRecord> = current
                .into_iter()
                .filter(|a| !keep.iter().any(|k| k.as_i64() == a.id))
                .collect();
            for a in &removed {
                sqlx::query("DELETE FROM attachments WHERE id = $1")
                    .bind(a.id)
                    .execute(&mut *tx)
                    .await?;
            }
            for a in add {
                insert_attachment!(tx, a, m, c, created);
            }
            tx.commit().await?;
            Ok::<Vec<AttachmentRecord>, StoreError>(removed)
        })
    }
}
