//! The harness: a fresh database per test on each backend, id generation and small fixtures.

use std::sync::LazyLock;

use accord_model::{GuildId, Permissions, Rights, SnowflakeGenerator, UserId};
use accord_store::{NewGuild, NewUser, Store, UserRecord};
use accord_testkit::TestDb;

/// Ids for every test in the process.
pub static IDS: LazyLock<SnowflakeGenerator> = LazyLock::new(|| SnowflakeGenerator::new(0, 0));

/// A fresh snowflake.
pub fn id<T>() -> accord_model::Id<T> {
    IDS.next()
}

/// Runs `scenario` against a migrated store on a fresh database of `backend`, which is dropped
/// afterwards even when the scenario fails. A PostgreSQL test fails (never skips) when
/// PostgreSQL cannot be reached.
pub async fn run_on<F, Fut>(backend: &str, scenario: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    assert_eq!(store.backend(), backend);
    let outcome = tokio::spawn(scenario(store.clone())).await;
    store.close().await;
    db.drop_db().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Generates `#[tokio::test] async fn <sqlite name>()` and `<postgres name>()` running the
/// scenario `async fn <name>(store: Store)` on each backend.
macro_rules! on_both_backends {
    ($($scenario:ident => $sqlite:ident, $postgres:ident;)*) => {$(
        #[tokio::test]
        async fn $sqlite() {
            $crate::support::run_on("sqlite", $scenario).await;
        }

        #[tokio::test]
        async fn $postgres() {
            $crate::support::run_on("postgres", $scenario).await;
        }
    )*};
}
pub(crate) use on_both_backends;

/// A person's registration with a unique name and e-mail derived from `name`.
pub fn new_user(name: &str) -> NewUser {
    NewUser {
        id: id(),
        username: name.to_owned(),
        discriminator: "0".to_owned(),
        global_name: None,
        email: Some(format!("{name}@example.test")),
        bot: false,
        rights: Rights::from_bits(Rights::CREATE_GUILDS.bits() | Rights::JOIN_GUILDS.bits()),
        date_of_birth: Some("2000-01-01".to_owned()),
        password_hash: Some(format!("$argon2id$fake${name}")),
    }
}

/// Creates a person named `name`.
pub async fn user(store: &Store, name: &str) -> UserRecord {
    store
        .create_user(&new_user(name))
        .await
        .expect("create user")
}

/// Creates a guild owned by `owner` with @everyone allowed to view and send.
pub async fn guild(store: &Store, owner: UserId, name: &str) -> GuildId {
    let perms = Permissions::VIEW_CHANNEL | Permissions::SEND_MESSAGES;
    let g = store
        .create_guild(&NewGuild::new(id(), name, owner, perms))
        .await
        .expect("create guild");
    g.guild_id()
}
