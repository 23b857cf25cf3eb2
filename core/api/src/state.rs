//! The state every handler shares: configuration, store, bus, token verifier, id generator.

use std::sync::Arc;

use accord_auth::{HashCost, PasswordRules, Revocations, TokenSigner, UrlSigningKey};
use accord_blobs::{BlobError, Blobs};
use accord_bus::{Audience, Bus, Event};
use accord_config::Config;
use accord_model::SnowflakeGenerator;
use accord_store::Store;
use base64::Engine;

use crate::services::identify_budget::IdentifyBudget;
use crate::services::permission_cache::PermissionCache;
use crate::services::user_cache::UserCache;

/// Name of the instance setting that holds the generated token secret.
const TOKEN_SECRET_KEY: &str = "token_secret";

/// Handler state (cheap to clone).
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// What [`AppState`] holds.
pub struct Inner {
    /// The loaded configuration.
    pub config: Arc<Config>,
    /// The database.
    pub store: Store,
    /// The event bus.
    pub bus: Bus,
    /// Signs and checks tokens.
    pub signer: TokenSigner,
    /// Signs attachment URLs (`cdn.signed_urls`), derived from the token secret.
    pub url_key: UrlSigningKey,
    /// Revoked tokens, shared with every service of the process.
    pub revocations: Arc<Revocations>,
    /// Snowflake generator.
    pub ids: SnowflakeGenerator,
    /// Computed channel permissions.
    pub permissions: Arc<PermissionCache>,
    /// Recently read user rows, for showing authors.
    pub users: Arc<UserCache>,
    /// Identifies left per account today (`session_start_limit`).
    pub identifies: Arc<IdentifyBudget>,
    /// Uploaded files (attachments, emoji images): local disk or S3, as configured.
    pub blobs: Blobs,
    /// Images fetched from other hosts (`api.remote_images`), and the URLs already fetched.
    pub remote_images: crate::services::remote_images::RemoteImages,
}

/// Why the state could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The database failed (reading the token secret or revocations).
    #[error(transparent)]
    Store(#[from] accord_store::StoreError),
    /// The configured file storage could not be set up (`[cdn]`).
    #[error(transparent)]
    Blobs(#[from] BlobError),
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("backend", &self.store.backend())
            .finish()
    }
}

impl AppState {
    /// Builds the state: resolves the token secret (from the config, or generated once and
    /// shared through the database), loads the revocation state, and keeps it current from the
    /// bus; opens the configured file storage.
    pub async fn new(config: Arc<Config>, store: Store, bus: Bus) -> Result<Self, StateError> {
        let blobs = Blobs::from_config(&config)?;
        let secret = token_secret(&config, &store).await?;
        let signer = TokenSigner::new(secret.as_bytes());
        let url_key = UrlSigningKey::derive(secret.as_bytes());
        let revocations = Arc::new(Revocations::new());
        load_revocations(&store, &revocations).await?;
        let permissions = Arc::new(PermissionCache::new());
        let users = Arc::new(UserCache::new());
        spawn_bus_listener(
            &bus,
            store.clone(),
            revocations.clone(),
            permissions.clone(),
            users.clone(),
        );
        let config_identifies = config.gateway.identifies_per_day;
        let remote_images =
            crate::services::remote_images::RemoteImages::new(config.api.remote_images.clone());
        let ids = SnowflakeGenerator::new(config.snowflake.worker_id, config.snowflake.process_id);
        Ok(Self(Arc::new(Inner {
            config,
            store,
            bus,
            signer,
            url_key,
            revocations,
            ids,
            permissions,
            users,
            identifies: Arc::new(IdentifyBudget::new(config_identifies)),
            remote_images,
            blobs,
        })))
    }

    /// Argon2id cost from the configuration.
    pub fn hash_cost(&self) -> HashCost {
        let a = &self.config.security.argon2;
        HashCost {
            memory_kib: a.memory_kib,
            iterations: a.iterations,
            parallelism: a.parallelism,
        }
    }

    /// Password rules from the configuration.
    pub fn password_rules(&self) -> PasswordRules {
        let p = &self.config.register.password;
        PasswordRules {
            min_length: p.min_length.into(),
            max_length: p.max_length.into(),
            require_letter: p.require_letter,
            require_digit: p.require_digit,
            require_symbol: p.require_symbol,
        }
    }

