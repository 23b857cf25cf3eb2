//! Passwords: Argon2id hashing (PHC strings) and the instance's password rules.

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashCost {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for HashCost {
    /// OWASP's Argon2id baseline: 19 MiB, 2 passes, 1 lane.
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// Hashes `password` into a PHC string with a fresh random salt. CPU-heavy: call it off the
/// async executor.
pub fn hash_password(password: &str, cost: HashCost) -> Result<String, String> {
    let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
        .map_err(|e| e.to_string())?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    argon
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` matches the PHC string `hash` (parameters are read from the hash).
/// CPU-heavy: call it off the async executor.
pub fn verify_password(hash: &str, password: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// The instance's rules for new passwords.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordRules {
    /// Fewest characters.
    pub min_length: usize,
    /// Most characters.
    pub max_length: usize,
    /// Must contain a letter.
    pub require_letter: bool,
    /// Must contain a digit.
    pub require_digit: bool,
    /// Must contain something that is neither letter, digit nor space.
    pub require_symbol: bool,
}

impl PasswordRules {
    /// Every rule `password` breaks, as `(code, message)` pairs for a 50035 error.
    pub fn check(&self, password: &str) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        let len = password.chars().count();
        if len < self.min_length {
            problems.push((
                "PASSWORD_TOO_SHORT",
                format!("Must be at least {} characters long.", self.min_length),
            ));
        }
        if len > self.max_length {
            problems.push((
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {} or fewer in length.", self.max_length),
            ));
        }
        if self.require_letter && !password.chars().any(char::is_alphabetic) {
            problems.push((
                "PASSWORD_REQUIRES_LETTER",
                "Must contain a letter.".to_owned(),
            ));
        }
        if self.require_digit && !password.chars().any(|c| c.is_ascii_digit()) {
            problems.push((
                "PASSWORD_REQUIRES_DIGIT",
                "Must contain a digit.".to_owned(),
            ));
        }
        if self.require_symbol
            && !password
                .chars()
                .any(|c| !c.is_alphanumeric() && !c.is_whitespace())
        {
            problems.push((
                "PASSWORD_REQUIRES_SYMBOL",
                "Must contain a symbol.".to_owned(),
            ));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: HashCost = HashCost {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let hash = hash_password("correct horse", CHEAP).unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{hash}");
        assert!(verify_password(&hash, "correct horse"));
        assert!(!verify_password(&hash, "correct horsf"));
        assert!(!verify_password("not a hash", "correct horse"));
        assert_ne!(
            hash,
            hash_password("correct horse", CHEAP).unwrap(),
            "salts must differ"
        );
    }

    #[test]
    fn rules_report_each_problem() {
        let rules = PasswordRules {
            min_length: 8,
            max_length: 12,
            require_letter: true,
            require_digit: true,
            require_symbol: true,
        };
        let codes = |p: &str| {
            rules
                .check(p)
                .into_iter()
                .map(|(c, _)| c)
                .collect::<Vec<_>>()
        };
        assert_eq!(codes("abc1!"), vec!["PASSWORD_TOO_SHORT"]);
        assert_eq!(codes("abcdefghijklm1!"), vec!["BASE_TYPE_MAX_LENGTH"]);
        assert_eq!(
            codes("12345678"),
            vec!["PASSWORD_REQUIRES_LETTER", "PASSWORD_REQUIRES_SYMBOL"]
        );
        assert_eq!(codes("abcdefg!"), vec!["PASSWORD_REQUIRES_DIGIT"]);
        assert!(codes("abcdef1!").is_empty());
    }
}
