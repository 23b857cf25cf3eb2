//! Accord's typed configuration: built-in defaults, then a TOML file, then `ACCORD_` environment
//! variables (nested keys separated by `__`), validated at load time.
//!
//! ```no_run
//! let config = accord_config::Config::load(None)?;
//! println!("API at {}", config.api_public_url());
//! # Ok::<(), accord_config::ConfigError>(())
//! ```

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::{Figment, Metadata};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod cdn;
mod edge;
mod edge_acme;
mod edge_limits;
mod edge_ops;
mod edge_tls;
mod gateway_compression;
mod interactions;
mod lenient;
mod rate_limits;
mod redact;
mod remote_images;
mod sample;
mod sections;
mod validate;

pub use cdn::*;
pub use edge::{BUILT_IN_UPSTREAMS, EdgeConfig, EdgeIpFilterConfig, EdgeRoute};
pub use edge_acme::{AcmeChallenge, EdgeAcmeConfig, LETS_ENCRYPT_DIRECTORY};
pub use edge_limits::{EdgeBlockingConfig, EdgeThrottleConfig, EdgeThrottleRule, ThrottleKey};
pub use edge_ops::{
    AccessLogFormat, EdgeLimitsConfig, EdgeTimeoutsConfig, PINGORA_MAX_HEADER_BYTES,
    PINGORA_MAX_HEADERS,
};
pub use edge_tls::{EdgeHstsConfig, EdgeTlsCertificate, EdgeTlsConfig, EdgeTlsFiles};
pub use gateway_compression::GatewayCompressionConfig;
pub use interactions::InteractionsConfig;
pub use rate_limits::*;
pub use remote_images::RemoteImagesConfig;
pub use sample::sample;
pub use sections::*;
pub use validate::IpNet;

/// Prefix of the environment variables that override settings.
pub const ENV_PREFIX: &str = "ACCORD_";
/// Environment variable naming the configuration file to read.
pub const ENV_CONFIG_FILE: &str = "ACCORD_CONFIG";
/// File read when no file is named and it exists in the working directory.
pub const DEFAULT_CONFIG_FILE: &str = "accord.toml";

/// Accord configuration.
///
/// Settings come from, in increasing priority: built-in defaults, a TOML file, then environment
/// variables. The file is the one named on the command line, else the one named by the
/// `ACCORD_CONFIG` environment variable, else `./accord.toml` if it exists.
///
/// Every key can also be set with an environment variable `ACCORD_<SECTION>__<KEY>`, with `__`
/// between nesting levels, e.g. `ACCORD_API__LISTEN=0.0.0.0:3001`,
/// `ACCORD_DATABASE__URL=postgres://accord:secret@db/accord` or
/// `ACCORD_REGISTER__PASSWORD__MIN_LENGTH=10`. Lists are written `[a, b]`.
///
/// Keys shown commented out have no default value; uncomment them to set them.
/// Unknown keys are rejected, so a misspelt key is an error rather than silently ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Directory for local state: the default SQLite database and anything else stored on disk.
    /// Relative paths are relative to the working directory the server is started from.
    pub data_dir: PathBuf,
    /// What this instance calls itself.
    pub instance: InstanceConfig,
    /// The HTTP REST API.
    pub api: ApiConfig,
    /// The real-time gateway (WebSocket).
    pub gateway: GatewayConfig,
    /// The content server for avatars, icons, emojis and attachments.
    pub cdn: CdnConfig,
    /// The voice signalling server.
    pub voice: VoiceConfig,
    /// The database holding all persistent state.
    pub database: DatabaseConfig,
    /// The event bus that carries events between the API and the gateways.
    pub bus: BusConfig,
    /// Snowflake ID generation. Every process creating IDs at the same time needs a distinct
    /// (`worker_id`, `process_id`) pair, or IDs can collide.
    pub snowflake: SnowflakeConfig,
    /// Account registration.
    pub register: RegisterConfig,
    /// Secrets, trusted proxies and password hashing.
    pub security: SecurityConfig,
    /// Size and count limits enforced by the API. Every value must be at least 1.
    pub limits: LimitsConfig,
    /// Application commands and interactions.
    pub interactions: InteractionsConfig,
    /// Instance rights: what an account may do on this instance, independent of any guild.
    pub rights: RightsConfig,
    /// REST rate limits (Discord-style buckets, headers and 429 responses).
    pub rate_limits: RateLimitsConfig,
    /// Logging, written to standard output.
    pub log: LogConfig,
    /// The edge proxy: one public HTTP port in front of the REST API, gateway and CDN (or of
    /// any HTTP/WebSocket backend), with host and path routing, health-checked upstreams and an
    /// IP allow/deny list. `accord edge` runs it alone; `enabled = true` runs it inside the
    /// default `accord`. Behind it, set `api.public_url` and `cdn.public_url` to the edge's
    /// address and `gateway.public_url` to `ws://<edge address>/gateway` (`wss://` when TLS is
    /// terminated in front), and list the edge's address in `security.trusted_proxies` so the
    /// services see the client addresses it forwards in `X-Forwarded-For`.
    pub edge: EdgeConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            instance: InstanceConfig::default(),
            api: ApiConfig::default(),
            gateway: GatewayConfig::default(),
            cdn: CdnConfig::default(),
            voice: VoiceConfig::default(),
            database: DatabaseConfig::default(),
            bus: BusConfig::default(),
            snowflake: SnowflakeConfig::default(),
            register: RegisterConfig::default(),
            security: SecurityConfig::default(),
            limits: LimitsConfig::default(),
            interactions: InteractionsConfig::default(),
            rights: RightsConfig::default(),
            rate_limits: RateLimitsConfig::default(),
            log: LogConfig::default(),
            edge: EdgeConfig::default(),
        }
    }
}