    /// Publishes the gateway dispatch `name` with payload `data` to `audience`. Dispatches that
    /// can change permissions in a guild invalidate this process's cached permissions first, so
    /// no request served after this returns sees stale ones (other processes invalidate when
    /// the event reaches them).
    pub async fn dispatch<T: serde::Serialize>(&self, name: &str, audience: Audience, data: &T) {
        match Event::dispatch(name, audience, data) {
            Ok(event) => {
                if let Event::Dispatch(d) = &event
                    && let Some(guild) = PermissionCache::invalidated_guild(d)
                {
                    self.permissions.invalidate_guild(guild);
                }
                self.publish(event).await
            }
            Err(e) => tracing::error!(error = %e, event = name, "cannot serialise dispatch"),
        }
    }

    /// Publishes an event, logging (not failing the request) if the bus refuses it: the change
    /// it describes is already committed.
    pub async fn publish(&self, event: Event) {
        forget_updated_users(&self.users, &event);
        if let Err(e) = self.bus.publish(event).await {
            tracing::error!(error = %e, "bus publish failed");
        }
    }
}

/// The key attachment URLs are signed with: derived from the token secret (configured, or
/// generated on first start and stored in the database), as the API's own. For processes that
/// verify URLs without running the API (`accord cdn`).
pub async fn url_signing_key(
    config: &Config,
    store: &Store,
) -> Result<UrlSigningKey, accord_store::StoreError> {
    Ok(UrlSigningKey::derive(
        token_secret(config, store).await?.as_bytes(),
    ))
}

/// The configured secret, or the one stored in the database (generated on first start).
async fn token_secret(config: &Config, store: &Store) -> Result<String, accord_store::StoreError> {
    if let Some(secret) = &config.security.token_secret {
        return Ok(secret.clone());
    }
    let fresh: [u8; 48] = rand::random();
    store
        .setting_or_init(
            TOKEN_SECRET_KEY,
            &base64::engine::general_purpose::STANDARD.encode(fresh),
        )
        .await
}

/// Applies revocations and permission invalidations published by any service (here or, with a
/// shared bus, elsewhere).
fn spawn_bus_listener(
    bus: &Bus,
    store: Store,
    revocations: Arc<Revocations>,
    permissions: Arc<PermissionCache>,
    users: Arc<UserCache>,
) {
    let mut sub = bus.subscribe();
    tokio::spawn(async move {
        loop {
            let event = sub.recv().await;
            if let Ok(e) = &event {
                forget_updated_users(&users, e);
            }
            match event {
                Ok(Event::TokensCutOff {
                    user,
                    valid_after_ms,
                }) => revocations.set_cutoff(user, valid_after_ms),
                Ok(Event::TokenRevoked { user, token_id }) => revocations.revoke(user, &token_id),
                // Gateways' business.
                Ok(Event::SessionMoved { .. }) => {}
                Ok(Event::Dispatch(d)) => {
                    if let Some(guild) = PermissionCache::invalidated_guild(&d) {
                        permissions.invalidate_guild(guild);
                    }
                }
                Err(accord_bus::RecvError::Lagged(n)) => {
                    // Missed events may have invalidated anything: start the cache over.
                    tracing::warn!(missed = n, "bus listener lagged behind the bus");
                    permissions.invalidate_all();
                    users.clear();
                    // Revocations published meanwhile are lost with the events: reload them.
                    if let Err(e) = load_revocations(&store, &revocations).await {
                        tracing::error!(error = %e, "cannot reload token revocations");
                    }
                }
                Err(accord_bus::RecvError::Closed) => break,
            }
        }
    });
}

/// Drops the cached rows of users a USER_UPDATE is about.
fn forget_updated_users(users: &UserCache, event: &Event) {
    if let Event::Dispatch(d) = event
        && d.name == "USER_UPDATE"
        && let Audience::Users(ids) = &d.audience
    {
        users.forget(ids);
    }
}

/// Applies every revocation the database holds (at start, and after missed bus events).
async fn load_revocations(
    store: &Store,
    revocations: &Revocations,
) -> Result<(), accord_store::StoreError> {
    for (user, ms) in store.token_cutoffs().await? {
        revocations.set_cutoff(user, ms.max(0) as u64);
    }
    for (user, token_id) in store.revoked_tokens().await? {
        revocations.revoke(user, &token_id);
    }
    Ok(())
}
