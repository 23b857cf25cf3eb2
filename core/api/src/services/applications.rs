//! Applications and their bots: creation, the bot user, token resets.

use accord_model::{ApplicationId, ErrorTree, Rights, UserId};
use accord_store::{ApplicationRecord, NewApplication, NewUser, StoreError, UserRecord};
use ed25519_dalek::SigningKey;

use super::{accounts, validate};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Creates an application owned by `owner`, checking the per-user limit.
pub async fn create(
    state: &AppState,
    owner: UserId,
    name: &str,
    description: Option<&str>,
) -> ApiResult<ApplicationRecord> {
    let mut tree = ErrorTree::new();
    validate::display_name(&mut tree, "name", name, 1, 100);
    if let Some(d) = description
        && d.chars().count() > 400
    {
        tree.add(
            &["description"],
            "BASE_TYPE_MAX_LENGTH",
            "Must be 400 or fewer in length.",
        );
    }
    if !tree.is_empty() {
        return Err(ApiError::InvalidForm(tree));
    }
    let owned = state.store.applications_of(owner).await?.len();
    if owned >= state.config.limits.applications_per_user as usize {
        return Err(ApiError::ApplicationLimit);
    }
    let signing = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
    let new = NewApplication {
        id: state.ids.next(),
        name: name.trim().to_owned(),
        description: description.unwrap_or("").to_owned(),
        owner_id: owner,
        verify_key: hex::encode(signing.verifying_key().to_bytes()),
        signing_key: hex::encode(signing.to_bytes()),
        flags: 0,
    };
    Ok(state.store.create_application(&new).await?)
}

/// Creates the bot user of `app` (named after it, with a free four-digit discriminator) and
/// returns it with its first token.
pub async fn create_bot(
    state: &AppState,
    app: &ApplicationRecord,
) -> ApiResult<(UserRecord, String)> {
    let username: String = app.name.trim().chars().take(32).collect();
    let username = if username.chars().count() < 2 {
        format!("{username}-bot")
    } else {
        username
    };
    let used = state.store.discriminators_of(&username).await?;
    let discriminator = (0..10_000)
        .map(|_| format!("{:04}", rand::random_range(1..10_000u32)))
        .find(|d| !used.contains(d))
        .ok_or_else(|| {
            ApiError::field(
                &["name"],
                "USERNAME_TOO_MANY_USERS",
                "Too many users have this username.",
            )
        })?;
    let new = NewUser {
        id: state.ids.next(),
        username,
        discriminator,
        global_name: None,
        email: None,
        bot: true,
        rights: state.config.default_rights()
            & !(Rights::CREATE_APPLICATIONS | Rights::CREATE_GUILDS),
        date_of_birth: None,
        password_hash: None,
    };
    let bot = state
        .store
        .create_bot(ApplicationId::from_i64(app.id), &new)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => ApiError::field(
                &[],
                "APPLICATION_ALREADY_HAS_BOT",
                "This application already has a bot.",
            ),
            StoreError::NotFound => ApiError::Unknown(crate::error::Unknown::Application),
            other => other.into(),
        })?;
    let token = accounts::issue_token(state, bot.user_id(), true);
    Ok((bot, token))
}

/// Invalidates every token of `app`'s bot and returns a new one.
pub async fn reset_bot_token(state: &AppState, bot: UserId) -> ApiResult<String> {
    let cutoff = accounts::revoke_all_tokens(state, bot).await?;
    Ok(accounts::issue_token_at(state, bot, true, cutoff))
}

/// The application `id` if `caller` owns it (or holds MANAGE_APPLICATIONS); 10002 otherwise,
/// so that other people's applications are not revealed.
pub async fn owned(
    state: &AppState,
    id: ApplicationId,
    caller: UserId,
) -> ApiResult<ApplicationRecord> {
    let app = state
        .store
        .application(id)
        .await?
        .ok_or(ApiError::Unknown(crate::error::Unknown::Application))?;
    if app.owner_id == caller.as_i64() {
        return Ok(app);
    }
    let rights = state
        .store
        .user(caller)
        .await?
        .map(|u| u.rights())
        .unwrap_or_default();
    if rights.has(Rights::MANAGE_APPLICATIONS) {
        Ok(app)
    } else {
        Err(ApiError::Unknown(crate::error::Unknown::Application))
    }
}
