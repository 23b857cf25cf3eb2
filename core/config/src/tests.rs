//! Tests for loading, layering, validation and the generated sample.

// `figment::Jail` closures must return `figment::Result`, whose error type is large.
#![allow(clippy::result_large_err)]

use std::path::Path;

use figment::providers::{Format, Serialized, Toml};
use figment::{Figment, Jail};

use super::*;

/// Defaults overlaid with `toml`, without touching files or the environment.
fn from_toml(toml: &str) -> Result<Config, ConfigError> {
    Config::from_figment(
        Figment::from(Serialized::defaults(Config::default())).merge(Toml::string(toml)),
    )
}

fn err_of(toml: &str) -> String {
    match from_toml(toml) {
        Ok(_) => panic!("accepted:\n{toml}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn defaults_validate() {
    Config::default().validate().unwrap();
    assert_eq!(from_toml("").unwrap(), Config::default());
}

#[test]
fn default_values() {
    let c = Config::default();
    assert_eq!(c.api.listen.to_string(), "127.0.0.1:3001");
    assert_eq!(c.voice.listen.to_string(), "127.0.0.1:3004");
    assert_eq!(c.database_url(), "sqlite://./data/accord.db?mode=rwc");
    assert_eq!(c.api_public_url(), "http://127.0.0.1:3001");
    assert_eq!(c.gateway_public_url(), "ws://127.0.0.1:3002");
    assert_eq!(c.cdn_public_url(), "http://127.0.0.1:3003");
    assert_eq!(c.voice_public_url(), "ws://127.0.0.1:3004");
    let rights = c.default_rights();
    assert!(rights.has(accord_model::Rights::SEND_MESSAGES));
    assert!(rights.has(accord_model::Rights::CREATE_GUILDS));
    for admin in sections::ADMIN_RIGHTS {
        let right = accord_model::Rights::from_name(admin).unwrap();
        assert_eq!(
            rights & right,
            accord_model::Rights::NONE,
            "{admin} granted by default"
        );
    }
    assert_eq!(
        c.rights.default.len() + sections::ADMIN_RIGHTS.len(),
        accord_model::Rights::NAMED.len()
    );
}

#[test]
fn derived_urls() {
    let c = from_toml(
        r#"
        data_dir = "/var/lib/accord"
        [api]
        listen = "0.0.0.0:8080"
        [gateway]
        listen = "[::]:8081"
        [cdn]
        public_url = "https://cdn.example.com/"
        "#,
    )
    .unwrap();
    assert_eq!(c.api_public_url(), "http://127.0.0.1:8080");
    assert_eq!(c.gateway_public_url(), "ws://[::1]:8081");
    assert_eq!(c.cdn_public_url(), "https://cdn.example.com");
    assert_eq!(
        c.database_url(),
        "sqlite:///var/lib/accord/accord.db?mode=rwc"
    );
    let c = from_toml("[database]\nurl = \"postgres://u:p@db/accord\"").unwrap();
    assert_eq!(c.database_url(), "postgres://u:p@db/accord");
    let c = from_toml(
        "[gateway]\nlisten = \"127.0.0.1:443\"\ntls_cert = \"a.pem\"\ntls_key = \"k.pem\"",
    )
    .unwrap();
    assert_eq!(c.gateway_public_url(), "wss://127.0.0.1:443");
}

#[test]
fn toml_overrides_defaults() {
    let c = from_toml(
        r#"
        [instance]
        name = "Example Chat"
        [register]
        mode = "invite_only"
        [register.password]
        min_length = 12
        [security]
        trusted_proxies = ["10.0.0.0/8", "::1"]
        [log]
        format = "json"
        "#,
    )
    .unwrap();
    assert_eq!(c.instance.name, "Example Chat");
    assert_eq!(c.register.mode, RegisterMode::InviteOnly);
    assert_eq!(c.register.password.min_length, 12);
    assert_eq!(c.register.password.max_length, 128);
    assert_eq!(c.log.format, LogFormat::Json);
    assert_eq!(c.trusted_proxies().len(), 2);
    assert!(c.trusted_proxies()[0].contains("10.9.8.7".parse().unwrap()));
    assert_eq!(c.database, DatabaseConfig::default());
}

#[test]
fn env_overrides_toml() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "accord.toml",
            r#"
            [database]
            max_connections = 50
            min_connections = 2
            [register]
            mode = "invite_only"
            "#,
        )?;
        let c = Config::load(None).map_err(|e| e.to_string())?;
        assert_eq!(c.database.max_connections, 50);
        assert_eq!(c.register.mode, RegisterMode::InviteOnly);

        jail.set_env("ACCORD_DATABASE__MAX_CONNECTIONS", "5");
        jail.set_env("ACCORD_REGISTER__MODE", "closed");
        jail.set_env("ACCORD_API__LISTEN", "0.0.0.0:4000");
        jail.set_env(
            "ACCORD_API__CORS_ORIGINS",
            "https://a.example, https://b.example",
        );
        jail.set_env(
            "ACCORD_SECURITY__TRUSTED_PROXIES",
            "[10.0.0.0/8, 127.0.0.1]",
        );
        jail.set_env(
            "ACCORD_SECURITY__TOKEN_SECRET",
            "12345678901234567890123456789012",
        );
        jail.set_env("ACCORD_INSTANCE__NAME", "1234");
        jail.set_env("ACCORD_REGISTER__PASSWORD__MIN_LENGTH", "10");
        jail.set_env("ACCORD_CDN__STORAGE", "s3");
        jail.set_env("ACCORD_CDN__S3__BUCKET", "2026");
        jail.set_env("ACCORD_CDN__S3__SECRET_ACCESS_KEY", "s3cret");
        jail.set_env("ACCORD_CDN__S3__ACCESS_KEY_ID", "AKIA");
        let c = Config::load(None).map_err(|e| e.to_string())?;
        assert_eq!(c.cdn.storage, StorageKind::S3);
        assert_eq!(c.cdn.s3.bucket.as_deref(), Some("2026"));
        assert_eq!(c.cdn.s3.secret_access_key.as_deref(), Some("s3cret"));
        assert_eq!(c.database.max_connections, 5);
        assert_eq!(c.database.min_connections, 2);
        assert_eq!(c.register.mode, RegisterMode::Closed);
        assert_eq!(c.api.listen.to_string(), "0.0.0.0:4000");
        assert_eq!(
            c.api.cors_origins,
            ["https://a.example", "https://b.example"]
        );
        assert_eq!(c.security.trusted_proxies, ["10.0.0.0/8", "127.0.0.1"]);
        assert_eq!(
            c.security.token_secret.as_deref(),
            Some("12345678901234567890123456789012")
        );
        assert_eq!(c.instance.name, "1234");
        assert_eq!(c.register.password.min_length, 10);
        Ok(())
    });
}

