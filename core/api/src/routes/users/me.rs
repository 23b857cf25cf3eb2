//! `GET/PATCH /users/@me`: the calling account.

use accord_bus::{Audience, Event};
use accord_model::{ErrorTree, Rights};
use accord_store::{StoreError, UserPatch, UserRecord};
use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult, Unknown};
use crate::extract::{Auth, Json};
use crate::services::images::{self, Change};
use crate::services::{accounts, validate};
use crate::state::AppState;
use crate::views::{self, PrivateUser};

/// Loads the calling account; a deleted or disabled account is unauthorized.
pub async fn caller(state: &AppState, auth: &Auth) -> ApiResult<UserRecord> {
    match state.store.user(auth.user_id).await? {
        Some(u) if !u.deleted && !u.disabled => Ok(u),
        Some(_) => Err(ApiError::Unauthorized),
        None => Err(ApiError::Unknown(Unknown::User)),
    }
}

/// Get the current user.
#[utoipa::path(get, path = "/users/@me", tag = "users", responses((status = 200, description = "The user object with private fields"), (status = 401, description = "Unauthorized (40001)")))]
pub async fn get_me(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<axum::Json<PrivateUser>> {
    let user = caller(&state, &auth).await?;
    Ok(axum::Json(views::private_user(&user)))
}

/// Fields of `PATCH /users/@me`. A field that is absent is left alone; `null` clears it.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ModifyMeBody {
    /// New username (people: needs `password`).
    #[serde(default)]
    pub username: Option<String>,
    /// New display name.
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<String>)]
    pub global_name: Option<Option<String>>,
    /// New avatar as a data URI, or null to remove it.
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<String>)]
    pub avatar: Option<Option<String>>,
    /// New banner as a data URI, or null to remove it.
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<String>)]
    pub banner: Option<Option<String>>,
    /// Banner colour.
    #[serde(default, deserialize_with = "crate::routes::nullable")]
    #[schema(value_type = Option<u32>)]
    pub accent_color: Option<Option<u32>>,
    /// About me.
    #[serde(default)]
    pub bio: Option<String>,
    /// Pronouns.
    #[serde(default)]
    pub pronouns: Option<String>,
    /// New e-mail (needs `password`).
    #[serde(default)]
    pub email: Option<String>,
    /// Current password, required to change username, e-mail or password.
    #[serde(default)]
    pub password: Option<String>,
    /// New password (needs `password`); all other tokens stop working and a new one is returned.
    #[serde(default)]
    pub new_password: Option<String>,
}

/// Modify the current user.
#[utoipa::path(patch, path = "/users/@me", tag = "users", request_body = ModifyMeBody,
    responses((status = 200, description = "The updated user"), (status = 400, description = "Invalid form body (50035)")))]
