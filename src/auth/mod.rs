//! Credentials: password hashing (argon2id), API tokens and session secrets (stored only as
//! SHA-256), and the failed-login throttle. No I/O besides the OS random source.

pub mod throttle;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("passordet må ha minst {MIN_PASSWORD_CHARS} tegn")]
    PasswordTooShort,
    #[error("the OS random source failed: {0}")]
    Random(String),
    #[error("password hashing failed: {0}")]
    Hash(String),
}

pub const MIN_PASSWORD_CHARS: usize = 10;

/// Fills `buf` from the OS random source.
pub fn random_bytes(buf: &mut [u8]) -> Result<(), AuthError> {
    getrandom::fill(buf).map_err(|e| AuthError::Random(e.to_string()))
}

pub fn check_password_policy(password: &str) -> Result<(), AuthError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AuthError::PasswordTooShort);
    }
    Ok(())
}

/// Argon2id with the crate's default (OWASP-recommended) parameters, as a PHC string.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let mut salt = [0u8; 16];
    random_bytes(&mut salt)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| AuthError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

/// Constant-time verification; a malformed stored hash never verifies.
pub fn verify_password(stored_hash: &str, password: &str) -> bool {
    match PasswordHash::new(stored_hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A dummy verification so that an unknown user name costs as much time as a wrong password.
pub fn burn_password_time(password: &str) {
    static DUMMY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if let Some(hash) = DUMMY.get_or_init(|| hash_password("dummy-password-for-timing").ok()) {
        let _ = verify_password(hash, password);
    }
}

/// A new secret (API token, session id, CSRF token): 32 random bytes, hex, with a prefix
/// that tells what it is when one turns up in a log or a paste.
pub fn new_secret(prefix: &str) -> Result<String, AuthError> {
    let mut bytes = [0u8; 32];
    random_bytes(&mut bytes)?;
    Ok(format!("{prefix}{}", crate::domain::digest::lower_hex(&bytes)))
}

/// A one-time password people can type: 20 characters without look-alikes (0/O, 1/l/I).
pub fn new_readable_password() -> Result<String, AuthError> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    random_bytes(&mut bytes)?;
    // 256 % 56 != 0 gives a tiny bias; irrelevant at 20 characters (~116 bits).
    Ok(bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect())
}

/// Secrets are stored as SHA-256 hex: a leaked database does not leak usable tokens.
pub fn secret_hash(secret: &str) -> String {
    crate::domain::digest::sha256_hex(secret.as_bytes())
}

/// Constant-time string comparison for CSRF tokens.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_round_trip() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "correct horse battery"));
        assert!(!verify_password(&h, "correct horse batterY"));
        assert!(!verify_password("not a hash", "x"));
    }

    #[test]
    fn secrets_are_distinct_and_hashed() {
        let a = new_secret("sct_").unwrap();
        let b = new_secret("sct_").unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 64);
        assert_eq!(secret_hash(&a).len(), 64);
        assert_ne!(secret_hash(&a), a);
        assert!(constant_time_eq(&a, &a.clone()));
        assert!(!constant_time_eq(&a, &b));
        assert_eq!(new_readable_password().unwrap().len(), 20);
    }
}
