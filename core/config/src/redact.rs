//! A copy of the configuration that is safe to print: secrets replaced, passwords in URLs
//! hidden (`accord config check` shows what was loaded without showing them).

use crate::Config;

/// What stands in for a hidden value.
const HIDDEN: &str = "<hidden>";

impl Config {
    /// This configuration with the token secret and the S3 secret key replaced by `<hidden>`
    /// and the passwords of the database and Redis URLs by `***`.
    pub fn redacted(&self) -> Config {
        let mut c = self.clone();
        if c.security.token_secret.is_some() {
            c.security.token_secret = Some(HIDDEN.into());
        }
        if c.cdn.s3.secret_access_key.is_some() {
            c.cdn.s3.secret_access_key = Some(HIDDEN.into());
        }
        if let Some(url) = &c.database.url {
            c.database.url = Some(without_password(url));
        }
        c.bus.redis_url = without_password(&c.bus.redis_url);
        c
    }
}

/// `url` with its password (if any) replaced by `***`, as in error messages; anything that
/// does not parse as a URL but could carry credentials (an `@`) is hidden whole.
fn without_password(url: &str) -> String {
    if url::Url::parse(url).is_err() && url.contains('@') {
        return HIDDEN.into();
    }
    crate::validate::redact(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_hidden_and_the_rest_kept() {
        let mut c = Config::default();
        c.security.token_secret = Some("s3cr3t-token".into());
        c.cdn.s3.secret_access_key = Some("s3cr3t-key".into());
        c.cdn.s3.access_key_id = Some("AKIDEXAMPLE".into());
        c.database.url = Some("postgres://accord:pa55word@db:5432/accord".into());
        c.bus.redis_url = "redis://:r3dis@cache:6379/0".into();
        let text = toml::to_string(&c.redacted()).expect("toml");
        for secret in ["s3cr3t-token", "s3cr3t-key", "pa55word", "r3dis"] {
            assert!(!text.contains(secret), "{secret} printed:\n{text}");
        }
        assert!(text.contains("AKIDEXAMPLE"));
        assert!(
            text.contains("postgres://accord:***@db:5432/accord"),
            "{text}"
        );
        let plain = Config::default();
        assert_eq!(plain.redacted(), plain, "nothing to hide, nothing changed");
    }
}
