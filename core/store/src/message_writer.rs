//! Group commit for new messages. Concurrent creates are queued to a few writer tasks, sharded by
//! channel (so no two writers ever touch the same channel row and their transactions cannot
//! deadlock or queue on it), and each writer writes everything that queued up while its previous
//! batch was committing in one go: on PostgreSQL one statement (messages, mentions and the
//! channels' `last_message_id` through `UNNEST` arrays), on SQLite one transaction. A caller is
//! answered only after the batch holding its message committed; if a batch fails, its messages
//! are written again one by one so each caller gets its own outcome.

use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};

use crate::attachments::{attachment_columns, insert_attachment};
use crate::message_parts::insert_mentions;
use crate::messages::NewMessage;
use crate::{Db, Result, StoreError};

/// Most messages written in one batch.
const MAX_BATCH: usize = 256;
/// Queued messages per writer before senders wait (back-pressure, not a drop).
const QUEUE: usize = 4096;

/// One message to write, created at `created`, and where to report the outcome.
struct Job {
    message: NewMessage,
    created: DateTime<Utc>,
    done: oneshot::Sender<Result<()>>,
}

/// The writer tasks of one store, started on first use.
#[derive(Debug, Clone)]
pub(crate) struct MessageWriters {
    count: usize,
    shards: Arc<OnceLock<Vec<mpsc::Sender<Job>>>>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("id", &self.message.id).finish()
    }
}

impl MessageWriters {
    /// `count` writers (at least one; SQLite always uses one, it has a single writer anyway).
    pub(crate) fn new(db: &Db, count: usize) -> Self {
        let count = match db {
            Db::Postgres(_) => count.max(1),
            Db::Sqlite(_) => 1,
        };
        Self {
            count,
            shards: Arc::new(OnceLock::new()),
        }
    }

    /// Writes `message`, returning once it is committed.
    pub(crate) async fn write(
        &self,
        db: &Db,
        message: NewMessage,
        created: DateTime<Utc>,
    ) -> Result<()> {
        let shards = self.shards.get_or_init(|| {
            (0..self.count)
                .map(|_| {
                    let (tx, rx) = mpsc::channel(QUEUE);
                    tokio::spawn(run(db.clone(), rx));
                    tx
                })
                .collect()
        });
        let shard = message.channel_id.get() as usize % shards.len();
        let (done, outcome) = oneshot::channel();
        let job = Job {
            message,
            created,
            done,
        };
        match shards[shard].send(job).await {
            Ok(()) => outcome
                .await
                .unwrap_or_else(|_| Err(StoreError::Database(sqlx::Error::WorkerCrashed))),
            // The writer is gone (its runtime shut down): write directly.
            Err(mpsc::error::SendError(job)) => {
                write_batch(db, &[(&job.message, job.created)]).await
            }
        }
    }
}

/// A writer: takes whatever is queued (up to [`MAX_BATCH`]), writes it, answers, repeats.
async fn run(db: Db, mut rx: mpsc::Receiver<Job>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let rows: Vec<(&NewMessage, DateTime<Utc>)> =
            batch.iter().map(|j| (&j.message, j.created)).collect();
        match write_batch(&db, &rows).await {
            Ok(()) => {
                for job in batch.drain(..) {
                    let _ = job.done.send(Ok(()));
                }
            }
            Err(e) if batch.len() == 1 => {
                if let Some(job) = batch.pop() {
                    let _ = job.done.send(Err(e));
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, size = batch.len(), "message batch failed; writing one by one");
                for job in batch.drain(..) {
                    let outcome = write_batch(&db, &[(&job.message, job.created)]).await;
                    let _ = job.done.send(outcome);
                }
            }
        }
    }
}

/// Column arrays of a batch, one entry per message (PostgreSQL `UNNEST` parameters).
#[derive(Default)]
struct Columns {
    id: Vec<i64>,
    channel: Vec<i64>,
    guild: Vec<Option<i64>>,
    author: Vec<i64>,
    webhook: Vec<Option<i64>>,
    kind: Vec<i32>,
    content: Vec<String>,
    tts: Vec<bool>,
    everyone: Vec<bool>,
    flags: Vec<i64>,
    nonce: Vec<Option<String>>,
    ref_message: Vec<Option<i64>>,
    ref_channel: Vec<Option<i64>>,
    ref_guild: Vec<Option<i64>>,
    embeds: Vec<String>,
    components: Vec<String>,
    webhook_name: Vec<Option<String>>,
    webhook_avatar: Vec<Option<String>>,
    created: Vec<DateTime<Utc>>,
    /// (message, user) pairs.
    user_mentions: (Vec<i64>, Vec<i64>),
    /// (message, role) pairs.
    role_mentions: (Vec<i64>, Vec<i64>),
    /// (channel, newest message) pairs, one per channel.
    last: (Vec<i64>, Vec<i64>),
    /// Messages per channel, in `last`'s order (thread counters).
    counts: Vec<i32>,
}

