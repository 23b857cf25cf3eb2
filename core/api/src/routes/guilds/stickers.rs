//! `/guilds/{guild.id}/stickers` and `/stickers/{sticker.id}`: list, get, create (a
//! multipart/form-data upload kept in blob storage under `stickers/{id}`), modify and delete
//! custom guild stickers (developers/resources/sticker.mdx); every change publishes
//! GUILD_STICKERS_UPDATE.

use accord_bus::Audience;
use accord_model::{
    ErrorTree, GuildId, Permissions, Sticker, StickerFormatType, StickerId, StickerType, UserId,
};
use accord_store::{NewSticker, StickerPatch, StickerRecord};
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult, Maximum, Unknown};
use crate::extract::{Auth, Json};
use crate::services::access::GuildAccess;
use crate::services::images;
use crate::services::moderation::audit_reason;
use crate::services::{audit_log, ids};
use crate::state::AppState;
use crate::views::public_user;

/// Registers the sticker routes.
pub fn register(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(list, create))
        .routes(routes!(get, modify, delete))
        .routes(routes!(get_sticker))
}

/// The largest sticker file (512 KiB).
pub const MAX_STICKER_BYTES: usize = 512 * 1024;

/// The largest sticker width and height, in pixels.
pub const MAX_STICKER_SIDE: u32 = 320;

/// The blob key of a sticker's file (what the CDN's `/stickers/{id}.{ext}` serves).
pub fn blob_key(id: StickerId) -> String {
    format!("stickers/{}", id.as_i64())
}

/// GUILD_STICKERS_UPDATE's payload.
#[derive(Debug, Clone, Serialize)]
pub struct StickersUpdate {
    /// The guild.
    pub guild_id: GuildId,
    /// Every sticker of the guild.
    pub stickers: Vec<Sticker>,
}

fn format_type(n: i32) -> StickerFormatType {
    match n {
        2 => StickerFormatType::Apng,
        3 => StickerFormatType::Lottie,
        4 => StickerFormatType::Gif,
        _ => StickerFormatType::Png,
    }
}

/// A sticker record as Discord's sticker object, with `user` when given.
pub fn sticker_view(s: &StickerRecord, user: Option<accord_model::User>) -> Sticker {
    Sticker {
        id: s.sticker_id(),
        pack_id: None,
        name: s.name.clone(),
        description: s.description.clone(),
        tags: s.tags.clone(),
        kind: StickerType::Guild,
        format_type: format_type(s.format_type),
        available: Some(s.available),
        guild_id: Some(s.guild()),
        user,
        sort_value: None,
    }
}

/// The guild's stickers as sticker objects without `user` (guild object, GUILD_CREATE, events).
pub async fn guild_stickers(state: &AppState, guild: GuildId) -> ApiResult<Vec<Sticker>> {
    let rows = state.store.guild_stickers(guild).await?;
    Ok(rows.iter().map(|s| sticker_view(s, None)).collect())
}

/// Sticker objects with their uploaders attached when `with_user` says so.
async fn with_users(
    state: &AppState,
    rows: &[StickerRecord],
    with_user: bool,
) -> ApiResult<Vec<Sticker>> {
    let mut ids: Vec<UserId> = if with_user {
        rows.iter()
            .filter_map(|s| s.user_id.map(UserId::from_i64))
            .collect()
    } else {
        Vec::new()
    };
    ids.sort_unstable();
    ids.dedup();
    let users = state.store.users(&ids).await?;
    Ok(rows
        .iter()
        .map(|s| {
            let user = s
                .user_id
                .filter(|_| with_user)
                .and_then(|u| users.iter().find(|r| r.id == u))
                .map(public_user);
            sticker_view(s, user)
        })
        .collect())
}

async fn one_with_user(state: &AppState, row: &StickerRecord, show: bool) -> ApiResult<Sticker> {
    let mut out = with_users(state, std::slice::from_ref(row), show).await?;
    Ok(out.remove(0))
}

