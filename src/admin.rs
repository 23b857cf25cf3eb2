//! `accord admin`: account administration straight against the database, for operators (the
//! first operator account is made this way).

use std::sync::Arc;

use accord_api::AppState;
use accord_api::services::{accounts, applications};
use accord_config::Config;
use accord_model::{Rights, UserId};
use accord_store::{Store, UserRecord};
use anyhow::{Context, anyhow, bail};
use clap::Subcommand;

/// Administration commands.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a person's account (printing its id and a token).
    CreateUser {
        /// Username.
        #[arg(long)]
        username: String,
        /// Password (prefer --password-env in scripts, to keep it out of the process list).
        #[arg(long, conflicts_with = "password_env")]
        password: Option<String>,
        /// Name of an environment variable holding the password.
        #[arg(long)]
        password_env: Option<String>,
        /// E-mail address.
        #[arg(long)]
        email: Option<String>,
        /// Make the account an operator (every instance right).
        #[arg(long)]
        operator: bool,
    },
    /// Grant instance rights to a user (by id or username).
    GrantRights {
        /// User id or username.
        #[arg(long)]
        user: String,
        /// Right names, e.g. OPERATOR, MANAGE_USERS, CREATE_GUILDS.
        #[arg(required = true)]
        rights: Vec<String>,
    },
    /// Revoke instance rights from a user.
    RevokeRights {
        /// User id or username.
        #[arg(long)]
        user: String,
        /// Right names.
        #[arg(required = true)]
        rights: Vec<String>,
    },
    /// Create an application with a bot for a user, printing the bot's token.
    CreateBot {
        /// Owner: user id or username.
        #[arg(long)]
        owner: String,
        /// Application (and bot) name.
        #[arg(long)]
        name: String,
        /// Enable the privileged intents (presence, guild members, message content).
        #[arg(long)]
        privileged_intents: bool,
    },
    /// List the instance rights there are.
    ListRights,
}

/// Runs one admin command.
pub async fn run(config: Config, cmd: AdminCommand) -> anyhow::Result<()> {
    if let AdminCommand::ListRights = cmd {
        for (name, right) in Rights::NAMED {
            println!("{name:<24} {}", right.bits());
        }
        return Ok(());
    }
    let config = Arc::new(config);
    let store = crate::serve::open_store(&config).await?;
    let state = AppState::new(
        config.clone(),
        store.clone(),
        crate::serve::open_bus(&config, accord_bus::Interest::Everything).await?,
    )
    .await?;
    let result = run_with(&state, &store, cmd).await;
    store.close().await;
    result
}

async fn run_with(state: &AppState, store: &Store, cmd: AdminCommand) -> anyhow::Result<()> {
    match cmd {
        AdminCommand::CreateUser {
            username,
            password,
            password_env,
            email,
            operator,
        } => {
            let password = match (password, password_env) {
                (Some(p), _) => p,
                (None, Some(var)) => std::env::var(&var)
                    .with_context(|| format!("environment variable {var} is not set"))?,
                (None, None) => bail!("give --password or --password-env"),
            };
            let rights = operator.then(|| Rights::OPERATOR | state.config.default_rights());
            let account = accounts::NewAccount {
                username,
                password,
                email,
                rights,
                ..Default::default()
            };
            let user = accounts::create_person(state, account)
                .await
                .map_err(describe)?;
            let token = accounts::issue_token(state, user.user_id(), false);
            println!(
                "created user {} ({}) with rights {:?}",
                user.username,
                user.id,
                user.rights().names()
            );
            println!("token: {token}");
        }
        AdminCommand::GrantRights { user, rights } => {
            let user = find_user(store, &user).await?;
            let rights = user.rights() | parse_rights(&rights)?;
            store.set_rights(user.user_id(), rights).await?;
            println!(
                "{} ({}) now has {:?}",
                user.username,
                user.id,
                rights.names()
            );
        }
        AdminCommand::RevokeRights { user, rights } => {
            let user = find_user(store, &user).await?;
            let rights = user.rights() & !parse_rights(&rights)?;
            store.set_rights(user.user_id(), rights).await?;
            println!(
                "{} ({}) now has {:?}",
                user.username,
                user.id,
                rights.names()
            );
        }
        AdminCommand::CreateBot {
            owner,
            name,
            privileged_intents,
        } => {
            let owner = find_user(store, &owner).await?;
            let app = applications::create(state, owner.user_id(), &name, None)
                .await
                .map_err(describe)?;
            let app = if privileged_intents {
                let patch = accord_store::ApplicationPatch {
                    flags: Some(
                        app.flags
                            | accord_api::routes::applications::common::settable_flags() as i64,
                    ),
                    ..Default::default()
                };
                store
                    .update_application(app.application_id(), &patch)
                    .await?
            } else {
                app
            };
            let (bot, token) = applications::create_bot(state, &app)
                .await
                .map_err(describe)?;
            println!(
                "created application {} ({}) with bot {}#{} ({})",
                app.name, app.id, bot.username, bot.discriminator, bot.id
            );
            println!("token: {token}");
        }
        AdminCommand::ListRights => {}
    }
    Ok(())
}

fn parse_rights(names: &[String]) -> anyhow::Result<Rights> {
    names.iter().try_fold(Rights::NONE, |acc, name| {
        Rights::from_name(&name.to_ascii_uppercase())
            .map(|r| acc | r)
            .ok_or_else(|| anyhow!("unknown right {name:?} (see `accord admin list-rights`)"))
    })
}

async fn find_user(store: &Store, which: &str) -> anyhow::Result<UserRecord> {
    if let Ok(id) = which.parse::<UserId>()
        && let Some(u) = store.user(id).await?
    {
        return Ok(u);
    }
    match store.user_for_login(which).await? {
        Some((u, _)) => Ok(u),
        None => bail!("no user {which:?}"),
    }
}

/// Turns an API error (with its field errors) into a readable message.
fn describe(e: accord_api::ApiError) -> anyhow::Error {
    let body = e.body();
    match body.errors {
        Some(tree) => anyhow!(
            "{}: {}",
            body.message,
            serde_json::to_string(&tree).unwrap_or_default()
        ),
        None => anyhow!("{}", body.message),
    }
}
