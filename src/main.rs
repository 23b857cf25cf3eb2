//! `accord`: the one binary. With no command it runs every service in one process (API,
//! gateway, CDN, and the edge proxy when `edge.enabled`) on the configured database (an
//! embedded SQLite file by default); subcommands run one service, apply migrations, print the
//! sample configuration, or administer accounts.

mod admin;
mod serve;

/// mimalloc rather than the system allocator: it returns freed memory to the system, which
/// matters for the gateway, whose idle connections give back their compression state (with
/// glibc the process kept it: 334 KiB against 28 KiB per idle zlib-stream session, see
/// benches/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "accord",
    version,
    about = "A self-hosted chat server that speaks Discord's protocol"
)]
struct Cli {
    /// Configuration file (TOML). Defaults to $ACCORD_CONFIG, then ./accord.toml if present.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the REST API alone.
    Api,
    /// Run the WebSocket gateway alone.
    Gateway,
    /// Run the CDN alone (serves uploaded files from the configured storage).
    Cdn,
    /// Run the edge proxy alone (routes, health checks and IP filter of the [edge] section).
    Edge {
        /// Take the listening socket over from the running edge (zero-downtime upgrade): wait
        /// on edge.upgrade_sock for it, then send the running edge SIGQUIT.
        #[arg(long)]
        upgrade: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Configuration helpers.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Administer accounts, rights and bots directly in the database.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print a documented sample configuration generated from the configuration struct.
    Sample,
    /// Load and validate the configuration, then print it as TOML.
    Check,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Config(ConfigCommand::Sample)) = &cli.command {
        print!("{}", accord_config::sample());
        return ExitCode::SUCCESS;
    }
    let config = match accord_config::Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("accord: invalid configuration:\n{e}");
            return ExitCode::from(2);
        }
    };
    if let Some(Command::Config(ConfigCommand::Check)) = &cli.command {
        // What was loaded, without the secrets in it.
        match toml::to_string(&config.redacted()) {
            Ok(text) => {
                print!("{text}");
                return ExitCode::SUCCESS;
            }
            Err(e) => {
                eprintln!("accord: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    serve::init_logging(&config);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("accord: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            None => serve::run(config, serve::Services::All).await,
            Some(Command::Api) => serve::run(config, serve::Services::Api).await,
            Some(Command::Gateway) => serve::run(config, serve::Services::Gateway).await,
            Some(Command::Cdn) => serve::run(config, serve::Services::Cdn).await,
            Some(Command::Edge { upgrade }) => serve::run_edge(config, upgrade).await,
            Some(Command::Migrate) => serve::migrate_only(config).await,
            Some(Command::Admin(cmd)) => admin::run(config, cmd).await,
            Some(Command::Config(_)) => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("accord: {e:#}");
            ExitCode::FAILURE
        }
    }
}
