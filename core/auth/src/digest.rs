//! Digests of bearer secrets kept server-side (interaction tokens): only a SHA-256 digest is
//! stored and looked up, so a copy of the database does not hand out working tokens. The
//! tokens are 48 random bytes, so an unsalted fast hash is enough (nothing to brute-force).

use sha2::{Digest, Sha256};

/// The lowercase hex SHA-256 digest of `secret`.
pub fn secret_digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::secret_digest;

    #[test]
    fn digest_is_sha256_hex() {
        assert_eq!(
            secret_digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_ne!(secret_digest("abc"), secret_digest("abd"));
    }
}
