//! Validation rules checked at load time, and the IP range type used by `security.trusted_proxies`.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::{BusKind, Config, ConfigError, Problem, StorageKind};

/// An IP address range in CIDR notation (`10.0.0.0/8`, `::1/128`); a plain address is a range of
/// one (`/32` or `/128`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// The address as written (host bits are kept; they are ignored by [`IpNet::contains`]).
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length in bits.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` falls within this range. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`)
    /// match IPv4 ranges.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{addr}` is not an IPv4 or IPv6 address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if n <= max => n,
                _ => {
                    return Err(format!(
                        "prefix length `/{p}` must be a number from 0 to {max}"
                    ));
                }
            },
        };
        Ok(IpNet { addr, prefix })
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Collects problems found while checking a [`Config`].
struct Checker(Vec<Problem>);

impl Checker {
    fn fail(&mut self, key: &str, message: impl Into<String>) {
        self.0.push(Problem {
            key: key.into(),
            message: message.into(),
            source: None,
        });
    }

    fn range<T: PartialOrd + fmt::Display>(&mut self, key: &str, value: T, min: T, max: T) {
        if value < min || value > max {
            self.fail(key, format!("must be between {min} and {max}, got {value}"));
        }
    }

    fn at_least<T: PartialOrd + fmt::Display>(&mut self, key: &str, value: T, min: T) {
        if value < min {
            self.fail(key, format!("must be at least {min}, got {value}"));
        }
    }

    fn not_empty(&mut self, key: &str, value: &str) {
        if value.trim().is_empty() {
            self.fail(key, "must not be empty");
        }
    }

    /// An absolute URL with one of `schemes` and a host.
    fn url(&mut self, key: &str, value: Option<&str>, schemes: &[&str]) {
        let Some(value) = value else { return };
        let wanted = schemes
            .iter()
            .map(|s| format!("{s}://"))
            .collect::<Vec<_>>()
            .join(" or ");
        match url::Url::parse(value) {
            Ok(u)
                if schemes.contains(&u.scheme()) && u.host_str().is_some_and(|h| !h.is_empty()) =>
            {
                if u.query().is_some() || u.fragment().is_some() {
                    self.fail(
                        key,
                        format!("must not have a query or fragment, got `{value}`"),
                    );
                }
            }
            Ok(_) | Err(url::ParseError::RelativeUrlWithoutBase) => {
                self.fail(
                    key,
                    format!("must be an absolute {wanted} URL, got `{value}`"),
                );
            }
            Err(e) => self.fail(key, format!("is not a valid URL ({e}), got `{value}`")),
        }
    }
}

