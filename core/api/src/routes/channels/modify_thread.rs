//! `PATCH /channels/{thread.id}` for threads (threads.mdx, "Editing & Deleting Threads"): name,
//! archive state, duration and a forum post's tags by the creator or MANAGE_THREADS (moderated
//! tags by MANAGE_THREADS only), unarchiving by members, lock, slow mode and flags by
//! MANAGE_THREADS; THREAD_UPDATE and an audit log entry.

use accord_model::{Channel, ChannelId, ErrorTree, Permissions};
use accord_store::ThreadPatch;

use super::modify::ModifyChannelBody;
use crate::error::{ApiError, ApiResult};
use crate::services::access::ChannelAccess;
use crate::services::{forum, threads};
use crate::state::AppState;
use crate::views_thread::thread;

/// Applies `body` to the thread of `access` as its caller.
pub async fn patch(
    state: &AppState,
    access: &ChannelAccess,
    body: &ModifyChannelBody,
    reason: Option<&str>,
) -> ApiResult<axum::Json<Channel>> {
    let t = &access.channel;
    let guild = access.guild()?;
    let moderator = access.permissions.contains(Permissions::MANAGE_THREADS);
    let creator = t.owner_id == Some(guild.user_id.as_i64());

    let mut tree = ErrorTree::new();
    let name = match &body.name {
        Some(Some(n)) => {
            threads::check_name(&mut tree, &["name"], n);
            Some(n.trim().to_owned())
        }
        Some(None) => {
            tree.add(&["name"], "BASE_TYPE_REQUIRED", "This field is required");
            None
        }
        None => None,
    };
    if let Some(d) = body.auto_archive_duration {
        threads::check_duration(&mut tree, &["auto_archive_duration"], d);
    }
    let slowmode = body.fields.rate_limit_per_user.map(|r| r.unwrap_or(0));
    if let Some(r) = slowmode {
        threads::check_slowmode(&mut tree, &["rate_limit_per_user"], r);
    }
    // A forum or media post's tags: its parent's, moderated ones changed only by moderators.
    let applied_tags = match &body.applied_tags {
        Some(requested) => {
            let parent = match t.parent_id {
                Some(p) => state.store.channel(ChannelId::from_i64(p)).await?,
                None => None,
            };
            match parent.filter(|p| forum::is_forum(p.kind)) {
                Some(parent) => Some(forum::check_applied(
                    &mut tree,
                    &parent,
                    requested,
                    &t.applied_tags.0,
                    moderator,
                )?),
                None => None,
            }
        }
        None => None,
    };
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }

    let patch = ThreadPatch {
        name,
        archived: body.archived,
        auto_archive_duration: body.auto_archive_duration.map(|d| d as i32),
        locked: body.locked,
        invitable: body.invitable.filter(|_| t.kind == 12),
        rate_limit_per_user: slowmode.map(|r| r as i32),
        flags: body.fields.flags.map(|f| f.unwrap_or(0)),
        applied_tags: applied_tags.filter(|a| *a != t.applied_tags.0),
    };
    if !moderator {
        // A locked thread's properties are the moderators' (threads.mdx, "Locked Threads").
        if t.locked {
            return Err(ApiError::ThreadLocked);
        }
        let only_unarchive = patch.name.is_none()
            && patch.auto_archive_duration.is_none()
            && patch.locked.is_none()
            && patch.invitable.is_none()
            && patch.rate_limit_per_user.is_none()
            && patch.flags.is_none()
            && patch.applied_tags.is_none()
            && patch.archived == Some(false);
        let allowed = if only_unarchive {
            creator
                || state
                    .store
                    .thread_member(t.channel_id(), guild.user_id)
                    .await?
                    .is_some()
        } else {
            creator
                && patch.locked.is_none()
                && patch.rate_limit_per_user.is_none()
                && patch.flags.is_none()
        };
        if !allowed {
            return Err(ApiError::MissingPermissions);
        }
    }
    // An archived thread changes only by being unarchived.
    if t.archived && patch.archived != Some(false) && !patch.is_empty() {
        return Err(ApiError::ArchivedThread);
    }
    if patch.is_empty() {
        return Ok(axum::Json(thread(t, None)));
    }
    let after = threads::update(state, t, &patch, Some((guild, reason))).await?;
    let me = state
        .store
        .thread_member(t.channel_id(), guild.user_id)
        .await?;
    Ok(axum::Json(thread(&after, me.as_ref())))
}