pub async fn patch_me(
    State(state): State<AppState>,
    auth: Auth,
    Json(body): Json<ModifyMeBody>,
) -> ApiResult<axum::Json<PrivateUser>> {
    let user = caller(&state, &auth).await?;
    if !user.rights().has(Rights::EDIT_OWN_PROFILE) {
        return Err(ApiError::MissingPermissions);
    }
    let reg = &state.config.register;
    let limits = &state.config.limits;
    let mut tree = ErrorTree::new();
    let mut patch = UserPatch::default();

    let sensitive = body.email.is_some()
        || body.new_password.is_some()
        || (body.username.is_some() && !user.bot);
    if sensitive && !user.bot {
        match (
            &body.password,
            state.store.password_hash(user.user_id()).await?,
        ) {
            (None, _) => {
                tree.add(
                    &["password"],
                    "BASE_TYPE_REQUIRED",
                    "This field is required",
                );
            }
            (Some(pw), Some(hash))
                if accounts::password_matches(hash.clone(), pw.clone()).await? => {}
            _ => {
                tree.add(
                    &["password"],
                    "PASSWORD_DOES_NOT_MATCH",
                    "Password does not match.",
                );
            }
        }
    }
    if let Some(name) = &body.username {
        if user.bot {
            validate::display_name(&mut tree, "username", name, 2, 32);
            patch.username = Some(name.trim().to_owned());
        } else {
            let name = validate::username(
                &mut tree,
                "username",
                name,
                reg.username.min_length.into(),
                reg.username.max_length.into(),
            );
            if name != user.username {
                patch.username = Some(name);
            }
        }
    }
    if let Some(Some(name)) = &body.global_name {
        validate::display_name(&mut tree, "global_name", name, 1, 32);
    }
    patch.global_name = body
        .global_name
        .clone()
        .map(|n| n.map(|s| s.trim().to_owned()));
    let image_limits = images::upload_limits(&state);
    let avatar = Change::of(&mut tree, "avatar", body.avatar.as_ref(), &image_limits);
    let banner = Change::of(&mut tree, "banner", body.banner.as_ref(), &image_limits);
    if let Some(color) = body.accent_color {
        if color.is_some_and(|c| c > 0xFF_FFFF) {
            tree.add(
                &["accent_color"],
                "NUMBER_TYPE_MAX",
                "int value should be less than or equal to 16777215.",
            );
        }
        patch.accent_color = Some(color.map(|c| c as i32));
    }
    if let Some(bio) = &body.bio {
        if bio.chars().count() > limits.bio_length as usize {
            tree.add(
                &["bio"],
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {} or fewer in length.", limits.bio_length),
            );
        }
        patch.bio = Some(bio.clone());
    }
    if let Some(pronouns) = &body.pronouns {
        if pronouns.chars().count() > 40 {
            tree.add(
                &["pronouns"],
                "BASE_TYPE_MAX_LENGTH",
                "Must be 40 or fewer in length.",
            );
        }
        patch.pronouns = Some(pronouns.clone());
    }
    if let Some(email) = &body.email {
        if user.bot {
            tree.add(
                &["email"],
                "BASE_TYPE_INVALID",
                "Bots do not have an e-mail address.",
            );
        } else {
            patch.email = Some(Some(validate::email(&mut tree, "email", email)));
        }
    }
    if let Some(pw) = &body.new_password {
        if user.bot {
            tree.add(
                &["new_password"],
                "BASE_TYPE_INVALID",
                "Bots do not have a password.",
            );
        }
        for (code, message) in state.password_rules().check(pw) {
            tree.add(&["new_password"], code, message);
        }
    }
    if tree.is_empty()
        && let Some(name) = &patch.username
        && !user.bot
        && state.store.name_taken(name, "0").await?
    {
        tree.add(
            &["username"],
            "USERNAME_ALREADY_TAKEN",
            "Username is unavailable. Try adding numbers, letters, underscores _ , or periods.",
        );
    }
    if tree.is_empty()
        && let Some(Some(email)) = &patch.email
        && user.email.as_deref().map(str::to_lowercase) != Some(email.to_lowercase())
        && state.store.email_taken(email).await?
    {
        tree.add(
            &["email"],
            "EMAIL_ALREADY_REGISTERED",
            "Email is already registered.",
        );
    }
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    if user.bot
        && let Some(name) = &patch.username
        && state.store.name_taken(name, &user.discriminator).await?
        && name.to_lowercase() != user.username.to_lowercase()
    {
        // Bots keep their discriminator unless the new name already uses it.
        let used = state.store.discriminators_of(name).await?;
        patch.discriminator = (0..10_000)
            .map(|_| format!("{:04}", rand::random_range(1..10_000u32)))
            .find(|d| !used.contains(d));
    }
    let me = user.user_id();
    patch.avatar = avatar.apply(&state, &format!("avatars/{me}")).await?;
    patch.banner = banner.apply(&state, &format!("banners/{me}")).await?;

    let new_token = match &body.new_password {
        Some(pw) => {
            let hash = accounts::hash_password(&state, pw.clone()).await?;
            let cutoff = accord_auth::now_ms() + 1;
            state
                .store
                .set_password(user.user_id(), &hash, cutoff as i64)
                .await?;
            state.revocations.set_cutoff(user.user_id(), cutoff);
            state
                .publish(Event::TokensCutOff {
                    user: user.user_id(),
                    valid_after_ms: cutoff,
                })
                .await;
            Some(accounts::issue_token_at(
                &state,
                user.user_id(),
                false,
                cutoff,
            ))
        }
        None => None,
    };
    let updated = state
        .store
        .update_user(user.user_id(), &patch)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(what) if what.contains("email") => ApiError::field(
                &["email"],
                "EMAIL_ALREADY_REGISTERED",
                "Email is already registered.",
            ),
            StoreError::Conflict(_) => ApiError::field(
                &["username"],
                "USERNAME_ALREADY_TAKEN",
                "Username is unavailable.",
            ),
            other => other.into(),
        })?;
    let mut view = views::private_user(&updated);
    if let Ok(event) = Event::dispatch(
        "USER_UPDATE",
        Audience::Users(vec![updated.user_id()]),
        &view,
    ) {
        state.publish(event).await;
    }
    view.token = new_token;
    Ok(axum::Json(view))
}
