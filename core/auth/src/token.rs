//! Tokens: `base64(user id) . base64(issued-at ms ‖ kind ‖ nonce) . base64(HMAC-SHA256)`, the
//! shape Discord's tokens have, verified with the instance secret alone (the kind byte says
//! whether the account is a bot, so `Bot` prefixes are checked without a database read), and
//! revocation state kept in memory (loaded from the store at start, updated as tokens are revoked).

use std::time::{SystemTime, UNIX_EPOCH};

use accord_model::UserId;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use dashmap::{DashMap, DashSet};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Bytes of the MAC kept in the token (160 bits, 27 base64 characters like Discord's third part).
const MAC_LEN: usize = 20;

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// Whose token it is.
    pub user_id: UserId,
    /// When it was issued (Unix ms).
    pub issued_ms: u64,
    /// Whether it was issued to a bot account.
    pub bot: bool,
    /// The token's own id (its second part), used to revoke it alone.
    pub token_id: String,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three base64 parts, or the parts do not decode.
    #[error("malformed token")]
    Malformed,
    /// The signature does not match.
    #[error("bad signature")]
    BadSignature,
    /// The token was revoked (logout, password change, bot token reset).
    #[error("revoked token")]
    Revoked,
}

/// Signs and checks tokens with the instance secret.
#[derive(Clone)]
pub struct TokenSigner {
    key: HmacSha256,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSigner(..)")
    }
}

impl TokenSigner {
    /// A signer keyed with `secret` (at least 32 bytes are advised; the config enforces it).
    pub fn new(secret: &[u8]) -> Self {
        // HMAC accepts keys of any length.
        let key = HmacSha256::new_from_slice(secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        Self { key }
    }

    /// Issues a token for `user` (a bot if `bot`) at `issued_ms`, with 2 random bytes so two
    /// tokens issued in the same millisecond still differ.
    pub fn issue(&self, user: UserId, bot: bool, issued_ms: u64) -> String {
        let nonce: [u8; 2] = rand::random();
        self.issue_with_nonce(user, bot, issued_ms, nonce)
    }

    fn issue_with_nonce(&self, user: UserId, bot: bool, issued_ms: u64, nonce: [u8; 2]) -> String {
        let mut middle = [0u8; 9];
        middle[..6].copy_from_slice(&issued_ms.to_be_bytes()[2..]);
        middle[6] = u8::from(bot);
        middle[7..].copy_from_slice(&nonce);
        let mut token = URL_SAFE_NO_PAD.encode(user.get().to_string());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(middle, &mut token);
        let mac = self.mac(token.as_bytes());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&mac[..MAC_LEN], &mut token);
        token
    }

    fn mac(&self, data: &[u8]) -> [u8; 32] {
        let mut mac = self.key.clone();
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    /// Checks the shape and the signature (not revocation; see [`Revocations::check`]).
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let (signed, sig) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let (id_part, middle_part) = signed.split_once('.').ok_or(TokenError::Malformed)?;
        if id_part.is_empty() || id_part.len() > 28 || middle_part.len() != 12 || sig.len() != 27 {
            return Err(TokenError::Malformed);
        }
        let mut sig_bytes = [0u8; MAC_LEN + 2];
        let n = URL_SAFE_NO_PAD
            .decode_slice(sig, &mut sig_bytes)
            .map_err(|_| TokenError::Malformed)?;
        if n != MAC_LEN {
            return Err(TokenError::Malformed);
        }
        let expected = self.mac(signed.as_bytes());
        if !bool::from(expected[..MAC_LEN].ct_eq(&sig_bytes[..MAC_LEN])) {
            return Err(TokenError::BadSignature);
        }
        let id_bytes = URL_SAFE_NO_PAD
            .decode(id_part)
            .map_err(|_| TokenError::Malformed)?;
        let user_id: UserId = std::str::from_utf8(&id_bytes)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or(TokenError::Malformed)?;
        let mut middle = [0u8; 9];
        let n = URL_SAFE_NO_PAD
            .decode_slice(middle_part, &mut middle)
            .map_err(|_| TokenError::Malformed)?;
        if n != 9 {
            return Err(TokenError::Malformed);
        }
        let mut ms = [0u8; 8];
        ms[2..].copy_from_slice(&middle[..6]);
        let bot = match middle[6] {
            0 => false,
            1 => true,
            _ => return Err(TokenError::Malformed),
        };
        Ok(Claims {
            user_id,
            issued_ms: u64::from_be_bytes(ms),
            bot,
            token_id: middle_part.to_owned(),
        })
    }
}

