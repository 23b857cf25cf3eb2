//! `/guilds/{guild.id}/emojis`: list, get, create (a data-URI image kept in blob storage),
//! modify and delete custom emojis; every change publishes GUILD_EMOJIS_UPDATE.

use accord_bus::Audience;
use accord_model::audit_log::action;
use accord_model::{Emoji, EmojiId, ErrorTree, GuildId, Permissions, RoleId, UserId};
use accord_store::{EmojiPatch, EmojiRecord, NewEmoji};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult, Maximum, Unknown};
use crate::extract::{Auth, Json};
use crate::services::access::GuildAccess;
use crate::services::ids;
use crate::services::images;
use crate::state::AppState;
use crate::views::public_user;

/// Registers the emoji routes.
pub fn register(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(list, create))
        .routes(routes!(get, modify, delete))
}

/// The largest emoji image (256 KiB).
pub const MAX_EMOJI_BYTES: usize = 256 * 1024;

/// The blob key of an emoji's image.
pub fn blob_key(id: EmojiId) -> String {
    format!("emojis/{}", id.as_i64())
}

/// GUILD_EMOJIS_UPDATE's payload.
#[derive(Debug, Clone, Serialize)]
pub struct EmojisUpdate {
    /// The guild.
    pub guild_id: GuildId,
    /// Every emoji of the guild.
    pub emojis: Vec<Emoji>,
}

/// An emoji record as Discord's emoji object, with `user` when given.
pub fn emoji_view(e: &EmojiRecord, user: Option<accord_model::User>) -> Emoji {
    Emoji {
        id: Some(e.emoji_id()),
        name: Some(e.name.clone()),
        roles: Some(e.roles.iter().map(|r| RoleId::from_i64(*r)).collect()),
        user,
        require_colons: Some(e.require_colons),
        managed: Some(e.managed),
        animated: Some(e.animated),
        available: Some(e.available),
    }
}

/// The guild's emojis as emoji objects without `user` (guild object, GUILD_CREATE, events).
pub async fn guild_emojis(state: &AppState, guild: GuildId) -> ApiResult<Vec<Emoji>> {
    let rows = state.store.guild_emojis(guild).await?;
    Ok(rows.iter().map(|e| emoji_view(e, None)).collect())
}

/// Emoji objects with their creators attached when `with_user` says so.
async fn with_users(
    state: &AppState,
    rows: &[EmojiRecord],
    with_user: impl Fn(&EmojiRecord) -> bool,
) -> ApiResult<Vec<Emoji>> {
    let mut ids: Vec<UserId> = rows
        .iter()
        .filter(|e| with_user(e))
        .filter_map(|e| e.user_id.map(UserId::from_i64))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let users = state.store.users(&ids).await?;
    Ok(rows
        .iter()
        .map(|e| {
            let user = if with_user(e) {
                e.user_id
                    .and_then(|u| users.iter().find(|r| r.id == u))
                    .map(public_user)
            } else {
                None
            };
            emoji_view(e, user)
        })
        .collect())
}

async fn publish(state: &AppState, guild: GuildId) -> ApiResult<()> {
    let emojis = guild_emojis(state, guild).await?;
    state
        .dispatch(
            "GUILD_EMOJIS_UPDATE",
            Audience::Guild(guild),
            &EmojisUpdate {
                guild_id: guild,
                emojis,
            },
        )
        .await;
    Ok(())
}

async fn load(state: &AppState, auth: &Auth, guild_id: &str) -> ApiResult<GuildAccess> {
    GuildAccess::load(state, ids::parse(guild_id, Unknown::Guild)?, auth.user_id).await
}

async fn find(state: &AppState, access: &GuildAccess, emoji_id: &str) -> ApiResult<EmojiRecord> {
    let id: EmojiId = ids::parse(emoji_id, Unknown::Emoji)?;
    state
        .store
        .emoji(access.guild_id(), id)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Emoji))
}

fn created_by_caller(access: &GuildAccess, e: &EmojiRecord) -> bool {
    e.user_id == Some(access.user_id.as_i64())
}

/// MANAGE_GUILD_EXPRESSIONS, or CREATE_GUILD_EXPRESSIONS for the caller's own emoji.
fn may_edit(access: &GuildAccess, e: &EmojiRecord) -> bool {
    access
        .permissions
        .contains(Permissions::MANAGE_GUILD_EXPRESSIONS)
        || (created_by_caller(access, e)
            && access
                .permissions
                .contains(Permissions::CREATE_GUILD_EXPRESSIONS))
}