pub(crate) fn validate(c: &Config) -> Result<(), ConfigError> {
    let mut k = Checker(Vec::new());

    if c.data_dir.as_os_str().is_empty() {
        k.fail("data_dir", "must not be empty");
    }
    k.not_empty("instance.name", &c.instance.name);

    k.url(
        "api.public_url",
        c.api.public_url.as_deref(),
        &["http", "https"],
    );
    k.at_least("api.max_body_bytes", c.api.max_body_bytes, 1);
    k.at_least(
        "api.remote_images.timeout_secs",
        c.api.remote_images.timeout_secs,
        1,
    );
    for origin in &c.api.cors_origins {
        if origin != "*" {
            match url::Url::parse(origin) {
                Ok(u)
                    if matches!(u.scheme(), "http" | "https")
                        && u.host_str().is_some()
                        && u.path() == "/"
                        && !origin.ends_with('/') => {}
                _ => k.fail(
                    "api.cors_origins",
                    format!(
                        "each entry must be \"*\" or an origin like \"https://chat.example.com\" \
                         (scheme and host, optional port, no path or trailing slash), got `{origin}`"
                    ),
                ),
            }
        }
    }
    k.url(
        "gateway.public_url",
        c.gateway.public_url.as_deref(),
        &["ws", "wss"],
    );
    k.url(
        "cdn.public_url",
        c.cdn.public_url.as_deref(),
        &["http", "https"],
    );
    if c.cdn
        .local_dir
        .as_ref()
        .is_some_and(|d| d.as_os_str().is_empty())
    {
        k.fail(
            "cdn.local_dir",
            "must not be empty (leave it unset for the default)",
        );
    }
    k.url(
        "cdn.s3.endpoint",
        c.cdn.s3.endpoint.as_deref(),
        &["http", "https"],
    );
    if c.cdn.storage == StorageKind::S3 {
        match c.cdn.s3.bucket.as_deref().map(str::trim) {
            None | Some("") => k.fail("cdn.s3.bucket", "must be set when cdn.storage is \"s3\""),
            Some(_) => {}
        }
    }
    if c.cdn.signed_urls.ttl_secs == 0 {
        k.fail("cdn.signed_urls.ttl_secs", "must be at least 1");
    }
    if c.cdn.s3.access_key_id.is_some() != c.cdn.s3.secret_access_key.is_some() {
        k.fail(
            "cdn.s3.secret_access_key",
            "cdn.s3.access_key_id and cdn.s3.secret_access_key must be set together",
        );
    }
    k.url(
        "voice.public_url",
        c.voice.public_url.as_deref(),
        &["ws", "wss"],
    );

    if let Some(url) = &c.database.url
        && !["postgres://", "postgresql://", "sqlite:"]
            .iter()
            .any(|p| url.starts_with(p))
    {
        k.fail(
            "database.url",
            format!(
                "must start with postgres://, postgresql:// or sqlite:, got `{}`",
                redact(url)
            ),
        );
    }
    k.at_least("database.max_connections", c.database.max_connections, 1);
    k.at_least("database.message_writers", c.database.message_writers, 1);
    k.at_least(
        "gateway.heartbeat_interval_ms",
        c.gateway.heartbeat_interval_ms,
        1000,
    );
    k.at_least("gateway.replay_buffer", c.gateway.replay_buffer, 1);
    k.at_least("gateway.send_queue", c.gateway.send_queue, 16);
    k.at_least(
        "gateway.identifies_per_day",
        c.gateway.identifies_per_day,
        1,
    );
    k.at_least("gateway.max_concurrency", c.gateway.max_concurrency, 1);
    let z = &c.gateway.compression;
    k.range("gateway.compression.zlib_level", z.zlib_level, 0, 9);
    k.range(
        "gateway.compression.zlib_window_bits",
        z.zlib_window_bits,
        9,
        15,
    );
    k.range("gateway.compression.zstd_level", z.zstd_level, 1, 22);
    k.range(
        "gateway.compression.zstd_window_log",
        z.zstd_window_log,
        10,
        31,
    );
    k.range("gateway.compression.zstd_hash_log", z.zstd_hash_log, 6, 30);
    k.range(
        "gateway.compression.zstd_chain_log",
        z.zstd_chain_log,
        6,
        30,
    );
    if z.zstd_max_block_size != 0 {
        k.range(
            "gateway.compression.zstd_max_block_size",
            z.zstd_max_block_size,
            1024,
            131_072,
        );
    }
    match (&c.gateway.tls_cert, &c.gateway.tls_key) {
        (Some(_), None) => k.fail("gateway.tls_key", "must be set with gateway.tls_cert"),
        (None, Some(_)) => k.fail("gateway.tls_cert", "must be set with gateway.tls_key"),
        _ => {}
    }
    if c.database.min_connections > c.database.max_connections {
        k.fail(
            "database.min_connections",
            format!(
                "must be at most database.max_connections ({}), got {}",
                c.database.max_connections, c.database.min_connections
            ),
        );
    }
    k.at_least(
        "database.acquire_timeout_secs",
        c.database.acquire_timeout_secs,
        1,
    );

    k.at_least("bus.capacity", c.bus.capacity, 16);
    k.at_least("bus.log_retention_secs", c.bus.log_retention_secs, 10);
    k.at_least("bus.log_max_len", c.bus.log_max_len, 1000);
    if c.bus.kind == BusKind::Redis {
        match url::Url::parse(&c.bus.redis_url) {
            Ok(u) if u.scheme() == "redis" && u.host_str().is_some_and(|h| !h.is_empty()) => {}
            _ => k.fail(
                "bus.redis_url",
                format!(
                    "must be a redis://host:port URL, got `{}`",
                    redact(&c.bus.redis_url)
                ),
            ),
        }
        let prefix = &c.bus.channel_prefix;
        if prefix.is_empty()
            || !prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            k.fail(
                "bus.channel_prefix",
                format!(
                    "must be non-empty and hold only letters, digits, '-', '_' and '.', got `{prefix}`"
                ),
            );
        }
    }

    k.range("snowflake.worker_id", c.snowflake.worker_id, 0, 31);
    k.range("snowflake.process_id", c.snowflake.process_id, 0, 31);

    let user = &c.register.username;
    k.range("register.username.min_length", user.min_length, 1, 32);
    k.range("register.username.max_length", user.max_length, 1, 32);
    if user.min_length > user.max_length {
        k.fail(
            "register.username.min_length",
            format!(
                "must be at most register.username.max_length ({}), got {}",
                user.max_length, user.min_length
            ),
        );
    }
    let pass = &c.register.password;
    k.at_least("register.password.min_length", pass.min_length, 1);
    k.range("register.password.max_length", pass.max_length, 1, 1024);
    if pass.min_length > pass.max_length {
        k.fail(
            "register.password.max_length",
            format!(
                "must be at least register.password.min_length ({}), got {}",
                pass.min_length, pass.max_length
            ),
        );
    }

    if let Some(secret) = &c.security.token_secret {
        let n = secret.chars().count();
        if n < 32 {
            k.fail(
                "security.token_secret",
                format!("must be at least 32 characters long, got {n} (or leave it unset)"),
            );
        }
    }
    for entry in &c.security.trusted_proxies {
        if let Err(e) = entry.parse::<IpNet>() {
            k.fail(
                "security.trusted_proxies",
                format!("invalid entry `{entry}`: {e}"),
            );
        }
    }
    let argon = &c.security.argon2;
    k.at_least("security.argon2.iterations", argon.iterations, 1);
    k.at_least("security.argon2.parallelism", argon.parallelism, 1);
    let min_memory = 8u32.saturating_mul(argon.parallelism.max(1));
    if argon.memory_kib < min_memory {
        k.fail(
            "security.argon2.memory_kib",
            format!(
                "must be at least 8 × security.argon2.parallelism = {min_memory}, got {}",
                argon.memory_kib
            ),
        );
    }

    let l = &c.limits;
    let limits: [(&str, u64); 20] = [
        ("message_length", l.message_length.into()),
        ("guilds_per_user", l.guilds_per_user.into()),
        ("guilds_per_bot", l.guilds_per_bot.into()),
        ("roles_per_guild", l.roles_per_guild.into()),
        ("channels_per_guild", l.channels_per_guild.into()),
        ("members_per_guild", l.members_per_guild.into()),
        ("pins_per_channel", l.pins_per_channel.into()),
        (
            "active_threads_per_guild",
            l.active_threads_per_guild.into(),
        ),
        (
            "thread_archive_check_secs",
            l.thread_archive_check_secs.into(),
        ),
        (
            "audit_log_retention_days",
            l.audit_log_retention_days.into(),
        ),
        ("reactions_per_message", l.reactions_per_message.into()),
        ("webhooks_per_channel", l.webhooks_per_channel.into()),
        ("emojis_per_guild", l.emojis_per_guild.into()),
        ("stickers_per_guild", l.stickers_per_guild.into()),
        ("applications_per_user", l.applications_per_user.into()),
        ("embeds_per_message", l.embeds_per_message.into()),
        ("attachments_per_message", l.attachments_per_message.into()),
        ("attachment_size_bytes", l.attachment_size_bytes),
        ("bio_length", l.bio_length.into()),
        ("invites_per_guild", l.invites_per_guild.into()),
    ];
    for (name, value) in limits {
        k.at_least(&format!("limits.{name}"), value, 1);
    }

    for name in &c.rights.default {
        if accord_model::Rights::from_name(name).is_none() {
            k.fail("rights.default", format!("unknown right `{name}`"));
        }
    }

    for (key, message) in crate::rate_limits::problems(&c.rate_limits) {
        k.fail(&key, message);
    }

    k.not_empty("log.filter", &c.log.filter);

    for (key, message) in crate::edge::problems(c) {
        k.fail(&key, message);
    }

    if k.0.is_empty() {
        Ok(())
    } else {
        Err(ConfigError::Invalid(k.0))
    }
}

