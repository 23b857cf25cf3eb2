//! Thread rules and events shared by the thread routes, message sending and the auto-archive
//! sweep: validation of thread fields, starting threads, joining and leaving, archiving, and
//! THREAD_CREATE / THREAD_UPDATE / THREAD_DELETE / THREAD_MEMBERS_UPDATE.

use accord_bus::Audience;
use accord_model::audit_log::action;
use accord_model::{ChannelId, GuildId, Permissions, UserId};
use accord_store::{ChannelRecord, NewThread, StoreError, ThreadMemberRecord, ThreadPatch};
use serde_json::{Value, json};

use accord_model::ErrorTree;

use crate::error::{ApiError, ApiResult, Unknown};
use crate::services::access::{ChannelAccess, GuildAccess};
use crate::services::audit_log::{self, Entry};
use crate::state::AppState;
use crate::views::public_user;
use crate::views_guild::member as member_view;
use crate::views_thread::{thread, thread_member};

/// The auto-archive durations Discord accepts, in minutes.
pub const AUTO_ARCHIVE_MINUTES: [i32; 4] = [60, 1440, 4320, 10080];

/// Longest slow mode, in seconds.
const MAX_SLOWMODE: i64 = 21600;

/// Channel flag PINNED (forum posts): a pinned thread never auto-archives.
const PINNED: i64 = 1 << 1;

/// Checks a thread name (1–100 characters) at `path`.
pub fn check_name(tree: &mut ErrorTree, path: &[&str], name: &str) {
    let n = name.trim().chars().count();
    if !(1..=100).contains(&n) {
        tree.add(
            path,
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 100 in length.",
        );
    }
}

/// Checks an auto-archive duration at `path`.
pub fn check_duration(tree: &mut ErrorTree, path: &[&str], minutes: i64) {
    if !AUTO_ARCHIVE_MINUTES
        .iter()
        .any(|m| i64::from(*m) == minutes)
    {
        tree.add(
            path,
            "BASE_TYPE_CHOICES",
            format!("Value must be one of {AUTO_ARCHIVE_MINUTES:?}."),
        );
    }
}

/// Checks a slow mode at `path` (0–21600 seconds).
pub fn check_slowmode(tree: &mut ErrorTree, path: &[&str], secs: i64) {
    if !(0..=MAX_SLOWMODE).contains(&secs) {
        tree.add(
            path,
            "NUMBER_TYPE_MAX",
            format!("Must be between 0 and {MAX_SLOWMODE}."),
        );
    }
}

/// The fields of a thread its audit log entries compare.
fn audit_fields(c: &ChannelRecord) -> Value {
    json!({
        "name": c.name,
        "type": c.kind,
        "archived": c.archived,
        "locked": c.locked,
        "auto_archive_duration": c.auto_archive_duration,
        "rate_limit_per_user": c.rate_limit_per_user,
        "flags": c.flags,
        "invitable": c.invitable,
        "applied_tags": c.applied_tags.0.iter().map(i64::to_string).collect::<Vec<_>>(),
    })
}

const AUDIT_KEYS: [&str; 9] = [
    "name",
    "type",
    "archived",
    "locked",
    "auto_archive_duration",
    "rate_limit_per_user",
    "flags",
    "invitable",
    "applied_tags",
];

/// A thread about to be started.
#[derive(Debug, Clone)]
pub struct Start {
    /// Id (the starter message's for a thread from a message).
    pub id: ChannelId,
    /// 10, 11 or 12.
    pub kind: i32,
    /// Name (validated).
    pub name: String,
    /// Minutes (validated); the parent's default or 1 day when not given.
    pub auto_archive_duration: Option<i32>,
    /// Seconds (validated); the parent's `default_thread_rate_limit_per_user` (or none) when
    /// not given.
    pub rate_limit_per_user: Option<i32>,
    /// Private threads only.
    pub invitable: Option<bool>,
    /// The message it is started from.
    pub starter: Option<accord_model::MessageId>,
    /// Forum and media posts: the tags applied (checked with `forum::post_tags`).
    pub applied_tags: Vec<i64>,
}