/// Checks a name: 2–32 characters of `[A-Za-z0-9_]`.
fn check_name(tree: &mut ErrorTree, name: &str) {
    let len = name.chars().count();
    if !(2..=32).contains(&len) {
        tree.add(
            &["name"],
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 2 and 32 in length.",
        );
    } else if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        tree.add(
            &["name"],
            "STRING_TYPE_REGEX",
            "String value did not match validation regex.",
        );
    }
}

/// Checks that every role belongs to the guild; returns them sorted and deduplicated.
fn check_roles(tree: &mut ErrorTree, access: &GuildAccess, roles: &[RoleId]) -> Vec<RoleId> {
    for (i, r) in roles.iter().enumerate() {
        if access.role(r.as_i64()).is_none() {
            tree.add(
                &["roles", &i.to_string()],
                "INVALID_ROLE",
                format!("Role {} is not a role of this guild.", r.as_i64()),
            );
        }
    }
    let mut out = roles.to_vec();
    out.sort_unstable_by_key(|r| r.as_i64());
    out.dedup();
    out
}

/// An image format accepted for emojis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ImageKind {
    Png,
    Jpeg,
    Gif,
    Webp { animated: bool },
}

/// The format the bytes really are, from their magic numbers.
fn sniff(bytes: &[u8]) -> Option<ImageKind> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageKind::Png)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageKind::Jpeg)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(ImageKind::Gif)
    } else if bytes.len() >= 16 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        // An extended (VP8X) WebP carries an animation flag (bit 1 of the first flags byte).
        let animated = bytes.len() > 20 && &bytes[12..16] == b"VP8X" && bytes[20] & 0x02 != 0;
        Some(ImageKind::Webp { animated })
    } else {
        None
    }
}

/// Decodes `data:image/<png|jpeg|gif|webp>;base64,<data>` and checks the bytes (type, size, and
/// the pixel and frame limits of `[cdn.images]` read from the header); adds problems to `tree`
/// under `image`.
fn decode_image(
    tree: &mut ErrorTree,
    uri: &str,
    limits: &accord_media::Limits,
) -> Option<(Vec<u8>, bool)> {
    let invalid = |tree: &mut ErrorTree| {
        tree.add(&["image"], "IMAGE_INVALID", "Invalid image data");
        None
    };
    let Some(rest) = uri.strip_prefix("data:") else {
        return invalid(tree);
    };
    let Some((meta, data)) = rest.split_once(',') else {
        return invalid(tree);
    };
    let Some(mime) = meta.strip_suffix(";base64") else {
        return invalid(tree);
    };
    if !matches!(
        mime.to_ascii_lowercase().as_str(),
        "image/png" | "image/jpeg" | "image/jpg" | "image/gif" | "image/webp"
    ) {
        return invalid(tree);
    }
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(data.trim()) else {
        return invalid(tree);
    };
    if bytes.len() > MAX_EMOJI_BYTES {
        tree.add(
            &["image"],
            "BINARY_TYPE_MAX_SIZE",
            "File cannot be larger than 256.0 kb.",
        );
        return None;
    }
    let animated = match sniff(&bytes) {
        None => return invalid(tree),
        Some(ImageKind::Gif) => true,
        Some(ImageKind::Webp { animated }) => animated,
        Some(ImageKind::Png | ImageKind::Jpeg) => false,
    };
    // A decompression bomb (a small file claiming huge dimensions or endless frames) is refused
    // here, never stored for the CDN to meet.
    if let Err(accord_media::MediaError::Bomb(why)) = accord_media::probe(&bytes, limits) {
        tree.add(
            &["image"],
            "IMAGE_TOO_LARGE",
            format!("Image dimensions are too large: {why}."),
        );
        return None;
    }
    Some((bytes, animated))
}

/// `POST /guilds/{id}/emojis` body.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CreateEmojiBody {
    /// Name (2–32 of `[A-Za-z0-9_]`).
    #[serde(default)]
    pub name: Option<String>,
    /// `data:image/...;base64,...` (PNG, JPEG, GIF or WebP; at most 256 KiB).
    #[serde(default)]
    pub image: Option<String>,
    /// Roles allowed to use the emoji (empty = everyone).
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub roles: Option<Vec<RoleId>>,
}