#[test]
fn file_selection() {
    Jail::expect_with(|jail| {
        jail.create_file("other.toml", "[instance]\nname = \"Other\"")?;
        jail.create_file("accord.toml", "[instance]\nname = \"Local\"")?;

        let c = Config::load(None).map_err(|e| e.to_string())?;
        assert_eq!(c.instance.name, "Local");
        let c = Config::load(Some(Path::new("other.toml"))).map_err(|e| e.to_string())?;
        assert_eq!(c.instance.name, "Other");

        let err = Config::load(Some(Path::new("missing.toml"))).unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::FileNotFound {
                    from_env: false,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("missing.toml"), "{err}");
        let err = Config::from_figment(Config::figment(Some(Path::new("missing.toml"))));
        assert!(err.unwrap_err().to_string().contains("missing.toml"));

        // ACCORD_CONFIG is not mistaken for a configuration key.
        jail.set_env("ACCORD_CONFIG", "other.toml");
        let c = Config::load(None).map_err(|e| e.to_string())?;
        assert_eq!(c.instance.name, "Other");

        jail.set_env("ACCORD_CONFIG", "nope.toml");
        let err = Config::load(None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "configuration file `nope.toml` (from ACCORD_CONFIG) does not exist"
        );
        Ok(())
    });
}

#[test]
fn no_file_means_defaults() {
    Jail::expect_with(|_| {
        assert_eq!(
            Config::load(None).map_err(|e| e.to_string())?,
            Config::default()
        );
        Ok(())
    });
}