/// The current time in Unix milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Which tokens are no longer accepted: per user, everything issued before a cutoff (password
/// change, bot token reset), plus single tokens (logout). Lookups are lock-free reads of
/// concurrent maps, so verifying a token never touches the database.
#[derive(Debug, Default)]
pub struct Revocations {
    cutoffs: DashMap<UserId, u64>,
    revoked: DashSet<(UserId, TokenKey)>,
}

/// A token id as a fixed-size key, so checking it allocates nothing.
type TokenKey = [u8; 12];

fn token_key(token_id: &str) -> Option<TokenKey> {
    token_id.as_bytes().try_into().ok()
}

impl Revocations {
    /// Empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Refuses `user`'s tokens issued before `valid_after_ms` (a later cutoff wins).
    pub fn set_cutoff(&self, user: UserId, valid_after_ms: u64) {
        let mut entry = self.cutoffs.entry(user).or_insert(0);
        if *entry < valid_after_ms {
            *entry = valid_after_ms;
        }
        drop(entry);
        self.revoked.retain(|(u, _)| *u != user);
    }

    /// Refuses one token (a token id that no issued token can have is ignored).
    pub fn revoke(&self, user: UserId, token_id: &str) {
        if let Some(key) = token_key(token_id) {
            self.revoked.insert((user, key));
        }
    }

    /// Whether `claims` are still accepted.
    pub fn check(&self, claims: &Claims) -> Result<(), TokenError> {
        if let Some(cutoff) = self.cutoffs.get(&claims.user_id)
            && claims.issued_ms < *cutoff
        {
            return Err(TokenError::Revoked);
        }
        if !self.revoked.is_empty()
            && token_key(&claims.token_id)
                .is_some_and(|key| self.revoked.contains(&(claims.user_id, key)))
        {
            return Err(TokenError::Revoked);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_verify_and_carry_their_claims() {
        let signer = TokenSigner::new(b"an instance secret of thirty-two bytes!!");
        let user = UserId::new(175_928_847_299_117_063);
        let token = signer.issue(user, true, 1_700_000_000_123);
        let parts: Vec<_> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[2].len(), 27);
        let claims = signer.verify(&token).unwrap();
        assert_eq!(claims.user_id, user);
        assert_eq!(claims.issued_ms, 1_700_000_000_123);
        assert!(claims.bot);
        assert!(!signer.verify(&signer.issue(user, false, 1)).unwrap().bot);
        assert_eq!(claims.token_id, parts[1]);
    }

    #[test]
    fn tampering_and_other_secrets_are_refused() {
        let signer = TokenSigner::new(b"secret one secret one secret one!!");
        let other = TokenSigner::new(b"secret two secret two secret two!!");
        let token = signer.issue(UserId::new(42), false, 1_700_000_000_000);
        assert_eq!(other.verify(&token), Err(TokenError::BadSignature));
        // Swap the user id for another one: the signature no longer matches.
        let forged = format!(
            "{}{}",
            URL_SAFE_NO_PAD.encode("43"),
            &token[token.find('.').unwrap()..]
        );
        assert_eq!(signer.verify(&forged), Err(TokenError::BadSignature));
        for bad in [
            "",
            "abc",
            "a.b",
            "a.b.c",
            &token[..token.len() - 1],
            &format!("{token}x"),
        ] {
            assert!(signer.verify(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn same_millisecond_tokens_differ() {
        let signer = TokenSigner::new(b"k");
        let a = signer.issue_with_nonce(UserId::new(1), false, 5, [1, 2]);
        let b = signer.issue_with_nonce(UserId::new(1), false, 5, [1, 3]);
        assert_ne!(a, b);
        assert_ne!(
            signer.verify(&a).unwrap().token_id,
            signer.verify(&b).unwrap().token_id
        );
    }

    #[test]
    fn revocation_by_cutoff_and_by_token() {
        let signer = TokenSigner::new(b"k");
        let rev = Revocations::new();
        let user = UserId::new(7);
        let old = signer.verify(&signer.issue(user, false, 1_000)).unwrap();
        let newer = signer.verify(&signer.issue(user, false, 2_000)).unwrap();
        let other = signer
            .verify(&signer.issue(UserId::new(8), false, 1_000))
            .unwrap();
        assert!(rev.check(&old).is_ok());
        rev.revoke(user, &newer.token_id);
        assert_eq!(rev.check(&newer), Err(TokenError::Revoked));
        assert!(rev.check(&old).is_ok());
        rev.set_cutoff(user, 1_500);
        assert_eq!(rev.check(&old), Err(TokenError::Revoked));
        assert!(rev.check(&other).is_ok());
        // An earlier cutoff does not undo a later one.
        rev.set_cutoff(user, 10);
        assert_eq!(rev.check(&old), Err(TokenError::Revoked));
        let fresh = signer.verify(&signer.issue(user, false, 3_000)).unwrap();
        assert!(rev.check(&fresh).is_ok());
    }
}