/// `PATCH /guilds/{id}/emojis/{id}` body (absent or null = unchanged).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ModifyEmojiBody {
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Roles allowed to use the emoji (empty = everyone).
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub roles: Option<Vec<RoleId>>,
}

/// List the guild's emojis (members; `user` with CREATE_ or MANAGE_GUILD_EXPRESSIONS).
#[utoipa::path(get, path = "/guilds/{guild_id}/emojis", tag = "emojis", params(("guild_id" = String, Path)),
    responses((status = 200, description = "The guild's emojis"), (status = 403, description = "Not a member (50001)"), (status = 404, description = "Unknown guild (10004)")))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Path(guild_id): Path<String>,
) -> ApiResult<axum::Json<Vec<Emoji>>> {
    let access = load(&state, &auth, &guild_id).await?;
    let rows = state.store.guild_emojis(access.guild_id()).await?;
    let show = access
        .permissions
        .intersects(Permissions::CREATE_GUILD_EXPRESSIONS | Permissions::MANAGE_GUILD_EXPRESSIONS);
    Ok(axum::Json(with_users(&state, &rows, |_| show).await?))
}

/// Get one emoji (members; `user` with MANAGE_GUILD_EXPRESSIONS, or CREATE_GUILD_EXPRESSIONS
/// for the caller's own emoji).
#[utoipa::path(get, path = "/guilds/{guild_id}/emojis/{emoji_id}", tag = "emojis", params(("guild_id" = String, Path), ("emoji_id" = String, Path)),
    responses((status = 200, description = "The emoji"), (status = 404, description = "Unknown emoji (10014)")))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path((guild_id, emoji_id)): Path<(String, String)>,
) -> ApiResult<axum::Json<Emoji>> {
    let access = load(&state, &auth, &guild_id).await?;
    let row = find(&state, &access, &emoji_id).await?;
    let show = may_edit(&access, &row);
    let mut out = with_users(&state, std::slice::from_ref(&row), |_| show).await?;
    Ok(axum::Json(out.remove(0)))
}

/// Create an emoji (CREATE_GUILD_EXPRESSIONS or MANAGE_GUILD_EXPRESSIONS).
#[utoipa::path(post, path = "/guilds/{guild_id}/emojis", tag = "emojis", params(("guild_id" = String, Path)), request_body = CreateEmojiBody,
    responses((status = 201, description = "The new emoji"), (status = 400, description = "Invalid form body (50035) or maximum emojis (30008)"), (status = 403, description = "Missing permissions (50013)")))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    headers: axum::http::HeaderMap,
    Path(guild_id): Path<String>,
    Json(body): Json<CreateEmojiBody>,
) -> ApiResult<(StatusCode, axum::Json<Emoji>)> {
    let access = load(&state, &auth, &guild_id).await?;
    if !access
        .permissions
        .intersects(Permissions::CREATE_GUILD_EXPRESSIONS | Permissions::MANAGE_GUILD_EXPRESSIONS)
    {
        return Err(ApiError::MissingPermissions);
    }
    let mut tree = ErrorTree::new();
    let required = "This field is required";
    match &body.name {
        Some(name) => check_name(&mut tree, name),
        None => {
            tree.add(&["name"], "BASE_TYPE_REQUIRED", required);
        }
    }
    let image = match &body.image {
        Some(uri) => decode_image(
            &mut tree,
            uri,
            &images::limits(&state.config.cdn.images, MAX_EMOJI_BYTES),
        ),
        None => {
            tree.add(&["image"], "BASE_TYPE_REQUIRED", required);
            None
        }
    };
    let roles = check_roles(&mut tree, &access, body.roles.as_deref().unwrap_or(&[]));
    let (Some(name), Some((bytes, animated)), true) = (body.name, image, tree.is_empty()) else {
        return Err(ApiError::InvalidForm(tree));
    };
    let limit = state.config.limits.emojis_per_guild;
    let count = state.store.guild_emojis(access.guild_id()).await?.len();
    if count >= limit as usize {
        return Err(ApiError::Maximum(Maximum::Emojis, limit));
    }
    let id: EmojiId = state.ids.next();
    let blobs = &state.blobs;
    let key = blob_key(id);
    blobs.put(&key, bytes.into()).await?;
    let new = NewEmoji {
        id,
        guild_id: access.guild_id(),
        name,
        user_id: Some(access.user_id),
        animated,
        roles,
    };
    let row = match state.store.create_emoji(&new).await {
        Ok(row) => row,
        Err(e) => {
            let _ = blobs.delete(&key).await;
            return Err(e.into());
        }
    };
    publish(&state, access.guild_id()).await?;
    audit(
        &state,
        &access,
        &headers,
        action::EMOJI_CREATE,
        row.id,
        None,
        Some(&row.name),
    )
    .await;
    let mut out = with_users(&state, std::slice::from_ref(&row), |_| true).await?;
    Ok((StatusCode::CREATED, axum::Json(out.remove(0))))
}