#[test]
fn unknown_keys_are_rejected_with_their_name() {
    let msg = err_of("[database]\nmax_conections = 5");
    assert!(
        msg.starts_with("database.max_conections: unknown key"),
        "{msg}"
    );
    assert!(msg.contains("`max_connections`"), "{msg}");

    let msg = err_of("[databse]\nurl = \"sqlite::memory:\"");
    assert!(msg.starts_with("databse: unknown key"), "{msg}");

    let msg = err_of("[register.username]\nmin = 3");
    assert!(
        msg.starts_with("register.username.min: unknown key"),
        "{msg}"
    );

    let msg = err_of("datadir = \"x\"");
    assert!(msg.starts_with("datadir: unknown key"), "{msg}");

    Jail::expect_with(|jail| {
        jail.set_env("ACCORD_API__LISTN", "0.0.0.0:1");
        let msg = Config::load(None).unwrap_err().to_string();
        assert!(msg.starts_with("api.listn: unknown key"), "{msg}");
        assert!(
            msg.contains("from environment variable ACCORD_API__LISTN"),
            "{msg}"
        );
        Ok(())
    });
}

#[test]
fn wrong_types_name_the_key() {
    let msg = err_of("[database]\nmax_connections = \"many\"");
    assert!(
        msg.starts_with("database.max_connections: expected u32"),
        "{msg}"
    );
    let msg = err_of("[register]\nmode = \"sometimes\"");
    assert!(
        msg.starts_with("register.mode: unknown value `sometimes`"),
        "{msg}"
    );
    assert!(msg.contains("`invite_only`"), "{msg}");
    let msg = err_of("[api]\nlisten = \"localhost\"");
    assert!(
        msg.starts_with("api.listen: `localhost` is not an IP address with a port"),
        "{msg}"
    );
    let msg = err_of("[snowflake]\nworker_id = 300");
    assert!(msg.starts_with("snowflake.worker_id: "), "{msg}");
    let msg = err_of("[api\nlisten = 1");
    assert!(msg.contains("TOML"), "{msg}");

    Jail::expect_with(|jail| {
        jail.create_file("accord.toml", "[bus]\ncapacity = true")?;
        let msg = Config::load(None).unwrap_err().to_string();
        assert!(msg.starts_with("bus.capacity: expected"), "{msg}");
        assert!(
            msg.contains("in TOML file") && msg.contains("accord.toml"),
            "{msg}"
        );
        jail.create_file("accord.toml", "[api\nlisten = 1")?;
        let msg = Config::load(None).unwrap_err().to_string();
        assert!(
            msg.starts_with("in TOML file accord.toml: TOML parse error at line 1"),
            "{msg}"
        );
        Ok(())
    });
}