async fn publish(state: &AppState, guild: GuildId) -> ApiResult<()> {
    let stickers = guild_stickers(state, guild).await?;
    state
        .dispatch(
            "GUILD_STICKERS_UPDATE",
            Audience::Guild(guild),
            &StickersUpdate {
                guild_id: guild,
                stickers,
            },
        )
        .await;
    Ok(())
}

async fn load(state: &AppState, auth: &Auth, guild_id: &str) -> ApiResult<GuildAccess> {
    GuildAccess::load(state, ids::parse(guild_id, Unknown::Guild)?, auth.user_id).await
}

async fn find(
    state: &AppState,
    access: &GuildAccess,
    sticker_id: &str,
) -> ApiResult<StickerRecord> {
    let id: StickerId = ids::parse(sticker_id, Unknown::Sticker)?;
    state
        .store
        .guild_sticker(access.guild_id(), id)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Sticker))
}

/// CREATE_ or MANAGE_GUILD_EXPRESSIONS: may create and sees `user` in lists.
fn may_create(access: &GuildAccess) -> bool {
    access
        .permissions
        .intersects(Permissions::CREATE_GUILD_EXPRESSIONS | Permissions::MANAGE_GUILD_EXPRESSIONS)
}

/// MANAGE_GUILD_EXPRESSIONS, or CREATE_GUILD_EXPRESSIONS for the caller's own sticker.
fn may_edit(access: &GuildAccess, s: &StickerRecord) -> bool {
    access
        .permissions
        .contains(Permissions::MANAGE_GUILD_EXPRESSIONS)
        || (s.user_id == Some(access.user_id.as_i64())
            && access
                .permissions
                .contains(Permissions::CREATE_GUILD_EXPRESSIONS))
}

fn bad_length(tree: &mut ErrorTree, field: &str, min: usize, max: usize) {
    tree.add(
        &[field],
        "BASE_TYPE_BAD_LENGTH",
        format!("Must be between {min} and {max} in length."),
    );
}

/// Name: 2–30 characters.
fn check_name(tree: &mut ErrorTree, name: &str) {
    if !(2..=30).contains(&name.chars().count()) {
        bad_length(tree, "name", 2, 30);
    }
}

/// Description: empty or 2–100 characters; answers what to store (`None` when empty).
fn check_description(tree: &mut ErrorTree, description: &str) -> Option<String> {
    match description.chars().count() {
        0 => None,
        2..=100 => Some(description.to_owned()),
        _ => {
            bad_length(tree, "description", 2, 100);
            None
        }
    }
}

/// Tags: required, at most 200 characters.
fn check_tags(tree: &mut ErrorTree, tags: &str) {
    let len = tags.chars().count();
    if len == 0 {
        tree.add(&["tags"], "BASE_TYPE_REQUIRED", "This field is required");
    } else if len > 200 {
        tree.add(
            &["tags"],
            "BASE_TYPE_MAX_LENGTH",
            "Must be 200 or fewer in length.",
        );
    }
}

/// Whether a PNG carries an animation control chunk (`acTL`) before its image data: an APNG.
fn is_apng(bytes: &[u8]) -> bool {
    let mut at = 8;
    while at + 8 <= bytes.len() {
        let len = u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
        let kind = &bytes[at + 4..at + 8];
        if kind == b"acTL" {
            return true;
        }
        if kind == b"IDAT" || kind == b"IEND" {
            return false;
        }
        at = at.saturating_add(12).saturating_add(len as usize);
    }
    false
}