/// Modify an emoji's name or roles (MANAGE_GUILD_EXPRESSIONS, or CREATE_GUILD_EXPRESSIONS for
/// the caller's own emoji).
#[utoipa::path(patch, path = "/guilds/{guild_id}/emojis/{emoji_id}", tag = "emojis", params(("guild_id" = String, Path), ("emoji_id" = String, Path)), request_body = ModifyEmojiBody,
    responses((status = 200, description = "The updated emoji"), (status = 400, description = "Invalid form body (50035)"), (status = 403, description = "Missing permissions (50013)"), (status = 404, description = "Unknown emoji (10014)")))]
pub async fn modify(
    State(state): State<AppState>,
    auth: Auth,
    headers: axum::http::HeaderMap,
    Path((guild_id, emoji_id)): Path<(String, String)>,
    Json(body): Json<ModifyEmojiBody>,
) -> ApiResult<axum::Json<Emoji>> {
    let access = load(&state, &auth, &guild_id).await?;
    let row = find(&state, &access, &emoji_id).await?;
    if !may_edit(&access, &row) {
        return Err(ApiError::MissingPermissions);
    }
    let mut tree = ErrorTree::new();
    if let Some(name) = &body.name {
        check_name(&mut tree, name);
    }
    let roles = body
        .roles
        .as_deref()
        .map(|r| check_roles(&mut tree, &access, r));
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    let patch = EmojiPatch {
        name: body.name,
        roles,
    };
    let updated = state
        .store
        .update_emoji(access.guild_id(), row.emoji_id(), &patch)
        .await?;
    publish(&state, access.guild_id()).await?;
    if updated.name != row.name {
        let (old, new) = (Some(row.name.as_str()), Some(updated.name.as_str()));
        audit(
            &state,
            &access,
            &headers,
            action::EMOJI_UPDATE,
            row.id,
            old,
            new,
        )
        .await;
    }
    let mut out = with_users(&state, std::slice::from_ref(&updated), |_| true).await?;
    Ok(axum::Json(out.remove(0)))
}

/// Delete an emoji and its stored image (same rule as modify).
#[utoipa::path(delete, path = "/guilds/{guild_id}/emojis/{emoji_id}", tag = "emojis", params(("guild_id" = String, Path), ("emoji_id" = String, Path)),
    responses((status = 204), (status = 403, description = "Missing permissions (50013)"), (status = 404, description = "Unknown emoji (10014)")))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    headers: axum::http::HeaderMap,
    Path((guild_id, emoji_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let access = load(&state, &auth, &guild_id).await?;
    let row = find(&state, &access, &emoji_id).await?;
    if !may_edit(&access, &row) {
        return Err(ApiError::MissingPermissions);
    }
    state
        .store
        .delete_emoji(access.guild_id(), row.emoji_id())
        .await?;
    publish(&state, access.guild_id()).await?;
    audit(
        &state,
        &access,
        &headers,
        action::EMOJI_DELETE,
        row.id,
        Some(&row.name),
        None,
    )
    .await;
    // The row is gone and the change announced; a file left behind is only logged.
    let key = blob_key(row.emoji_id());
    if let Err(e) = state.blobs.delete(&key).await {
        tracing::warn!(key, error = %e, "could not remove a deleted emoji's image");
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Writes an emoji's audit log entry: its name before (`old`) and after (`new`).
async fn audit(
    state: &AppState,
    access: &GuildAccess,
    headers: &axum::http::HeaderMap,
    kind: u16,
    emoji: i64,
    old: Option<&str>,
    new: Option<&str>,
) {
    let entry = crate::services::audit_log::Entry::new(kind, emoji).field("name", old, new);
    let reason = crate::services::moderation::audit_reason(headers);
    crate::services::audit_log::by(state, access, reason.as_deref(), entry).await;
}
