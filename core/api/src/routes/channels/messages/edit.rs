//! `PATCH /channels/{channel.id}/messages/{message.id}`: the author edits content, embeds,
//! components, mentions and attachments; the author or MANAGE_MESSAGES toggles SUPPRESS_EMBEDS.

use accord_model::{
    AllowedMentions, AttachmentId, ChannelId, Embed, ErrorTree, Message, MessageFlags, MessageId,
    Permissions, UserId,
};
use accord_store::{MessageEdit, MessageRecord};
use axum::extract::{Path, State};
use serde::Deserialize;

use crate::error::{ApiError, ApiResult, Unknown};
use crate::extract::Auth;
use crate::extract::multipart::JsonOrMultipart;
use crate::routes::nullable;
use crate::services::access::ChannelAccess;
use crate::services::ids;
use crate::services::messages::uploads::{self, AttachmentRequest};
use crate::services::messages::{components_v2, embeds, events, mentions, resolve_mentions};
use crate::state::AppState;
use crate::views_message;

/// The Edit Message body; every field is optional and nullable.
#[derive(Debug, Default, Deserialize)]
pub struct EditMessage {
    /// New text (null clears it).
    #[serde(default, deserialize_with = "nullable")]
    pub content: Option<Option<String>>,
    /// New embeds (null clears them).
    #[serde(default, deserialize_with = "nullable")]
    pub embeds: Option<Option<Vec<Embed>>>,
    /// New flags (only SUPPRESS_EMBEDS is applied).
    #[serde(default, deserialize_with = "nullable")]
    pub flags: Option<Option<u64>>,
    /// How the new content's mentions are parsed.
    #[serde(default, deserialize_with = "nullable")]
    pub allowed_mentions: Option<Option<AllowedMentions>>,
    /// New components.
    #[serde(default, deserialize_with = "nullable")]
    pub components: Option<Option<Vec<serde_json::Value>>>,
    /// The attachments to keep (existing ids) and the metadata of new files.
    #[serde(default, deserialize_with = "nullable")]
    pub attachments: Option<Option<Vec<AttachmentRequest>>>,
}

impl EditMessage {
    /// Validates the fields every message edit shares (content, embeds, allowed mentions,
    /// components, flags) into `tree` and returns the store change they make to `current`.
    /// Attachments are the caller's business.
    pub fn fields(
        &self,
        state: &AppState,
        current: &MessageRecord,
        tree: &mut ErrorTree,
    ) -> ApiResult<MessageEdit> {
        let mut edit = MessageEdit::default();
        if let Some(content) = &self.content {
            let content = content.clone().unwrap_or_default();
            let max = state.config.limits.message_length as usize;
            if content.chars().count() > max {
                tree.add(
                    &["content"],
                    "BASE_TYPE_MAX_LENGTH",
                    format!("Must be {max} or fewer in length."),
                );
            }
            edit.content = Some(content);
        }
        if let Some(list) = &self.embeds {
            let list = embeds::validate(
                tree,
                list.clone().unwrap_or_default(),
                state.config.limits.embeds_per_message as usize,
            );
            edit.embeds =
                Some(serde_json::to_value(list).map_err(|e| ApiError::Internal(e.to_string()))?);
        }
        if let Some(Some(a)) = &self.allowed_mentions {
            mentions::validate(tree, a);
        }
        // IS_COMPONENTS_V2 can be set by an edit, never removed (message.mdx, Edit Message).
        let v2_bit = MessageFlags::IS_COMPONENTS_V2.bits();
        let was_v2 = components_v2::is_v2(current.flags as u64);
        let v2 = was_v2 || self.flags.flatten().is_some_and(components_v2::is_v2);
        if let Some(c) = &self.components {
            let mut list = c.clone().unwrap_or_default();
            if v2 {
                components_v2::validate(tree, &mut list);
                let files: Vec<components_v2::MediaFile<'_>> = current
                    .attachments
                    .iter()
                    .map(components_v2::MediaFile::of_record)
                    .collect();
                components_v2::link_media(tree, &mut list, &files);
            } else {
                crate::services::messages::components::validate(tree, &list);
            }
            edit.components = Some(serde_json::Value::Array(list));
        } else if v2 && !was_v2 {
            // An upgrade brings its components.
            tree.add(
                &["components"],
                "BASE_TYPE_REQUIRED",
                "This field is required",
            );
        }
        if v2 {
            // The content and embeds a v2 message ends up with: the new ones, or those it had.
            let content = match &self.content {
                Some(c) => c.clone().unwrap_or_default(),
                None => current.content.clone(),
            };
            let embeds = match &self.embeds {
                Some(e) => e.as_ref().map_or(0, Vec::len),
                None => current.embeds.0.as_array().map_or(0, Vec::len),
            };
            components_v2::forbid_legacy_fields(tree, Some(&content), embeds);
        }
        if let Some(flags) = self.flags {
            // Only SUPPRESS_EMBEDS can be changed and IS_COMPONENTS_V2 set; other bits are
            // ignored, as Discord does.
            let suppress = MessageFlags::SUPPRESS_EMBEDS.bits();
            let kept = current.flags as u64 & !suppress;
            let added = flags.unwrap_or(0) & (suppress | v2_bit);
            edit.flags = Some((kept | added) as i64);
        }
        Ok(edit)
    }

    /// Whether the body changes something only the author may change.
    fn touches_author_fields(&self, has_files: bool) -> bool {
        self.content.is_some()
            || self.embeds.is_some()
            || self.allowed_mentions.is_some()
            || self.components.is_some()
            || self.attachments.is_some()
            || has_files
    }
}