/// Checks a sticker file by its bytes: PNG, APNG or GIF of at most 512 KiB and 320×320, not a
/// decompression bomb. Answers the format type, or adds the problem to `tree` under `file`.
fn check_file(tree: &mut ErrorTree, bytes: &[u8], limits: &accord_media::Limits) -> Option<i32> {
    if bytes.len() > MAX_STICKER_BYTES {
        tree.add(
            &["file"],
            "BINARY_TYPE_MAX_SIZE",
            "File cannot be larger than 512.0 kb.",
        );
        return None;
    }
    let format = match accord_media::sniff(bytes) {
        Some(accord_media::ImageKind::Png) if is_apng(bytes) => StickerFormatType::Apng,
        Some(accord_media::ImageKind::Png) => StickerFormatType::Png,
        Some(accord_media::ImageKind::Gif) => StickerFormatType::Gif,
        _ if bytes.trim_ascii_start().starts_with(b"{") => {
            tree.add(
                &["file"],
                "IMAGE_INVALID",
                "Lottie stickers are not supported on this instance; upload a PNG, APNG or GIF.",
            );
            return None;
        }
        _ => {
            tree.add(
                &["file"],
                "IMAGE_INVALID",
                "Invalid image data: a sticker must be a PNG, APNG or GIF.",
            );
            return None;
        }
    };
    match accord_media::probe(bytes, limits) {
        Ok(p) if p.width > MAX_STICKER_SIDE || p.height > MAX_STICKER_SIDE => {
            tree.add(
                &["file"],
                "IMAGE_TOO_LARGE",
                format!("Sticker dimensions cannot be larger than {MAX_STICKER_SIDE}x{MAX_STICKER_SIDE}."),
            );
            None
        }
        Ok(_) => Some(format as i32),
        Err(accord_media::MediaError::Bomb(why)) => {
            tree.add(
                &["file"],
                "IMAGE_TOO_LARGE",
                format!("Image dimensions are too large: {why}."),
            );
            None
        }
        Err(_) => {
            tree.add(&["file"], "IMAGE_INVALID", "Invalid image data");
            None
        }
    }
}

fn bad_form() -> ApiError {
    ApiError::field(
        &[],
        "BASE_TYPE_BAD_FORM",
        "Invalid multipart/form-data body.",
    )
}

/// The parts of a Create Guild Sticker form.
#[derive(Debug, Default)]
struct CreateForm {
    name: Option<String>,
    description: Option<String>,
    tags: Option<String>,
    file: Option<Vec<u8>>,
}

/// Reads the multipart/form-data body: `name`, `description`, `tags` and `file`.
async fn read_form(req: Request) -> ApiResult<CreateForm> {
    let mut multipart = Multipart::from_request(req, &())
        .await
        .map_err(|_| bad_form())?;
    let read_error = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge
        } else {
            bad_form()
        }
    };
    let mut form = CreateForm::default();
    while let Some(field) = multipart.next_field().await.map_err(read_error)? {
        let name = field.name().unwrap_or("").to_owned();
        match name.as_str() {
            "file" => form.file = Some(field.bytes().await.map_err(read_error)?.to_vec()),
            "name" | "description" | "tags" => {
                let text = field.text().await.map_err(read_error)?;
                match name.as_str() {
                    "name" => form.name = Some(text),
                    "description" => form.description = Some(text),
                    _ => form.tags = Some(text),
                }
            }
            // Other parts (an audit-log reason sent as a field, say) are skipped.
            _ => {}
        }
    }
    Ok(form)
}

/// `PATCH /guilds/{id}/stickers/{id}` body (absent = unchanged; a null description clears it).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ModifyStickerBody {
    /// Name (2–30 characters).
    #[serde(default)]
    pub name: Option<String>,
    /// Description (empty or 2–100 characters; null clears it).
    #[serde(default, deserialize_with = "super::super::nullable")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// Autocomplete tags (at most 200 characters).
    #[serde(default)]
    pub tags: Option<String>,
}

/// List the guild's stickers (members; `user` with CREATE_ or MANAGE_GUILD_EXPRESSIONS).
#[utoipa::path(get, path = "/guilds/{guild_id}/stickers", tag = "stickers", params(("guild_id" = String, Path)),
    responses((status = 200, description = "The guild's stickers"), (status = 403, description = "Not a member (50001)"), (status = 404, description = "Unknown guild (10004)")))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Path(guild_id): Path<String>,
) -> ApiResult<axum::Json<Vec<Sticker>>> {
    let access = load(&state, &auth, &guild_id).await?;
    let rows = state.store.guild_stickers(access.guild_id()).await?;
    Ok(axum::Json(
        with_users(&state, &rows, may_create(&access)).await?,
    ))
}

