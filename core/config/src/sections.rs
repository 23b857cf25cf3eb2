//! The configuration sections: one struct per `[section]` of `accord.toml`, with its defaults.
//!
//! Every field's `///` comment is copied into the generated sample file (`accord config sample`),
//! so it is written for the person running the server, not for the programmer.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::lenient;

pub(crate) const fn local(port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))
}

/// What this instance calls itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct InstanceConfig {
    /// The instance's display name, shown to users.
    #[serde(deserialize_with = "lenient::string")]
    pub name: String,
    /// A short description of the instance, shown to users. May be empty.
    #[serde(deserialize_with = "lenient::string")]
    pub description: String,
}

impl Default for InstanceConfig {
    fn default() -> Self {
        Self {
            name: "Accord".into(),
            description: String::new(),
        }
    }
}

/// The HTTP REST API (`/api/v*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Address and port the REST API listens on. Use `0.0.0.0:3001` (or `[::]:3001`) to accept
    /// connections from other machines; keep `127.0.0.1` when a reverse proxy runs on this host.
    #[serde(deserialize_with = "lenient::socket_addr")]
    pub listen: SocketAddr,
    /// The URL clients use to reach the REST API, as seen from outside (through any reverse
    /// proxy), e.g. `https://chat.example.com`. Must be an absolute `http://` or `https://` URL.
    /// When unset, `http://<listen>` is used, which only works for local testing.
    #[serde(deserialize_with = "lenient::opt_string")]
    #[schemars(example = &"https://chat.example.com")]
    pub public_url: Option<String>,
    /// Largest request body accepted, in bytes. Requests above this are refused with 413.
    /// Keep it at least `limits.attachment_size_bytes` so uploads through the API fit.
    pub max_body_bytes: usize,
    /// Origins allowed to call the API from a browser (CORS). `"*"` allows any origin; otherwise
    /// list origins such as `"https://chat.example.com"`. A single comma-separated string is also
    /// accepted, which is handy in environment variables.
    #[serde(deserialize_with = "lenient::string_list")]
    pub cors_origins: Vec<String>,
    /// Images fetched from other hosts (a webhook message's `avatar_url`).
    pub remote_images: crate::RemoteImagesConfig,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            listen: local(3001),
            public_url: None,
            max_body_bytes: 26_214_400,
            cors_origins: vec!["*".into()],
            remote_images: crate::RemoteImagesConfig::default(),
        }
    }
}

/// The real-time gateway (WebSocket) that clients keep open for events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayConfig {
    /// Address and port the gateway listens on.
    #[serde(deserialize_with = "lenient::socket_addr")]
    pub listen: SocketAddr,
    /// The WebSocket URL clients connect to, as seen from outside, e.g.
    /// `wss://gateway.chat.example.com`. Must be a `ws://` or `wss://` URL. When unset,
    /// `ws://<listen>` is advertised, which only works for local testing.
    #[serde(deserialize_with = "lenient::opt_string")]
    #[schemars(example = &"wss://gateway.chat.example.com")]
    pub public_url: Option<String>,
    /// Gateway threads, each with its own event loop and its own `SO_REUSEPORT` listener on
    /// `listen`. 0 means one per CPU core.
    pub threads: u32,
    /// The I/O driver: `auto` (io_uring when the kernel offers it, epoll otherwise),
    /// `io_uring` or `epoll`.
    pub driver: GatewayDriver,
    /// With io_uring and without `tls_cert`, hold connections as io_uring direct descriptors
    /// (each gateway thread's own table of registered files) rather than file descriptors, so
    /// that sessions do not count against the process's open-files limit (`ulimit -n`): each
    /// thread's table holds up to that limit again. Connections past a full table use file
    /// descriptors. Needs Linux 5.19 or later; older kernels fall back to file descriptors.
    pub direct_descriptors: bool,
    /// Milliseconds between heartbeats that Hello asks clients for.
    pub heartbeat_interval_ms: u64,
    /// Extra milliseconds past the heartbeat interval before a silent client is disconnected
    /// (close 4009; its session stays resumable).
    pub heartbeat_grace_ms: u64,
    /// Seconds a session stays resumable after its connection dropped.
    pub resume_timeout_secs: u64,
    /// Dispatches kept per session for replay on resume. A session that missed more cannot
    /// resume (Invalid Session).
    pub replay_buffer: u32,
    /// Dispatches queued for a connection that has not written them yet. A client that falls
    /// further behind is disconnected with 4000 and may resume.
    pub send_queue: u32,
    /// Identifies each bot may start per 24 hours (`session_start_limit.total`).
    pub identifies_per_day: u32,
    /// Identifies per 5 seconds each bot may start at once (`max_concurrency`).
    pub max_concurrency: u32,
    /// PEM certificate chain (server certificate first) for serving the gateway over TLS
    /// (`wss://`) directly, without a reverse proxy in front. Set together with `tls_key`.
    /// When set and `public_url` is unset, `wss://<listen>` is advertised. Read at start.
    #[serde(deserialize_with = "lenient::opt_string")]
    #[schemars(example = &"/etc/accord/gateway.crt")]
    pub tls_cert: Option<String>,
    /// PEM private key of `tls_cert` (PKCS#8, PKCS#1 RSA or SEC1).
    #[serde(deserialize_with = "lenient::opt_string")]
    #[schemars(example = &"/etc/accord/gateway.key")]
    pub tls_key: Option<String>,
    /// How `zlib-stream` and `zstd-stream` connections compress.
    pub compression: crate::GatewayCompressionConfig,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            listen: local(3002),
            public_url: None,
            threads: 0,
            driver: GatewayDriver::Auto,
            direct_descriptors: true,
            heartbeat_interval_ms: 41_250,
            heartbeat_grace_ms: 10_000,
            resume_timeout_secs: 180,
            replay_buffer: 2048,
            send_queue: 1024,
            identifies_per_day: 1000,
            max_concurrency: 1,
            tls_cert: None,
            tls_key: None,
            compression: crate::GatewayCompressionConfig::default(),
        }
    }
}