/// Starts a thread in the channel of `parent` as its caller: writes it with the caller as
/// first member, announces it (THREAD_CREATE with `newly_created`, THREAD_MEMBERS_UPDATE for
/// the creator) and writes the audit log entry.
pub async fn start(
    state: &AppState,
    parent: &ChannelAccess,
    start: Start,
    reason: Option<&str>,
) -> ApiResult<ChannelRecord> {
    let guild = parent.guild()?;
    let p = &parent.channel;
    let new = NewThread {
        id: start.id,
        guild: guild.guild_id(),
        parent: p.channel_id(),
        kind: start.kind,
        name: start.name.trim().to_owned(),
        owner: guild.user_id,
        owner_joins: true,
        auto_archive_duration: start
            .auto_archive_duration
            .or(p.default_auto_archive_duration)
            .unwrap_or(1440),
        rate_limit_per_user: start
            .rate_limit_per_user
            .or(p.default_thread_rate_limit_per_user)
            .unwrap_or(0),
        invitable: (start.kind == 12).then_some(start.invitable.unwrap_or(true)),
        nsfw: p.nsfw,
        starter: start.starter,
        applied_tags: start.applied_tags,
    };
    let max = state.config.limits.active_threads_per_guild;
    let (record, member) = match state.store.create_thread(&new, max).await {
        Ok(Some(created)) => created,
        Ok(None) => return Err(ApiError::MaxActiveThreads),
        Err(StoreError::Conflict(_)) => return Err(ApiError::ThreadExists),
        Err(e) => return Err(e.into()),
    };
    announce_created(state, &record).await?;
    members_update(state, &record, &member.into_iter().collect::<Vec<_>>(), &[]).await?;
    audit_log::by(
        state,
        guild,
        reason,
        Entry::new(action::THREAD_CREATE, record.id).diff(
            &AUDIT_KEYS,
            &Value::Null,
            &audit_fields(&record),
        ),
    )
    .await;
    Ok(record)
}

/// Starts a forum or media post through the webhook `hook` (`thread_name`, with the checked
/// `applied_tags`): the thread, owned by the webhook and without members, announced with
/// THREAD_CREATE. Its first message is the webhook's, sent next with the thread's id.
pub async fn start_as_webhook(
    state: &AppState,
    parent: &ChannelRecord,
    hook: UserId,
    name: &str,
    applied_tags: Vec<i64>,
) -> ApiResult<ChannelRecord> {
    let new = NewThread {
        id: state.ids.next(),
        guild: GuildId::from_i64(parent.guild_id.unwrap_or_default()),
        parent: parent.channel_id(),
        kind: 11,
        name: name.trim().to_owned(),
        owner: hook,
        owner_joins: false,
        auto_archive_duration: parent.default_auto_archive_duration.unwrap_or(1440),
        rate_limit_per_user: parent.default_thread_rate_limit_per_user.unwrap_or(0),
        invitable: None,
        nsfw: parent.nsfw,
        starter: None,
        applied_tags,
    };
    let max = state.config.limits.active_threads_per_guild;
    let (record, _) = match state.store.create_thread(&new, max).await {
        Ok(Some(created)) => created,
        Ok(None) => return Err(ApiError::MaxActiveThreads),
        Err(e) => return Err(e.into()),
    };
    announce_created(state, &record).await?;
    Ok(record)
}

/// THREAD_CREATE with `newly_created` for a thread just started, to those who can see it.
async fn announce_created(state: &AppState, record: &ChannelRecord) -> ApiResult<()> {
    let mut created = serde_json::to_value(thread(record, None))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    created["newly_created"] = Value::Bool(true);
    state
        .dispatch(
            "THREAD_CREATE",
            Audience::Channel(record.channel_id()),
            &created,
        )
        .await;
    Ok(())
}

/// THREAD_DELETE (id, guild, parent, type) for a thread already deleted: to those who see the
/// parent for a public thread, to `members` (who saw it) for a private one (the thread is
/// gone, so its viewers can no longer be computed from it).
async fn announce_deleted(state: &AppState, t: &ChannelRecord, members: Vec<UserId>) {
    let parent = ChannelId::from_i64(t.parent_id.unwrap_or_default());
    let payload = json!({
        "id": t.channel_id(),
        "guild_id": t.guild_id.map(GuildId::from_i64),
        "parent_id": parent,
        "type": t.kind,
    });
    let audience = if t.kind == 12 {
        Audience::Users(members)
    } else {
        Audience::Channel(parent)
    };
    state.dispatch("THREAD_DELETE", audience, &payload).await;
}