/// Get one sticker of the guild (members; `user` with CREATE_ or MANAGE_GUILD_EXPRESSIONS).
#[utoipa::path(get, path = "/guilds/{guild_id}/stickers/{sticker_id}", tag = "stickers", params(("guild_id" = String, Path), ("sticker_id" = String, Path)),
    responses((status = 200, description = "The sticker"), (status = 404, description = "Unknown sticker (10060)")))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    Path((guild_id, sticker_id)): Path<(String, String)>,
) -> ApiResult<axum::Json<Sticker>> {
    let access = load(&state, &auth, &guild_id).await?;
    let row = find(&state, &access, &sticker_id).await?;
    Ok(axum::Json(
        one_with_user(&state, &row, may_create(&access)).await?,
    ))
}

/// Get a guild sticker by id alone (members of its guild; anyone else gets 10060).
#[utoipa::path(get, path = "/stickers/{sticker_id}", tag = "stickers", params(("sticker_id" = String, Path)),
    responses((status = 200, description = "The sticker"), (status = 404, description = "Unknown sticker (10060)")))]
pub async fn get_sticker(
    State(state): State<AppState>,
    auth: Auth,
    Path(sticker_id): Path<String>,
) -> ApiResult<axum::Json<Sticker>> {
    let id: StickerId = ids::parse(&sticker_id, Unknown::Sticker)?;
    let row = state
        .store
        .sticker(id)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Sticker))?;
    // Someone outside the guild learns nothing, not even that the sticker exists.
    let access = match GuildAccess::load(&state, row.guild(), auth.user_id).await {
        Ok(access) => access,
        Err(ApiError::Unknown(_) | ApiError::MissingAccess | ApiError::MissingPermissions) => {
            return Err(ApiError::Unknown(Unknown::Sticker));
        }
        Err(e) => return Err(e),
    };
    Ok(axum::Json(
        one_with_user(&state, &row, may_create(&access)).await?,
    ))
}

/// Create a sticker from a multipart/form-data body (`name`, `description`, `tags`, `file`:
/// PNG, APNG or GIF, at most 512 KiB and 320×320) with CREATE_ or MANAGE_GUILD_EXPRESSIONS.
#[utoipa::path(post, path = "/guilds/{guild_id}/stickers", tag = "stickers", params(("guild_id" = String, Path)),
    responses((status = 201, description = "The new sticker"), (status = 400, description = "Invalid form body (50035) or maximum stickers (30039)"), (status = 403, description = "Missing permissions (50013)")))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path(guild_id): Path<String>,
    req: Request,
) -> ApiResult<(StatusCode, axum::Json<Sticker>)> {
    let access = load(&state, &auth, &guild_id).await?;
    if !may_create(&access) {
        return Err(ApiError::MissingPermissions);
    }
    let form = read_form(req).await?;
    let mut tree = ErrorTree::new();
    let required = "This field is required";
    match &form.name {
        Some(name) => check_name(&mut tree, name),
        None => {
            tree.add(&["name"], "BASE_TYPE_REQUIRED", required);
        }
    }
    let description = check_description(&mut tree, form.description.as_deref().unwrap_or(""));
    check_tags(&mut tree, form.tags.as_deref().unwrap_or(""));
    let format = match &form.file {
        Some(bytes) => check_file(
            &mut tree,
            bytes,
            &images::limits(&state.config.cdn.images, MAX_STICKER_BYTES),
        ),
        None => {
            tree.add(&["file"], "BASE_TYPE_REQUIRED", required);
            None
        }
    };
    let (Some(name), Some(tags), Some(bytes), Some(format_type), true) =
        (form.name, form.tags, form.file, format, tree.is_empty())
    else {
        return Err(ApiError::InvalidForm(tree));
    };
    let limit = state.config.limits.stickers_per_guild;
    if state.store.guild_sticker_count(access.guild_id()).await? >= u64::from(limit) {
        return Err(ApiError::Maximum(Maximum::Stickers, limit));
    }
    let id: StickerId = state.ids.next();
    let key = blob_key(id);
    state.blobs.put(&key, bytes.into()).await?;
    let new = NewSticker {
        id,
        guild_id: access.guild_id(),
        name,
        description,
        tags,
        format_type,
        user_id: Some(access.user_id),
    };
    let row = match state.store.create_sticker(&new).await {
        Ok(row) => row,
        Err(e) => {
            let _ = state.blobs.delete(&key).await;
            return Err(e.into());
        }
    };
    publish(&state, access.guild_id()).await?;
    audit_log::sticker(
        &state,
        &access,
        audit_reason(&headers).as_deref(),
        None,
        Some(&row),
    )
    .await;
    Ok((
        StatusCode::CREATED,
        axum::Json(one_with_user(&state, &row, true).await?),
    ))
}