/// Edit a message.
#[utoipa::path(patch, path = "/channels/{channel_id}/messages/{message_id}", tag = "messages",
    params(("channel_id" = String, Path), ("message_id" = String, Path)),
    responses((status = 200, description = "The edited message"), (status = 400, description = "Invalid form body (50035), empty message (50006)"),
        (status = 403, description = "Another user's message (50005), missing permissions (50013)"), (status = 404, description = "Unknown channel (10003) or message (10008)")))]
pub async fn patch(
    State(state): State<AppState>,
    auth: Auth,
    Path((channel_id, message_id)): Path<(String, String)>,
    body: JsonOrMultipart<EditMessage>,
) -> ApiResult<axum::Json<Message>> {
    let channel_id = ids::parse(&channel_id, Unknown::Channel)?;
    let access = ChannelAccess::load(&state, channel_id, auth.user_id).await?;
    crate::services::threads::require_active(&access)?;
    if access.channel.is_thread()
        && access.channel.locked
        && !access.permissions.contains(Permissions::MANAGE_THREADS)
    {
        return Err(ApiError::ThreadLocked);
    }
    let message_id = ids::parse(&message_id, Unknown::Message)?;
    let current = state
        .store
        .message(channel_id, message_id)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Message))?;
    let JsonOrMultipart {
        payload: body,
        files,
    } = body;
    let is_author = current.webhook_id.is_none() && current.author_id == auth.user_id.as_i64();
    if body.touches_author_fields(!files.is_empty()) && !is_author {
        return Err(ApiError::NotAuthor);
    }
    if body.flags.is_some() && !is_author {
        if access.guild.is_none() {
            return Err(ApiError::NotAuthor);
        }
        access.require(Permissions::MANAGE_MESSAGES)?;
    }

    let mut tree = ErrorTree::new();
    let mut edit = body.fields(&state, &current, &mut tree)?;
    // Attachments: the listed existing ones stay, new files are added.
    let metadata: Vec<AttachmentRequest> = body.attachments.clone().flatten().unwrap_or_default();
    let keep: Vec<AttachmentId> = match &body.attachments {
        Some(_) => current
            .attachments
            .iter()
            .filter(|a| metadata.iter().any(|m| m.id.get() == a.id as u64))
            .map(|a| AttachmentId::from_i64(a.id))
            .collect(),
        None => current
            .attachments
            .iter()
            .map(|a| AttachmentId::from_i64(a.id))
            .collect(),
    };
    let new_files = files.len();
    let limit = state.config.limits.attachments_per_message;
    if new_files > 0 && keep.len() + new_files > limit as usize {
        return Err(ApiError::Maximum(crate::error::Maximum::Attachments, limit));
    }
    let prepared = uploads::prepare(
        &state,
        &mut tree,
        access.permissions,
        channel_id,
        files,
        &metadata,
    )?;
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    // The message must not end up empty.
    let content_after = edit.content.as_deref().unwrap_or(&current.content);
    let embeds_after = edit.embeds.as_ref().unwrap_or(&current.embeds.0);
    let components_after = edit.components.as_ref().unwrap_or(&current.components.0);
    let is_empty_array = |v: &serde_json::Value| v.as_array().is_none_or(Vec::is_empty);
    if content_after.trim().is_empty()
        && is_empty_array(embeds_after)
        && is_empty_array(components_after)
        && keep.is_empty()
        && prepared.is_empty()
    {
        return Err(ApiError::EmptyMessage);
    }
    // New content: mentions are rebuilt from it.
    if let Some(content) = &edit.content {
        // A reply keeps pinging the replied-to author if it did.
        let replied = match (current.reference_channel_id, current.reference_message_id) {
            (Some(c), Some(m)) if current.kind == 19 => state
                .store
                .message(ChannelId::from_i64(c), MessageId::from_i64(m))
                .await?
                .map(|r| UserId::from_i64(r.author_id))
                .filter(|a| current.mentions.contains(&a.as_i64())),
            _ => None,
        };
        let resolved = resolve_mentions(
            &state,
            &access,
            content,
            body.allowed_mentions.clone().flatten().as_ref(),
            replied,
        )
        .await?;
        edit.mention_everyone = Some(resolved.everyone);
        edit.mentions = Some(resolved.users);
        edit.mention_roles = Some(resolved.roles);
    }

    let attachments_change = body.attachments.is_some() || !prepared.is_empty();
    if attachments_change {
        uploads::store(&state, &prepared).await?;
    }
    let record = match state
        .store
        .edit_message(channel_id, message_id, &edit)
        .await
    {
        Ok(r) => r,
        Err(accord_store::StoreError::NotFound) => {
            uploads::discard(&state, &prepared).await;
            return Err(ApiError::Unknown(Unknown::Message));
        }
        Err(e) => {
            uploads::discard(&state, &prepared).await;
            return Err(e.into());
        }
    };
    let record = if attachments_change {
        let rows: Vec<_> = prepared.iter().map(|p| p.row.clone()).collect();
        let removed = state
            .store
            .replace_attachments(channel_id, message_id, &keep, &rows)
            .await?;
        let blobs = &state.blobs;
        for a in removed {
            let _ = blobs.delete(&a.storage_key).await;
        }
        state
            .store
            .message(channel_id, message_id)
            .await?
            .unwrap_or(record)
    } else {
        record
    };
    let view = views_message::message(&state, &record).await?;
    events::message_update(&state, &access, &view).await?;
    Ok(axum::Json(view))
}