/// THREAD_MEMBERS_UPDATE for members `added` and users `removed`: to those who can see the
/// thread (GUILD_MEMBERS intent) and, whatever their intents, to the users added or removed.
/// `t` is the thread as it is after the change (its `member_count` is sent).
pub async fn members_update(
    state: &AppState,
    t: &ChannelRecord,
    added: &[ThreadMemberRecord],
    removed: &[UserId],
) -> ApiResult<()> {
    let guild = GuildId::from_i64(t.guild_id.unwrap_or_default());
    let mut added_members = Vec::with_capacity(added.len());
    for m in added {
        let user = UserId::from_i64(m.user_id);
        let mut object = serde_json::to_value(thread_member(m, true))
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        if let Some(gm) = state.store.member(guild, user).await? {
            let u = state.store.user(user).await?.map(|u| public_user(&u));
            object["member"] = serde_json::to_value(member_view(&gm, u))
                .map_err(|e| ApiError::Internal(e.to_string()))?;
        }
        object["presence"] = Value::Null;
        added_members.push(object);
    }
    let mut payload = json!({
        "id": t.channel_id(),
        "guild_id": guild,
        "member_count": t.member_count.clamp(0, 50),
    });
    if !added_members.is_empty() {
        payload["added_members"] = Value::Array(added_members);
    }
    if !removed.is_empty() {
        payload["removed_member_ids"] = json!(removed);
    }
    state
        .dispatch(
            "THREAD_MEMBERS_UPDATE",
            Audience::Channel(t.channel_id()),
            &payload,
        )
        .await;
    Ok(())
}

/// Adds `user` to the thread; on a new membership, THREAD_MEMBERS_UPDATE and, for the user
/// added, THREAD_CREATE with their member object (they may not have the thread yet). Returns
/// whether they were added.
pub async fn add_member(state: &AppState, t: &ChannelRecord, user: UserId) -> ApiResult<bool> {
    let guild = GuildId::from_i64(t.guild_id.unwrap_or_default());
    let Some(m) = state
        .store
        .add_thread_member(t.channel_id(), guild, user)
        .await?
    else {
        return Ok(false);
    };
    let fresh = state.store.channel(t.channel_id()).await?;
    let fresh = fresh.as_ref().unwrap_or(t);
    state
        .dispatch(
            "THREAD_CREATE",
            Audience::Users(vec![user]),
            &thread(fresh, Some(&m)),
        )
        .await;
    members_update(state, fresh, &[m], &[]).await?;
    Ok(true)
}

/// Removes `user` from the thread; THREAD_MEMBERS_UPDATE when they were a member.
pub async fn remove_member(state: &AppState, t: &ChannelRecord, user: UserId) -> ApiResult<bool> {
    let removed = state
        .store
        .remove_thread_member(t.channel_id(), user)
        .await?;
    if removed {
        let after = state.store.channel(t.channel_id()).await?;
        members_update(state, after.as_ref().unwrap_or(t), &[], &[user]).await?;
    }
    Ok(removed)
}

/// Applies `patch` to a thread and announces it (THREAD_UPDATE; on unarchiving, THREAD_MEMBER_UPDATE
/// to each member as Discord does); writes the audit log entry when `by` is given.
pub async fn update(
    state: &AppState,
    t: &ChannelRecord,
    patch: &ThreadPatch,
    by: Option<(&GuildAccess, Option<&str>)>,
) -> ApiResult<ChannelRecord> {
    let after = match state.store.update_thread(t.channel_id(), patch).await {
        Ok(r) => r,
        Err(StoreError::NotFound) => return Err(ApiError::Unknown(Unknown::Channel)),
        Err(e) => return Err(e.into()),
    };
    state
        .dispatch(
            "THREAD_UPDATE",
            Audience::Channel(after.channel_id()),
            &thread(&after, None),
        )
        .await;
    if t.archived && !after.archived {
        let guild = after.guild_id.map(GuildId::from_i64);
        for m in state
            .store
            .thread_members(after.channel_id(), None, u32::MAX)
            .await?
        {
            let mut payload = serde_json::to_value(thread_member(&m, true))
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            payload["guild_id"] = json!(guild);
            state
                .dispatch(
                    "THREAD_MEMBER_UPDATE",
                    Audience::Users(vec![UserId::from_i64(m.user_id)]),
                    &payload,
                )
                .await;
        }
    }
    if let Some((access, reason)) = by {
        let entry = Entry::new(action::THREAD_UPDATE, after.id).diff(
            &AUDIT_KEYS,
            &audit_fields(t),
            &audit_fields(&after),
        );
        if !entry.changes.is_empty() {
            audit_log::by(state, access, reason, entry).await;
        }
    }
    Ok(after)
}

