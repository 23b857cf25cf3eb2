//! Interactions users trigger (their tokens' digests and whether the application answered) and the
//! interaction each response message answers.

use accord_model::{InteractionId, MessageId};

use crate::{Result, Store, dispatch};

/// An interaction row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InteractionRecord {
    /// Snowflake.
    pub id: i64,
    /// The application it is for.
    pub application_id: i64,
    /// Interaction type.
    pub kind: i32,
    /// SHA-256 digest (hex) of the continuation token; the token itself is not stored.
    pub token_hash: String,
    /// Who triggered it.
    pub user_id: i64,
    /// Where.
    pub guild_id: Option<i64>,
    /// Where.
    pub channel_id: Option<i64>,
    /// The invoking gateway session, if the client named it.
    pub session_id: Option<String>,
    /// The client's nonce.
    pub nonce: Option<String>,
    /// `interaction_metadata` and `interaction` of its response messages, as JSON.
    pub metadata: String,
    /// When it was created (Unix ms).
    pub created_ms: i64,
    /// The callback type of the first response; 0 before any.
    pub responded: i32,
    /// The message of the first response, once there is one.
    pub original_message_id: Option<i64>,
    /// The modal shown in answer (callback 9), as JSON.
    pub modal: Option<String>,
}

impl InteractionRecord {
    /// The typed id.
    pub fn interaction_id(&self) -> InteractionId {
        InteractionId::from_i64(self.id)
    }
}

macro_rules! interaction_columns {
    () => {
        "id, application_id, kind, token_hash, user_id, guild_id, channel_id, session_id, nonce, metadata, created_ms, responded, original_message_id, modal"
    };
}

impl Store {
    /// Stores a new interaction.
    pub async fn create_interaction(&self, row: &InteractionRecord) -> Result<()> {
        dispatch!(self.db(), |pool| {
            sqlx::query(
                "INSERT INTO interactions (id, application_id, kind, token_hash, user_id, guild_id, channel_id, session_id, nonce, metadata, created_ms, responded, original_message_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(row.id)
            .bind(row.application_id)
            .bind(row.kind)
            .bind(&row.token_hash)
            .bind(row.user_id)
            .bind(row.guild_id)
            .bind(row.channel_id)
            .bind(&row.session_id)
            .bind(&row.nonce)
            .bind(&row.metadata)
            .bind(row.created_ms)
            .bind(row.responded)
            .bind(row.original_message_id)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    /// An interaction by id.
    pub async fn interaction(&self, id: InteractionId) -> Result<Option<InteractionRecord>> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_as(concat!(
            "SELECT ",
            interaction_columns!(),
            " FROM interactions WHERE id = $1"
        ))
        .bind(id.as_i64())
        .fetch_optional(pool)
        .await?))
    }

    /// The interaction of `application` whose token has the digest `token_hash`.
    pub async fn interaction_by_token_hash(
        &self,
        application: i64,
        token_hash: &str,
    ) -> Result<Option<InteractionRecord>> {
        dispatch!(self.db(), |pool| Ok(sqlx::query_as(concat!(
            "SELECT ",
            interaction_columns!(),
            " FROM interactions WHERE application_id = $1 AND token_hash = $2"
        ))
        .bind(application)
        .bind(token_hash)
        .fetch_optional(pool)
        .await?))
    }

    /// Records the first response (callback type `kind`) unless there was one already, or the
    /// interaction is older than `not_before_ms`; true when this call recorded it.
    pub async fn claim_interaction_response(
        &self,
        id: InteractionId,
        kind: i32,
        not_before_ms: i64,
    ) -> Result<bool> {
        dispatch!(self.db(), |pool| {
            Ok(sqlx::query(
            "UPDATE interactions SET responded = $2 WHERE id = $1 AND responded = 0 AND created_ms >= $3"
        )
        .bind(id.as_i64())
        .bind(kind)
        .bind(not_before_ms)
        .execute(pool)
        .await?
        .rows_affected()
            == 1)
        })
    }

    /// Forgets a first response that could not be delivered (its message was refused), so the
    /// application may answer again within the window.
    pub async fn release_interaction_response(&self, id: InteractionId) -> Result<()> {
        dispatch!(self.db(), |pool| {
            sqlx::query("UPDATE interactions SET responded = 0 WHERE id = $1")
                .bind(id.as_i64())
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// Records the modal shown in answer to an interaction.
    pub async fn set_interaction_modal(&self, id: InteractionId, modal: &str) -> Result<()> {
        dispatch!(self.db(), |pool| {
            sqlx::query("UPDATE interactions SET modal = $2 WHERE id = $1")
                .bind(id.as_i64())
                .bind(modal)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// Sets (or clears) the message of the first response.
    pub async fn set_original_message(
        &self,
        id: InteractionId,
        message: Option<MessageId>,
    ) -> Result<()> {
        dispatch!(self.db(), |pool| {
            sqlx::query("UPDATE interactions SET original_message_id = $2 WHERE id = $1")
                .bind(id.as_i64())
                .bind(message.map(MessageId::as_i64))
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// Links a response message to its interaction with the JSON it shows about it.
    pub async fn add_message_interaction(
        &self,
        message: MessageId,
        interaction: InteractionId,
        data: &str,
    ) -> Result<()> {
        dispatch!(self.db(), |pool| {
            sqlx::query(
                "INSERT INTO message_interactions (message_id, interaction_id, data) VALUES ($1, $2, $3)",
            )
            .bind(message.as_i64())
            .bind(interaction.as_i64())
            .bind(data)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    /// The interaction JSON of each of `messages` that answers one.
    pub async fn message_interactions(&self, messages: &[i64]) -> Result<Vec<(i64, String)>> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        // One query per message keeps the SQL the same on both backends; pages hold few
        // interaction responses.
        for id in messages {
            let row: Option<String> = dispatch!(self.db(), |pool| sqlx::query_scalar(
                "SELECT data FROM message_interactions WHERE message_id = $1"
            )
            .bind(id)
            .fetch_optional(pool)
            .await?);
            if let Some(data) = row {
                out.push((*id, data));
            }
        }
        Ok(out)
    }
}