/// The gateway's I/O driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GatewayDriver {
    /// io_uring when available, epoll otherwise.
    #[default]
    Auto,
    /// io_uring only: start-up fails without it.
    IoUring,
    /// epoll only.
    Epoll,
}

/// The voice signalling server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct VoiceConfig {
    /// Address and port the voice signalling server listens on.
    #[serde(deserialize_with = "lenient::socket_addr")]
    pub listen: SocketAddr,
    /// The WebSocket URL clients use for voice, as seen from outside, e.g.
    /// `wss://voice.chat.example.com`. Must be a `ws://` or `wss://` URL. When unset,
    /// `ws://<listen>` is advertised.
    #[serde(deserialize_with = "lenient::opt_string")]
    #[schemars(example = &"wss://voice.chat.example.com")]
    pub public_url: Option<String>,
}

impl Default for VoiceConfig {
    fn default() -> Self {
        Self {
            listen: local(3004),
            public_url: None,
        }
    }
}

/// The database that holds all persistent state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Database connection URL: `postgres://user:password@host:5432/accord` for PostgreSQL
    /// (recommended for anything beyond a small instance) or `sqlite:///path/to/accord.db?mode=rwc`
    /// for SQLite. When unset, a SQLite database at `<data_dir>/accord.db` is used.
    #[serde(deserialize_with = "lenient::opt_string")]
    #[schemars(example = &"postgres://accord:secret@localhost:5432/accord")]
    pub url: Option<String>,
    /// Largest number of open connections per process. At least 1.
    pub max_connections: u32,
    /// Connections each process keeps open even when idle. At most `max_connections`.
    pub min_connections: u32,
    /// Seconds to wait for a free connection before a request fails.
    pub acquire_timeout_secs: u64,
    /// Tasks per process that write new messages (PostgreSQL). Messages that arrive while a
    /// writer is committing are written together in its next batch, and each is acknowledged
    /// only once committed; messages of one channel always go to the same writer. More writers
    /// suit more cores and a faster database; SQLite always uses one. At least 1.
    pub message_writers: u32,
    /// Apply pending schema migrations when the server starts. Turn off if you apply
    /// migrations yourself before upgrading.
    pub migrate_on_start: bool,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 16,
            min_connections: 0,
            acquire_timeout_secs: 10,
            message_writers: 4,
            migrate_on_start: true,
        }
    }
}

/// Which message bus carries events between processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BusKind {
    /// In-process bus: everything (API, gateway, ...) must run in one process.
    #[default]
    Memory,
    /// Redis pub/sub: API and gateway processes on any number of machines share one Redis.
    Redis,
}