/// Deletes a thread (MANAGE_THREADS): THREAD_DELETE with its id, guild, parent and type — to
/// those who see the parent for a public thread, to those who saw a private one (its members
/// and those who may manage threads in its parent).
pub async fn delete(
    state: &AppState,
    access: &ChannelAccess,
    reason: Option<&str>,
) -> ApiResult<()> {
    access.require(Permissions::MANAGE_THREADS)?;
    let guild = access.guild()?;
    let t = &access.channel;
    let members: Vec<UserId> = if t.kind == 12 {
        crate::services::viewers::of_private_thread(
            state,
            GuildId::from_i64(guild.guild.id),
            t.channel_id(),
        )
        .await?
    } else {
        Vec::new()
    };
    match state.store.delete_channel(t.channel_id()).await {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Err(ApiError::Unknown(Unknown::Channel)),
        Err(e) => return Err(e.into()),
    }
    announce_deleted(state, t, members).await;
    audit_log::by(
        state,
        guild,
        reason,
        Entry::new(action::THREAD_DELETE, t.id).diff(&AUDIT_KEYS, &audit_fields(t), &Value::Null),
    )
    .await;
    Ok(())
}

/// Takes back a thread just started (a forum post whose first message was refused): deletes
/// it and announces THREAD_DELETE to those who were told of it.
pub async fn discard(state: &AppState, t: &ChannelRecord) {
    if let Err(e) = state.store.delete_channel(t.channel_id()).await {
        tracing::error!(error = %e, "cannot take back a thread");
        return;
    }
    let owner = UserId::from_i64(t.owner_id.unwrap_or_default());
    announce_deleted(state, t, vec![owner]).await;
}

/// Refuses a change to an archived thread's messages (reactions, edits): 50083
/// (threads.mdx: only deleting messages happens in archived threads). A no-op elsewhere.
pub fn require_active(access: &ChannelAccess) -> ApiResult<()> {
    if access.channel.is_thread() && access.channel.archived {
        Err(ApiError::ArchivedThread)
    } else {
        Ok(())
    }
}

/// Before a message is sent in a thread: refuses a locked thread to members without
/// MANAGE_THREADS, and unarchives an archived one (a message is activity).
pub async fn before_message(state: &AppState, access: &ChannelAccess) -> ApiResult<()> {
    let t = &access.channel;
    if !t.is_thread() {
        return Ok(());
    }
    let moderator = access.permissions.contains(Permissions::MANAGE_THREADS);
    if t.locked && !moderator {
        return Err(ApiError::ThreadLocked);
    }
    if t.archived {
        let patch = ThreadPatch {
            archived: Some(false),
            ..ThreadPatch::default()
        };
        update(state, t, &patch, None).await?;
    }
    Ok(())
}

/// After a message is sent in a thread: its author joins the thread if they had not.
pub async fn after_message(state: &AppState, access: &ChannelAccess) -> ApiResult<()> {
    let t = &access.channel;
    let Some(guild) = access.guild.as_ref().filter(|_| t.is_thread()) else {
        return Ok(());
    };
    if state
        .store
        .thread_member(t.channel_id(), guild.user_id)
        .await?
        .is_none()
    {
        add_member(state, t, guild.user_id).await?;
    }
    Ok(())
}

/// Archives every active thread idle for longer than its auto-archive duration at `now_ms`
/// (pinned forum posts excepted), announcing each with THREAD_UPDATE. Returns how many.
pub async fn archive_idle(state: &AppState, now_ms: i64) -> ApiResult<usize> {
    let mut archived = 0;
    for t in state.store.all_active_threads().await? {
        if t.flags & PINNED != 0 {
            continue;
        }
        let last_message = t.last_message_id.map_or(0, |m| {
            accord_model::MessageId::from_i64(m).timestamp_ms() as i64
        });
        let since = t
            .archive_timestamp
            .unwrap_or(t.created_at)
            .timestamp_millis()
            .max(last_message);
        let limit = i64::from(t.auto_archive_duration.unwrap_or(1440)) * 60_000;
        if now_ms - since < limit {
            continue;
        }
        let patch = ThreadPatch {
            archived: Some(true),
            ..ThreadPatch::default()
        };
        update(state, &t, &patch, None).await?;
        archived += 1;
    }
    Ok(archived)
}

/// Runs [`archive_idle`] every `limits.thread_archive_check_secs` for as long as the process
/// runs.
pub fn spawn_archiver(state: AppState) {
    let every =
        std::time::Duration::from_secs(state.config.limits.thread_archive_check_secs.into());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let now = accord_auth::now_ms() as i64;
            if let Err(e) = archive_idle(&state, now).await {
                tracing::warn!(error = ?e, "thread auto-archive sweep failed");
            }
        }
    });
}
