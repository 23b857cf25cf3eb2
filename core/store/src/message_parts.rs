//! The parts of a message kept in tables of their own (user mentions, role mentions,
//! attachments): writing the mentions, and loading every part of a page of messages at once.

use std::collections::HashMap;

use accord_model::ChannelId;

use crate::attachments::{AttachmentRecord, attachment_columns};
use crate::messages::MessageRecord;
use crate::{Result, Store, dispatch};

/// A mention row: message id, user or role id, 0 for a user or 1 for a role.
type Mention = (i64, i64, i32);

/// The queries loading the mentions (as [`Mention`]s, ordered) and attachments of messages with
/// ids in `$2..=$3` and in `$among`, a subquery over channel `$1`.
macro_rules! extras_sql {
    ($among:literal) => {
        (
            concat!(
                "SELECT message_id, user_id, CAST(0 AS INTEGER) FROM message_user_mentions \
                 WHERE message_id BETWEEN $2 AND $3 AND message_id IN ",
                $among,
                " UNION ALL SELECT message_id, role_id, CAST(1 AS INTEGER) FROM message_role_mentions \
                 WHERE message_id BETWEEN $2 AND $3 AND message_id IN ",
                $among,
                " ORDER BY 1, 3, 2"
            ),
            concat!(
                "SELECT ",
                attachment_columns!(),
                " FROM attachments WHERE channel_id = $1 AND message_id BETWEEN $2 AND $3 AND message_id IN ",
                $among,
                " ORDER BY id"
            ),
        )
    };
}

/// Inserts the user and role mentions of message `$id` on `$conn`.
macro_rules! insert_mentions {
    ($conn:expr, $id:expr, $users:expr, $roles:expr) => {{
        for user in $users {
            sqlx::query("INSERT INTO message_user_mentions (message_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind($id)
                .bind(user.as_i64())
                .execute(&mut *$conn)
                .await?;
        }
        for role in $roles {
            sqlx::query("INSERT INTO message_role_mentions (message_id, role_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind($id)
                .bind(role.as_i64())
                .execute(&mut *$conn)
                .await?;
        }
    }};
}
pub(crate) use insert_mentions;

impl Store {
    /// Fills in the mentions and attachments of `rows`, messages of `channel` (all pinned if
    /// `pinned_only`, which narrows the queries), with two queries over their id range.
    pub(crate) async fn load_message_extras(
        &self,
        channel: ChannelId,
        rows: &mut [MessageRecord],
        pinned_only: bool,
    ) -> Result<()> {
        let Some(low) = rows.iter().map(|m| m.id).min() else {
            return Ok(());
        };
        let high = rows.iter().map(|m| m.id).max().unwrap_or(low);
        let c = channel.as_i64();
        let (mentions, attachments): (Vec<Mention>, Vec<AttachmentRecord>) =
            dispatch!(self.db(), |pool| {
                let (mentions_sql, attachments_sql) = if pinned_only {
                    extras_sql!("(SELECT message_id FROM pins WHERE channel_id = $1)")
                } else {
                    extras_sql!("(SELECT id FROM messages WHERE channel_id = $1)")
                };
                let mentions = sqlx::query_as(mentions_sql)
                    .bind(c)
                    .bind(low)
                    .bind(high)
                    .fetch_all(pool)
                    .await?;
                let attachments = sqlx::query_as(attachments_sql)
                    .bind(c)
                    .bind(low)
                    .bind(high)
                    .fetch_all(pool)
                    .await?;
                (mentions, attachments)
            });
        let index: HashMap<i64, usize> = rows.iter().enumerate().map(|(i, m)| (m.id, i)).collect();
        for (message, target, kind) in mentions {
            if let Some(&i) = index.get(&message) {
                let list = if kind == 0 {
                    &mut rows[i].mentions
                } else {
                    &mut rows[i].mention_roles
                };
                list.push(target);
            }
        }
        for a in attachments {
            if let Some(&i) = a.message_id.and_then(|m| index.get(&m)) {
                rows[i].attachments.push(a);
            }
        }
        Ok(())
    }
}