impl Columns {
    fn of(rows: &[(&NewMessage, DateTime<Utc>)]) -> Result<Self> {
        let mut c = Columns::default();
        let mut last: std::collections::BTreeMap<i64, (i64, i32)> =
            std::collections::BTreeMap::new();
        for (m, created) in rows {
            let id = m.id.as_i64();
            let channel = m.channel_id.as_i64();
            c.id.push(id);
            c.channel.push(channel);
            c.guild.push(m.guild_id.map(|g| g.as_i64()));
            c.author.push(m.author_id.as_i64());
            c.webhook.push(m.webhook_id.map(|w| w.as_i64()));
            c.kind.push(m.kind);
            c.content.push(m.content.clone());
            c.tts.push(m.tts);
            c.everyone.push(m.mention_everyone);
            c.flags.push(m.flags);
            c.nonce.push(m.nonce.clone());
            let (rm, rc, rg) = match m.reference {
                Some((rm, rc, rg)) => {
                    (Some(rm.as_i64()), Some(rc.as_i64()), rg.map(|g| g.as_i64()))
                }
                None => (None, None, None),
            };
            c.ref_message.push(rm);
            c.ref_channel.push(rc);
            c.ref_guild.push(rg);
            c.embeds.push(to_json(&m.embeds)?);
            c.components.push(to_json(&m.components)?);
            c.webhook_name.push(m.webhook_name.clone());
            c.webhook_avatar.push(m.webhook_avatar.clone());
            c.created.push(*created);
            let mut users: Vec<i64> = m.mentions.iter().map(|u| u.as_i64()).collect();
            users.sort_unstable();
            users.dedup();
            for u in users {
                c.user_mentions.0.push(id);
                c.user_mentions.1.push(u);
            }
            let mut roles: Vec<i64> = m.mention_roles.iter().map(|r| r.as_i64()).collect();
            roles.sort_unstable();
            roles.dedup();
            for r in roles {
                c.role_mentions.0.push(id);
                c.role_mentions.1.push(r);
            }
            if in_history(m) {
                let (newest, n) = last.entry(channel).or_insert((id, 0));
                *newest = (*newest).max(id);
                *n += 1;
            }
        }
        for (channel, (newest, n)) in last {
            c.last.0.push(channel);
            c.last.1.push(newest);
            c.counts.push(n);
        }
        Ok(c)
    }
}

/// Whether a message joins its channel's history: ephemeral ones (flag 64, interaction responses
/// seen only by their invoker) do not, so they move neither the channel's `last_message_id` nor
/// its message counters (and so no one's unread state).
fn in_history(m: &NewMessage) -> bool {
    m.flags & EPHEMERAL == 0
}

/// MESSAGE_FLAGS EPHEMERAL (developers/resources/message.mdx).
const EPHEMERAL: i64 = 1 << 6;

fn to_json(v: &serde_json::Value) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Database(sqlx::Error::Encode(Box::new(e))))
}

/// Messages, their mentions and the channels' `last_message_id` in one PostgreSQL statement:
/// the data-modifying parts see one snapshot, and the foreign-key checks of the mention rows run
/// at the end of the statement, after the messages are in.
const PG_BATCH: &str = "WITH m AS (\
    INSERT INTO messages (id, channel_id, guild_id, author_id, webhook_id, type, content, tts, \
    mention_everyone, flags, nonce, reference_message_id, reference_channel_id, reference_guild_id, \
    embeds, components, webhook_name, webhook_avatar, created_at) \
    SELECT id, channel_id, guild_id, author_id, webhook_id, type, content, tts, mention_everyone, \
    flags, nonce, rm, rc, rg, embeds::jsonb, components::jsonb, wn, wa, created_at \
    FROM UNNEST($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], $6::int4[], $7::text[], \
    $8::bool[], $9::bool[], $10::int8[], $11::text[], $12::int8[], $13::int8[], $14::int8[], \
    $15::text[], $16::text[], $17::text[], $18::text[], $19::timestamptz[]) \
    AS t(id, channel_id, guild_id, author_id, webhook_id, type, content, tts, mention_everyone, \
    flags, nonce, rm, rc, rg, embeds, components, wn, wa, created_at)\
), um AS (\
    INSERT INTO message_user_mentions (message_id, user_id) \
    SELECT * FROM UNNEST($20::int8[], $21::int8[]) ON CONFLICT DO NOTHING\
), rm AS (\
    INSERT INTO message_role_mentions (message_id, role_id) \
    SELECT * FROM UNNEST($22::int8[], $23::int8[]) ON CONFLICT DO NOTHING\
) \
UPDATE channels SET last_message_id = GREATEST(COALESCE(channels.last_message_id, 0), v.newest), \
message_count = channels.message_count + v.n, total_message_sent = channels.total_message_sent + v.n \
FROM UNNEST($24::int8[], $25::int8[], $26::int4[]) AS v(id, newest, n) \
WHERE channels.id = v.id";