/// The URL with any password replaced, so it can go into an error message.
pub(crate) fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipnet_parses_and_matches() {
        let net: IpNet = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains("10.1.2.3".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.0.0.1".parse().unwrap()));
        let one: IpNet = "::1".parse().unwrap();
        assert_eq!(one.prefix(), 128);
        assert!(one.contains("::1".parse().unwrap()));
        assert!(!one.contains("::2".parse().unwrap()));
        let all: IpNet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("203.0.113.9".parse().unwrap()));
        assert_eq!("::1/128".parse::<IpNet>().unwrap().to_string(), "::1/128");
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "localhost",
            "10.0.0.0/",
            "1.2.3.4/-1",
        ] {
            assert!(bad.parse::<IpNet>().is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn redis_bus_settings_are_checked_only_for_the_redis_bus() {
        let keys = |c: &Config| match validate(c) {
            Ok(()) => Vec::new(),
            Err(ConfigError::Invalid(problems)) => problems.into_iter().map(|p| p.key).collect(),
            Err(e) => panic!("unexpected error {e}"),
        };
        let mut c = Config::default();
        c.bus.redis_url = "http://x".into();
        c.bus.channel_prefix = "a:b".into();
        assert!(keys(&c).is_empty(), "ignored by the in-process bus");
        c.bus.kind = BusKind::Redis;
        assert_eq!(keys(&c), ["bus.redis_url", "bus.channel_prefix"]);
        c.bus.redis_url = "redis://:pw@10.0.0.5:6380/2".into();
        c.bus.channel_prefix = "accord-prod_1.eu".into();
        assert!(keys(&c).is_empty());
        c.bus.redis_url = "redis://".into();
        c.bus.channel_prefix = String::new();
        assert_eq!(keys(&c), ["bus.redis_url", "bus.channel_prefix"]);
    }

    #[test]
    fn redact_hides_password() {
        assert_eq!(redact("postgres://u:hunter2@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("mysql://h/db"), "mysql://h/db");
    }
}