/// The event bus that carries events from the API to the gateways.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct BusConfig {
    /// Bus implementation. Use "redis" as soon as the API and the gateway run in more than
    /// one process.
    pub kind: BusKind,
    /// Events buffered per subscriber; a subscriber that falls further behind misses events
    /// and must resynchronise. At least 16.
    pub capacity: usize,
    /// Redis server for `kind = "redis"`, as `redis://[user:password@]host:port[/db]`.
    /// It must be reachable when Accord starts; if the connection drops later, Accord
    /// reconnects by itself and sessions resynchronise. Ignored by the in-process bus.
    #[serde(deserialize_with = "lenient::string")]
    pub redis_url: String,
    /// Start of every Redis channel name Accord uses (`<prefix>:guild:<id>`, ...). Give
    /// each Accord deployment that shares a Redis server its own prefix. Letters, digits,
    /// `-`, `_` and `.` only. Ignored by the in-process bus.
    #[serde(deserialize_with = "lenient::string")]
    pub channel_prefix: String,
    /// How long Redis keeps every event in the event log (`<prefix>:log`), in seconds. A
    /// gateway catches up from it after losing its Redis connection, and a session resumes on
    /// another gateway process from it (after the process holding it died), so keep it
    /// longer than `gateway.resume_timeout_secs` plus a heartbeat interval. At least 10.
    /// Ignored by the in-process bus.
    pub log_retention_secs: u64,
    /// At most about this many events are kept in the event log, whatever their age (a cap
    /// on Redis memory under heavy traffic). At least 1000. Ignored by the in-process bus.
    pub log_max_len: u64,
}

impl Default for BusConfig {
    fn default() -> Self {
        Self {
            kind: BusKind::Memory,
            capacity: 4096,
            redis_url: "redis://127.0.0.1:6379".into(),
            channel_prefix: "accord".into(),
            log_retention_secs: 300,
            log_max_len: 1_000_000,
        }
    }
}

/// Snowflake ID generation. Every process that creates IDs at the same time must have a
/// different (`worker_id`, `process_id`) pair, or IDs can collide.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SnowflakeConfig {
    /// Worker number embedded in generated IDs, 0 to 31 (e.g. one per machine).
    pub worker_id: u8,
    /// Process number embedded in generated IDs, 0 to 31 (e.g. one per process on a machine).
    pub process_id: u8,
}

/// Who may create an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RegisterMode {
    /// Anyone can register.
    #[default]
    Open,
    /// Nobody can register; operators create accounts.
    Closed,
    /// Registration requires a valid invite.
    InviteOnly,
}

/// Account registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RegisterConfig {
    /// Who may create an account.
    pub mode: RegisterMode,
    /// Refuse registrations without an email address.
    pub require_email: bool,
    /// Refuse registrations without a date of birth.
    pub require_date_of_birth: bool,
    /// Minimum age in years for a date of birth given at registration. 0 disables the check.
    pub min_age: u8,
    /// Username length rules.
    pub username: UsernameConfig,
    /// Password rules for new and changed passwords.
    pub password: PasswordConfig,
}

impl Default for RegisterConfig {
    fn default() -> Self {
        Self {
            mode: RegisterMode::Open,
            require_email: false,
            require_date_of_birth: false,
            min_age: 13,
            username: UsernameConfig::default(),
            password: PasswordConfig::default(),
        }
    }
}

/// Username length rules, in characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct UsernameConfig {
    /// Shortest allowed username, 1 to 32.
    pub min_length: u16,
    /// Longest allowed username, 1 to 32, at least `min_length`.
    pub max_length: u16,
}

impl Default for UsernameConfig {
    fn default() -> Self {
        Self {
            min_length: 2,
            max_length: 32,
        }
    }
}

/// Password rules, lengths in characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordConfig {
    /// Shortest allowed password. At least 1.
    pub min_length: u16,
    /// Longest allowed password, at most 1024 and at least `min_length`.
    pub max_length: u16,
    /// Require at least one letter.
    pub require_letter: bool,
    /// Require at least one digit.
    pub require_digit: bool,
    /// Require at least one character that is neither a letter nor a digit.
    pub require_symbol: bool,
}

impl Default for PasswordConfig {
    fn default() -> Self {
        Self {
            min_length: 8,
            max_length: 128,
            require_letter: false,
            require_digit: false,
            require_symbol: false,
        }
    }
}

/// Secrets, proxies and password hashing.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SecurityConfig {
    /// Secret used to sign login tokens, at least 32 characters (generate one with e.g.
    /// `openssl rand -base64 48`). When unset, a random secret is generated at first start and
    /// stored in the database, so every process shares it. Changing it logs everyone out.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub token_secret: Option<String>,
    /// Reverse proxies whose `X-Forwarded-For` header is believed, as IP addresses or CIDR ranges,
    /// e.g. `["127.0.0.1", "10.0.0.0/8", "::1/128"]`. Leave empty when clients connect directly.
    #[serde(deserialize_with = "lenient::string_list")]
    pub trusted_proxies: Vec<String>,
    /// Argon2id password hashing cost. Higher is slower for attackers and for logins.
    pub argon2: Argon2Config,
}

/// Argon2id parameters (the defaults follow the OWASP recommendation). Changing them only
/// affects passwords hashed afterwards; existing hashes keep working.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Argon2Config {
    /// Memory per hash in KiB. At least 8 × `parallelism`.
    pub memory_kib: u32,
    /// Number of passes. At least 1.
    pub iterations: u32,
    /// Lanes computed in parallel. At least 1.
    pub parallelism: u32,
}