impl Config {
    /// Loads and validates the configuration: defaults, then the TOML file, then `ACCORD_*`
    /// environment variables.
    ///
    /// The file is `file` if given, else the path in `ACCORD_CONFIG` if set (either must exist),
    /// else `./accord.toml` if it exists; with none of these only defaults and the environment
    /// apply.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        match file {
            Some(path) if !path.is_file() => {
                return Err(ConfigError::FileNotFound {
                    path: path.to_owned(),
                    from_env: false,
                });
            }
            None => {
                if let Some(path) = env_config_file()
                    && !path.is_file()
                {
                    return Err(ConfigError::FileNotFound {
                        path,
                        from_env: true,
                    });
                }
            }
            Some(_) => {}
        }
        Self::from_figment(Self::figment(file))
    }

    /// The figment [`Config::load`] extracts from (file chosen the same way, but a missing named
    /// file only shows up as an error at extraction). Tests and tools can add providers to it.
    pub fn figment(file: Option<&Path>) -> Figment {
        let file = file
            .map(Path::to_path_buf)
            .or_else(env_config_file)
            .or_else(|| {
                let local = PathBuf::from(DEFAULT_CONFIG_FILE);
                local.is_file().then_some(local)
            });
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment.merge(Env::prefixed(ENV_PREFIX).ignore(&["CONFIG"]).split("__"))
    }

    /// Extracts and validates a configuration from `figment`. Errors name the offending key and,
    /// where known, the file or environment variable it came from.
    pub fn from_figment(figment: Figment) -> Result<Config, ConfigError> {
        let config: Config = figment.extract().map_err(|e| {
            ConfigError::Invalid(
                e.into_iter()
                    .map(|e| {
                        let source = e
                            .metadata
                            .as_ref()
                            .and_then(|md| describe_source(md, &e.path));
                        Problem {
                            key: e.path.join("."),
                            message: describe_kind(&e.kind),
                            source,
                        }
                    })
                    .collect(),
            )
        })?;
        config.validate().map_err(|e| match e {
            ConfigError::Invalid(problems) => ConfigError::Invalid(
                problems
                    .into_iter()
                    .map(|mut p| {
                        if p.source.is_none() {
                            let path: Vec<String> = p.key.split('.').map(String::from).collect();
                            p.source = figment
                                .find_metadata(&p.key)
                                .and_then(|md| describe_source(md, &path));
                        }
                        p
                    })
                    .collect(),
            ),
            other => other,
        })?;
        Ok(config)
    }

    /// Checks every rule (ranges, URL schemes, right names, ...), reporting all problems at once.
    pub fn validate(&self) -> Result<(), ConfigError> {
        validate::validate(self)
    }

    /// The public REST API base URL: `api.public_url` without a trailing slash, or
    /// `http://<api.listen>`.
    pub fn api_public_url(&self) -> String {
        public_url(self.api.public_url.as_deref(), "http", self.api.listen)
    }

    /// The public gateway URL: `gateway.public_url` without a trailing slash, or
    /// `ws://<gateway.listen>`.
    pub fn gateway_public_url(&self) -> String {
        let scheme = if self.gateway.tls_cert.is_some() {
            "wss"
        } else {
            "ws"
        };
        public_url(
            self.gateway.public_url.as_deref(),
            scheme,
            self.gateway.listen,
        )
    }

    /// The public CDN base URL: `cdn.public_url` without a trailing slash, or
    /// `http://<cdn.listen>`.
    pub fn cdn_public_url(&self) -> String {
        public_url(self.cdn.public_url.as_deref(), "http", self.cdn.listen)
    }

    /// The public voice URL: `voice.public_url` without a trailing slash, or
    /// `ws://<voice.listen>`.
    pub fn voice_public_url(&self) -> String {
        public_url(self.voice.public_url.as_deref(), "ws", self.voice.listen)
    }

    /// The database URL: `database.url`, or a SQLite database `<data_dir>/accord.db` created if
    /// missing.
    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("accord.db").display()
            ),
        }
    }

    /// The rights given to new accounts (`rights.default`); unknown names are skipped (they are
    /// rejected by [`Config::validate`]).
    pub fn default_rights(&self) -> accord_model::Rights {
        self.rights
            .default
            .iter()
            .filter_map(|name| accord_model::Rights::from_name(name))
            .fold(accord_model::Rights::NONE, |acc, r| acc | r)
    }

    /// `security.trusted_proxies` parsed; invalid entries are skipped (they are rejected by
    /// [`Config::validate`]).
    pub fn trusted_proxies(&self) -> Vec<IpNet> {
        self.security
            .trusted_proxies
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect()
    }

    /// The JSON schema of the configuration (descriptions are the documented comments).
    pub fn json_schema() -> schemars::Schema {
        schemars::schema_for!(Config)
    }
}