/// Modify a sticker's name, description or tags (MANAGE_GUILD_EXPRESSIONS, or
/// CREATE_GUILD_EXPRESSIONS for the caller's own sticker).
#[utoipa::path(patch, path = "/guilds/{guild_id}/stickers/{sticker_id}", tag = "stickers", params(("guild_id" = String, Path), ("sticker_id" = String, Path)), request_body = ModifyStickerBody,
    responses((status = 200, description = "The updated sticker"), (status = 400, description = "Invalid form body (50035)"), (status = 403, description = "Missing permissions (50013)"), (status = 404, description = "Unknown sticker (10060)")))]
pub async fn modify(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path((guild_id, sticker_id)): Path<(String, String)>,
    Json(body): Json<ModifyStickerBody>,
) -> ApiResult<axum::Json<Sticker>> {
    let access = load(&state, &auth, &guild_id).await?;
    let row = find(&state, &access, &sticker_id).await?;
    if !may_edit(&access, &row) {
        return Err(ApiError::MissingPermissions);
    }
    let mut tree = ErrorTree::new();
    if let Some(name) = &body.name {
        check_name(&mut tree, name);
    }
    let description = body
        .description
        .map(|d| check_description(&mut tree, d.as_deref().unwrap_or("")));
    if let Some(tags) = &body.tags {
        check_tags(&mut tree, tags);
    }
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    let patch = StickerPatch {
        name: body.name,
        description,
        tags: body.tags,
    };
    let updated = state
        .store
        .update_sticker(access.guild_id(), row.sticker_id(), &patch)
        .await?;
    publish(&state, access.guild_id()).await?;
    audit_log::sticker(
        &state,
        &access,
        audit_reason(&headers).as_deref(),
        Some(&row),
        Some(&updated),
    )
    .await;
    Ok(axum::Json(one_with_user(&state, &updated, true).await?))
}

/// Delete a sticker and its stored file (same rule as modify).
#[utoipa::path(delete, path = "/guilds/{guild_id}/stickers/{sticker_id}", tag = "stickers", params(("guild_id" = String, Path), ("sticker_id" = String, Path)),
    responses((status = 204), (status = 403, description = "Missing permissions (50013)"), (status = 404, description = "Unknown sticker (10060)")))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path((guild_id, sticker_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let access = load(&state, &auth, &guild_id).await?;
    let row = find(&state, &access, &sticker_id).await?;
    if !may_edit(&access, &row) {
        return Err(ApiError::MissingPermissions);
    }
    state
        .store
        .delete_sticker(access.guild_id(), row.sticker_id())
        .await?;
    publish(&state, access.guild_id()).await?;
    audit_log::sticker(
        &state,
        &access,
        audit_reason(&headers).as_deref(),
        Some(&row),
        None,
    )
    .await;
    // The row is gone and the change announced; a file left behind is only logged.
    let key = blob_key(row.sticker_id());
    if let Err(e) = state.blobs.delete(&key).await {
        tracing::warn!(key, error = %e, "could not remove a deleted sticker's file");
    }
    Ok(StatusCode::NO_CONTENT)
}