impl Default for Argon2Config {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// Size and count limits enforced by the API. Every value must be at least 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Longest message content, in characters.
    pub message_length: u32,
    /// Guilds a user account may be a member of.
    pub guilds_per_user: u32,
    /// Guilds a bot account may be a member of.
    pub guilds_per_bot: u32,
    /// Roles per guild.
    pub roles_per_guild: u32,
    /// Channels (including categories) per guild.
    pub channels_per_guild: u32,
    /// Members per guild.
    pub members_per_guild: u32,
    /// Pinned messages per channel.
    pub pins_per_channel: u32,
    /// Days a guild's audit log entries are kept (Discord keeps them 45 days); older ones are
    /// removed as new ones are written.
    pub audit_log_retention_days: u32,
    /// Active (unarchived) threads per guild (Discord: 1000).
    pub active_threads_per_guild: u32,
    /// How often, in seconds, active threads are checked for inactivity and archived once
    /// their `auto_archive_duration` has passed without a message.
    pub thread_archive_check_secs: u32,
    /// Distinct reactions per message.
    pub reactions_per_message: u32,
    /// Webhooks per channel.
    pub webhooks_per_channel: u32,
    /// Custom emojis per guild.
    pub emojis_per_guild: u32,
    /// Custom stickers per guild (Discord's unboosted guild has 5).
    pub stickers_per_guild: u32,
    /// Active invites per guild.
    pub invites_per_guild: u32,
    /// Applications (and their bots) a user may own.
    pub applications_per_user: u32,
    /// Embeds per message.
    pub embeds_per_message: u32,
    /// Attachments per message.
    pub attachments_per_message: u32,
    /// Largest single attachment, in bytes.
    pub attachment_size_bytes: u64,
    /// Longest profile "about me" text, in characters.
    pub bio_length: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            message_length: 2000,
            guilds_per_user: 100,
            guilds_per_bot: 200,
            roles_per_guild: 250,
            channels_per_guild: 500,
            members_per_guild: 250_000,
            pins_per_channel: 250,
            audit_log_retention_days: 45,
            active_threads_per_guild: 1000,
            thread_archive_check_secs: 60,
            reactions_per_message: 20,
            webhooks_per_channel: 15,
            emojis_per_guild: 50,
            stickers_per_guild: 5,
            invites_per_guild: 1000,
            applications_per_user: 25,
            embeds_per_message: 10,
            attachments_per_message: 10,
            attachment_size_bytes: 26_214_400,
            bio_length: 190,
        }
    }
}

/// Rights that new accounts may never get by default: administrative ones.
pub(crate) const ADMIN_RIGHTS: &[&str] = &[
    "OPERATOR",
    "MANAGE_USERS",
    "MANAGE_GUILDS",
    "MANAGE_MESSAGES",
    "MANAGE_APPLICATIONS",
    "BYPASS_RATE_LIMITS",
    "VIEW_INSTANCE_STATS",
];

/// Instance rights (what an account may do on this instance, independent of any guild).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RightsConfig {
    /// Rights given to every newly registered account. Known rights: OPERATOR, MANAGE_USERS,
    /// MANAGE_GUILDS, MANAGE_MESSAGES, MANAGE_APPLICATIONS, BYPASS_RATE_LIMITS,
    /// CREATE_APPLICATIONS, CREATE_GUILDS, JOIN_GUILDS, CREATE_DMS, CREATE_GROUP_DMS,
    /// SEND_MESSAGES, ADD_REACTIONS, CREATE_INVITES, CREATE_WEBHOOKS, USE_VOICE, USE_VIDEO,
    /// EDIT_OWN_PROFILE, DELETE_OWN_ACCOUNT, VIEW_INSTANCE_STATS. Existing accounts keep theirs.
    #[serde(deserialize_with = "lenient::string_list")]
    pub default: Vec<String>,
}

impl Default for RightsConfig {
    fn default() -> Self {
        Self {
            default: accord_model::Rights::NAMED
                .iter()
                .map(|(name, _)| *name)
                .filter(|name| !ADMIN_RIGHTS.contains(name))
                .map(String::from)
                .collect(),
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Logging, written to standard output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// Which messages to log, in `tracing` filter syntax: a level (`error`, `warn`, `info`,
    /// `debug`, `trace`) optionally followed by per-module levels, e.g.
    /// `"info,accord_api=debug"`.
    #[serde(deserialize_with = "lenient::string")]
    pub filter: String,
    /// Output format.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            filter: "info".into(),
            format: LogFormat::Text,
        }
    }
}