/// Writes `rows` atomically.
pub(crate) async fn write_batch(db: &Db, rows: &[(&NewMessage, DateTime<Utc>)]) -> Result<()> {
    let has_attachments = rows.iter().any(|(m, _)| !m.attachments.is_empty());
    match db {
        Db::Postgres(pool) => {
            let c = Columns::of(rows)?;
            let query = sqlx::query(PG_BATCH)
                .bind(c.id)
                .bind(c.channel)
                .bind(c.guild)
                .bind(c.author)
                .bind(c.webhook)
                .bind(c.kind)
                .bind(c.content)
                .bind(c.tts)
                .bind(c.everyone)
                .bind(c.flags)
                .bind(c.nonce)
                .bind(c.ref_message)
                .bind(c.ref_channel)
                .bind(c.ref_guild)
                .bind(c.embeds)
                .bind(c.components)
                .bind(c.webhook_name)
                .bind(c.webhook_avatar)
                .bind(c.created)
                .bind(c.user_mentions.0)
                .bind(c.user_mentions.1)
                .bind(c.role_mentions.0)
                .bind(c.role_mentions.1)
                .bind(c.last.0)
                .bind(c.last.1)
                .bind(c.counts);
            if has_attachments {
                let mut tx = pool.begin().await?;
                query.execute(&mut *tx).await?;
                for (m, created) in rows {
                    for a in &m.attachments {
                        insert_attachment!(tx, a, m.id.as_i64(), m.channel_id.as_i64(), *created);
                    }
                }
                tx.commit().await?;
            } else {
                query.execute(pool).await?;
            }
        }
        Db::Sqlite(pool) => {
            let mut tx = pool.begin().await?;
            for (m, created) in rows {
                let id = m.id.as_i64();
                let (rm, rc, rg) = match m.reference {
                    Some((rm, rc, rg)) => {
                        (Some(rm.as_i64()), Some(rc.as_i64()), rg.map(|g| g.as_i64()))
                    }
                    None => (None, None, None),
                };
                sqlx::query(
                    "INSERT INTO messages (id, channel_id, guild_id, author_id, webhook_id, type, content, tts, \
                     mention_everyone, flags, nonce, reference_message_id, reference_channel_id, reference_guild_id, \
                     embeds, components, webhook_name, webhook_avatar, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
                )
                .bind(id)
                .bind(m.channel_id.as_i64())
                .bind(m.guild_id.map(|g| g.as_i64()))
                .bind(m.author_id.as_i64())
                .bind(m.webhook_id.map(|w| w.as_i64()))
                .bind(m.kind)
                .bind(&m.content)
                .bind(m.tts)
                .bind(m.mention_everyone)
                .bind(m.flags)
                .bind(&m.nonce)
                .bind(rm)
                .bind(rc)
                .bind(rg)
                .bind(sqlx::types::Json(&m.embeds))
                .bind(sqlx::types::Json(&m.components))
                .bind(&m.webhook_name)
                .bind(&m.webhook_avatar)
                .bind(*created)
                .execute(&mut *tx)
                .await?;
                insert_mentions!(tx, id, &m.mentions, &m.mention_roles);
                for a in &m.attachments {
                    insert_attachment!(tx, a, id, m.channel_id.as_i64(), *created);
                }
                if !in_history(m) {
                    continue;
                }
                sqlx::query(
                    "UPDATE channels SET last_message_id = MAX(COALESCE(last_message_id, 0), $2), \
                     message_count = message_count + 1, total_message_sent = total_message_sent + 1 \
                     WHERE id = $1",
                )
                .bind(m.channel_id.as_i64())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        }
    }
    Ok(())
}
