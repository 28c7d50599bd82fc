//! [`hash_token`]: how secrets are kept (the store's tokens, client secrets and OAuth codes;
//! LTI 1.3 login states) — never in plain text, looked up by their hash.

use sha2::{Digest, Sha256};

/// The SHA-256 of a secret (token, client secret, OAuth code) as lower-case hex: how the store
/// keeps secrets, and the key to look them up by.
pub fn hash_token(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        out.push(char::from_digit(u32::from(b & 0xf), 16).unwrap_or('0'));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_sha256_in_lower_case_hex() {
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
