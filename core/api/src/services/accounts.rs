//! Accounts: creating people and issuing, checking and revoking their tokens.

use accord_auth::now_ms;
use accord_bus::Event;
use accord_model::{ErrorTree, Rights, UserId};
use accord_store::{NewUser, StoreError, UserRecord};

use super::validate;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// A person's account to create (registration or `accord admin create-user`).
#[derive(Debug, Clone, Default)]
pub struct NewAccount {
    /// Requested username.
    pub username: String,
    /// Password in clear text.
    pub password: String,
    /// E-mail.
    pub email: Option<String>,
    /// ISO date of birth.
    pub date_of_birth: Option<String>,
    /// Display name.
    pub global_name: Option<String>,
    /// Rights; the configured defaults when None.
    pub rights: Option<Rights>,
}

/// Validates and creates a person's account. Every problem is reported at once as a 50035 error;
/// nothing is written unless all checks pass.
pub async fn create_person(state: &AppState, account: NewAccount) -> ApiResult<UserRecord> {
    let reg = &state.config.register;
    let mut tree = ErrorTree::new();
    let username = validate::username(
        &mut tree,
        "username",
        &account.username,
        reg.username.min_length.into(),
        reg.username.max_length.into(),
    );
    for (code, message) in state.password_rules().check(&account.password) {
        tree.add(&["password"], code, message);
    }
    let email = match account
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        Some(e) => Some(validate::email(&mut tree, "email", e)),
        None if reg.require_email => {
            tree.add(&["email"], "BASE_TYPE_REQUIRED", "This field is required");
            None
        }
        None => None,
    };
    let date_of_birth = match account.date_of_birth.as_deref() {
        Some(d) => validate::date_of_birth(&mut tree, "date_of_birth", d, reg.min_age)
            .map(|d| d.to_string()),
        None if reg.require_date_of_birth => {
            tree.add(
                &["date_of_birth"],
                "BASE_TYPE_REQUIRED",
                "This field is required",
            );
            None
        }
        None => None,
    };
    if let Some(name) = &account.global_name {
        validate::display_name(&mut tree, "global_name", name, 1, 32);
    }
    if tree.is_empty() && state.store.name_taken(&username, "0").await? {
        tree.add(
            &["username"],
            "USERNAME_ALREADY_TAKEN",
            "Username is unavailable. Try adding numbers, letters, underscores _ , or periods.",
        );
    }
    if let Some(e) = &email
        && tree.is_empty()
        && state.store.email_taken(e).await?
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
    let password_hash = hash_password(state, account.password).await?;
    let new = NewUser {
        id: state.ids.next(),
        username,
        discriminator: "0".to_owned(),
        global_name: account.global_name,
        email,
        bot: false,
        rights: account
            .rights
            .unwrap_or_else(|| state.config.default_rights()),
        date_of_birth,
        password_hash: Some(password_hash),
    };
    state.store.create_user(&new).await.map_err(|e| match e {
        // Lost a race with another registration of the same name or e-mail.
        StoreError::Conflict(what) if what.contains("email") => ApiError::field(
            &["email"],
            "EMAIL_ALREADY_REGISTERED",
            "Email is already registered.",
        ),
        StoreError::Conflict(_) => ApiError::field(
            &["username"],
            "USERNAME_ALREADY_TAKEN",
            "Username is unavailable. Try adding numbers, letters, underscores _ , or periods.",
        ),
        other => other.into(),
    })
}

/// A fresh token for `user`.
pub fn issue_token(state: &AppState, user: UserId, bot: bool) -> String {
    state.signer.issue(user, bot, now_ms())
}

/// Hashes a password with the configured Argon2id cost, off the async executor.
pub async fn hash_password(state: &AppState, password: String) -> ApiResult<String> {
    let cost = state.hash_cost();
    tokio::task::spawn_blocking(move || accord_auth::hash_password(&password, cost))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(ApiError::Internal)
}

/// Checks a password against a stored hash, off the async executor.
pub async fn password_matches(hash: String, password: String) -> ApiResult<bool> {
    tokio::task::spawn_blocking(move || accord_auth::verify_password(&hash, &password))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// Refuses every existing token of `user` and returns the instant from which new tokens are
/// valid; a token issued at that instant (see [`issue_token_at`]) is accepted.
pub async fn revoke_all_tokens(state: &AppState, user: UserId) -> ApiResult<u64> {
    let cutoff = now_ms() + 1;
    state.store.set_token_cutoff(user, cutoff as i64).await?;
    state.revocations.set_cutoff(user, cutoff);
    state
        .publish(Event::TokensCutOff {
            user,
            valid_after_ms: cutoff,
        })
        .await;
    Ok(cutoff)
}

/// A token for `user` issued at `ms` (after a cutoff, so it survives it).
pub fn issue_token_at(state: &AppState, user: UserId, bot: bool, ms: u64) -> String {
    state.signer.issue(user, bot, ms.max(now_ms()))
}

/// Revokes one token (logout).
pub async fn revoke_token(state: &AppState, user: UserId, token_id: String) -> ApiResult<()> {
    state.store.revoke_token(user, &token_id).await?;
    state.revocations.revoke(user, &token_id);
    state.publish(Event::TokenRevoked { user, token_id }).await;
    Ok(())
}