#[test]
fn every_rule_names_its_key() {
    let cases: &[(&str, &str)] = &[
        ("data_dir = \"\"", "data_dir: must not be empty"),
        (
            "[instance]\nname = \" \"",
            "instance.name: must not be empty",
        ),
        (
            "[api]\npublic_url = \"chat.example.com\"",
            "api.public_url: must be an absolute http:// or https:// URL",
        ),
        (
            "[api]\npublic_url = \"ftp://chat.example.com\"",
            "api.public_url: must be an absolute",
        ),
        (
            "[api]\npublic_url = \"https://x.example/?a=1\"",
            "api.public_url: must not have a query",
        ),
        (
            "[api]\nmax_body_bytes = 0",
            "api.max_body_bytes: must be at least 1, got 0",
        ),
        (
            "[api]\ncors_origins = [\"https://a.example/\"]",
            "api.cors_origins: each entry",
        ),
        (
            "[api]\ncors_origins = [\"a.example\"]",
            "api.cors_origins: each entry",
        ),
        (
            "[gateway]\npublic_url = \"https://gw.example\"",
            "gateway.public_url: must be an absolute ws:// or wss:// URL",
        ),
        (
            "[gateway]\ntls_cert = \"gw.pem\"",
            "gateway.tls_key: must be set with gateway.tls_cert",
        ),
        (
            "[gateway]\ntls_key = \"gw.key\"",
            "gateway.tls_cert: must be set with gateway.tls_key",
        ),
        (
            "[bus]\nlog_retention_secs = 5",
            "bus.log_retention_secs: must be at least 10, got 5",
        ),
        (
            "[bus]\nlog_max_len = 10",
            "bus.log_max_len: must be at least 1000, got 10",
        ),
        (
            "[cdn]\npublic_url = \"wss://cdn.example\"",
            "cdn.public_url: must be an absolute http:// or https://",
        ),
        (
            "[cdn]\nstorage = \"s3\"",
            "cdn.s3.bucket: must be set when cdn.storage is \"s3\"",
        ),
        (
            "[cdn]\nstorage = \"s3\"\n[cdn.s3]\nbucket = \"  \"",
            "cdn.s3.bucket: must be set when cdn.storage is \"s3\"",
        ),
        (
            "[cdn]\nstorage = \"ftp\"",
            "cdn.storage: unknown value `ftp`, expected one of `local`, `s3`",
        ),
        (
            "[cdn.s3]\nendpoint = \"minio:9000\"",
            "cdn.s3.endpoint: must be an absolute http:// or https://",
        ),
        (
            "[cdn.s3]\naccess_key_id = \"AKIA\"",
            "cdn.s3.secret_access_key: cdn.s3.access_key_id and cdn.s3.secret_access_key must be set together",
        ),
        (
            "[cdn]\nlocal_dir = \"\"",
            "cdn.local_dir: must not be empty",
        ),
        (
            "[voice]\npublic_url = \"http://voice.example\"",
            "voice.public_url: must be an absolute ws:// or wss://",
        ),
        (
            "[database]\nurl = \"mysql://u:hunter2@h/db\"",
            "database.url: must start with postgres://, postgresql:// or sqlite:",
        ),
        (
            "[database]\nmax_connections = 0",
            "database.max_connections: must be at least 1, got 0",
        ),
        (
            "[database]\nmin_connections = 17",
            "database.min_connections: must be at most database.max_connections (16), got 17",
        ),
        (
            "[database]\nacquire_timeout_secs = 0",
            "database.acquire_timeout_secs: must be at least 1",
        ),
        (
            "[bus]\ncapacity = 15",
            "bus.capacity: must be at least 16, got 15",
        ),
        (
            "[gateway.compression]\nzstd_window_log = 40",
            "gateway.compression.zstd_window_log: must be between 10 and 31, got 40",
        ),
        (
            "[gateway.compression]\nzstd_max_block_size = 512",
            "gateway.compression.zstd_max_block_size: must be between 1024 and 131072, got 512",
        ),
        (
            "[gateway.compression]\nzlib_level = 10",
            "gateway.compression.zlib_level: must be between 0 and 9, got 10",
        ),
        (
            "[snowflake]\nworker_id = 40",
            "snowflake.worker_id: must be between 0 and 31, got 40",
        ),
        (
            "[snowflake]\nprocess_id = 32",
            "snowflake.process_id: must be between 0 and 31, got 32",
        ),
        (
            "[register.username]\nmin_length = 0",
            "register.username.min_length: must be between 1 and 32, got 0",
        ),
        (
            "[register.username]\nmax_length = 33",
            "register.username.max_length: must be between 1 and 32, got 33",
        ),
        (
            "[register.username]\nmin_length = 10\nmax_length = 5",
            "register.username.min_length: must be at most register.username.max_length (5), got 10",
        ),
        (
            "[register.password]\nmin_length = 0",
            "register.password.min_length: must be at least 1, got 0",
        ),
        (
            "[register.password]\nmax_length = 2000",
            "register.password.max_length: must be between 1 and 1024, got 2000",
        ),
        (
            "[register.password]\nmin_length = 20\nmax_length = 10",
            "register.password.max_length: must be at least register.password.min_length (20), got 10",
        ),
        (
            "[security]\ntoken_secret = \"short\"",
            "security.token_secret: must be at least 32 characters long, got 5",
        ),
        (
            "[security]\ntrusted_proxies = [\"10.0.0.0/33\"]",
            "security.trusted_proxies: invalid entry `10.0.0.0/33`",
        ),
        (
            "[security]\ntrusted_proxies = [\"::1/129\"]",
            "security.trusted_proxies: invalid entry `::1/129`",
        ),
        (
            "[security]\ntrusted_proxies = [\"proxy.local\"]",
            "security.trusted_proxies: invalid entry `proxy.local`",
        ),
        (
            "[security.argon2]\nmemory_kib = 7",
            "security.argon2.memory_kib: must be at least 8 × security.argon2.parallelism = 8, got 7",
        ),
        (
            "[security.argon2]\nparallelism = 4\nmemory_kib = 16",
            "security.argon2.memory_kib: must be at least 8 × security.argon2.parallelism = 32, got 16",
        ),
        (
            "[security.argon2]\niterations = 0",
            "security.argon2.iterations: must be at least 1, got 0",
        ),
        (
            "[security.argon2]\nparallelism = 0",
            "security.argon2.parallelism: must be at least 1, got 0",
        ),
        (
            "[limits]\nmessage_length = 0",
            "limits.message_length: must be at least 1, got 0",
        ),
        (
            "[limits]\nattachment_size_bytes = 0",
            "limits.attachment_size_bytes: must be at least 1, got 0",
        ),
        (
            "[limits]\nbio_length = 0",
            "limits.bio_length: must be at least 1, got 0",
        ),
        (
            "[rights]\ndefault = [\"SEND_MESSAGES\", \"FLY\"]",
            "rights.default: unknown right `FLY`",
        ),
        ("[log]\nfilter = \"\"", "log.filter: must not be empty"),
    ];
    for (toml, expected) in cases {
        let msg = err_of(toml);
        assert!(
            msg.starts_with(expected),
            "for\n{toml}\nexpected `{expected}`, got `{msg}`"
        );
    }
    // The password of a rejected database URL is not echoed.
    assert!(!err_of("[database]\nurl = \"mysql://u:hunter2@h/db\"").contains("hunter2"));
    // Every limit is checked.
    for key in toml::Table::try_from(LimitsConfig::default())
        .unwrap()
        .keys()
    {
        let msg = err_of(&format!("[limits]\n{key} = 0"));
        assert!(
            msg.starts_with(&format!("limits.{key}: must be at least 1")),
            "{msg}"
        );
    }
    // Rights that exist are accepted, case-sensitively.
    from_toml("[rights]\ndefault = [\"OPERATOR\"]").unwrap();
    assert!(err_of("[rights]\ndefault = [\"send_messages\"]").starts_with("rights.default:"));
}