fn env_config_file() -> Option<PathBuf> {
    std::env::var_os(ENV_CONFIG_FILE)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// A configured URL (trailing slash removed) or one derived from the listen address. An
/// unspecified listen address (`0.0.0.0`, `::`) becomes the loopback address.
fn public_url(configured: Option<&str>, scheme: &str, listen: SocketAddr) -> String {
    if let Some(url) = configured {
        return url.trim_end_matches('/').to_owned();
    }
    let mut addr = listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    format!("{scheme}://{addr}")
}

/// Where a value came from, for error messages: a file or an environment variable.
fn describe_source(md: &Metadata, path: &[String]) -> Option<String> {
    match &md.source {
        Some(figment::Source::File(file)) => Some(format!("in {} {}", md.name, file.display())),
        _ if md.name.contains("environment variable") => Some(if path.is_empty() {
            format!("from the {ENV_PREFIX}* environment variables")
        } else {
            let var = path
                .iter()
                .map(|k| k.to_ascii_uppercase())
                .collect::<Vec<_>>()
                .join("__");
            format!("from environment variable {ENV_PREFIX}{var}")
        }),
        _ => None,
    }
}

fn describe_kind(kind: &figment::error::Kind) -> String {
    use figment::error::Kind;
    let one_of = |names: &[&str]| {
        names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match kind {
        Kind::UnknownField(_, expected) => {
            format!("unknown key (valid keys here: {})", one_of(expected))
        }
        Kind::UnknownVariant(found, expected) => {
            format!(
                "unknown value `{found}`, expected one of {}",
                one_of(expected)
            )
        }
        Kind::InvalidType(found, expected) => format!("expected {expected}, found {found}"),
        Kind::InvalidValue(found, expected) => {
            format!("invalid value {found}, expected {expected}")
        }
        Kind::MissingField(field) => format!("missing key `{field}`"),
        other => other.to_string(),
    }
}

/// One thing wrong with the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The dotted key, e.g. `snowflake.worker_id`; empty when the problem is not about one key
    /// (e.g. a TOML syntax error).
    pub key: String,
    /// What is wrong, e.g. `must be between 0 and 31, got 40`.
    pub message: String,
    /// Where the value came from, e.g. `in TOML file /etc/accord.toml` or
    /// `from environment variable ACCORD_SNOWFLAKE__WORKER_ID`, when known.
    pub source: Option<String>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.key.is_empty(), &self.source) {
            (false, Some(source)) => write!(f, "{}: {} ({source})", self.key, self.message),
            (false, None) => write!(f, "{}: {}", self.key, self.message),
            (true, Some(source)) => write!(f, "{source}: {}", self.message),
            (true, None) => f.write_str(&self.message),
        }
    }
}

/// Why the configuration could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A configuration file was named explicitly (argument or `ACCORD_CONFIG`) but is missing.
    #[error("configuration file `{}`{} does not exist", .path.display(), if *.from_env { " (from ACCORD_CONFIG)" } else { "" })]
    FileNotFound {
        /// The missing file.
        path: PathBuf,
        /// Whether the path came from `ACCORD_CONFIG`.
        from_env: bool,
    },
    /// Values are malformed (wrong type, unknown key, bad syntax) or break a rule; one line per
    /// problem.
    #[error("{}", Problems(.0))]
    Invalid(Vec<Problem>),
}

impl ConfigError {
    /// The individual problems (empty for [`ConfigError::FileNotFound`]).
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Invalid(problems) => problems,
            ConfigError::FileNotFound { .. } => &[],
        }
    }
}

struct Problems<'a>(&'a [Problem]);

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