#[test]
fn all_problems_reported_with_source() {
    Jail::expect_with(|jail| {
        jail.create_file("accord.toml", "[snowflake]\nworker_id = 40")?;
        jail.set_env("ACCORD_BUS__CAPACITY", "1");
        let err = Config::load(None).unwrap_err();
        assert_eq!(err.problems().len(), 2, "{err}");
        let msg = err.to_string();
        let lines: Vec<&str> = msg.lines().collect();
        assert!(lines[0].starts_with("bus.capacity: must be at least 16, got 1 (from environment variable ACCORD_BUS__CAPACITY)"), "{msg}");
        assert!(
            lines[1].starts_with(
                "snowflake.worker_id: must be between 0 and 31, got 40 (in TOML file "
            ),
            "{msg}"
        );
        Ok(())
    });
}

#[test]
fn valid_values_accepted() {
    from_toml(
        r#"
        [api]
        public_url = "https://chat.example.com/"
        cors_origins = ["*", "https://chat.example.com", "http://localhost:5173"]
        [gateway]
        public_url = "wss://gateway.example.com"
        [cdn]
        public_url = "http://localhost:3003"
        storage = "s3"
        local_dir = "/srv/uploads"
        [cdn.s3]
        bucket = "accord"
        endpoint = "http://127.0.0.1:9000"
        access_key_id = "id"
        secret_access_key = "secret"
        [voice]
        public_url = "ws://127.0.0.1:3004"
        [database]
        url = "postgresql://accord@localhost/accord"
        max_connections = 1
        min_connections = 1
        [snowflake]
        worker_id = 31
        process_id = 31
        [register.username]
        min_length = 32
        max_length = 32
        [security]
        token_secret = "0123456789abcdef0123456789abcdef"
        trusted_proxies = ["0.0.0.0/0", "::/0", "192.168.1.1", "fd00::/8"]
        [rights]
        default = []
        "#,
    )
    .unwrap();
    from_toml("[database]\nurl = \"sqlite::memory:\"").unwrap();
}
