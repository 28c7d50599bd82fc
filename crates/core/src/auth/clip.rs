//! [`Clipped`]: attacker-supplied text in admin messages, bounded.
//!
//! A refused launch is logged with its cause, and the cause can carry what the request sent
//! (a consumer key, a nonce, the base string computed from the whole body). Anyone may send a
//! launch, so each such value is written in full only up to a limit; past it the message keeps
//! the beginning, the total length and a SHA-256 digest (enough to compare with what the LMS
//! logged), so one refusal writes at most a few hundred bytes whatever the request held.

use std::fmt;

use sha2::{Digest, Sha256};

/// Writes `text` debug-quoted (or plain), cut at `max` bytes with its length and digest.
pub(crate) struct Clipped<'a> {
    text: &'a str,
    max: usize,
    quoted: bool,
}

impl<'a> Clipped<'a> {
    /// `text` in Rust debug quotes, at most `max` bytes of it.
    pub(crate) fn quoted(text: &'a str, max: usize) -> Self {
        Self {
            text,
            max,
            quoted: true,
        }
    }

    /// `text` as it is, at most `max` bytes of it.
    pub(crate) fn plain(text: &'a str, max: usize) -> Self {
        Self {
            text,
            max,
            quoted: false,
        }
    }
}

impl fmt::Display for Clipped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut end = self.text.len().min(self.max);
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        let shown = &self.text[..end];
        if self.quoted {
            write!(f, "{shown:?}")?;
        } else {
            f.write_str(shown)?;
        }
        if end < self.text.len() {
            let digest = Sha256::digest(self.text.as_bytes());
            let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
            write!(f, "… ({} bytes in all, SHA-256 {hex}…)", self.text.len())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_shown_whole() {
        assert_eq!(Clipped::quoted("a\"b", 10).to_string(), r#""a\"b""#);
        assert_eq!(Clipped::plain("abc", 3).to_string(), "abc");
    }

    #[test]
    fn long_text_is_cut_at_a_character_with_length_and_digest() {
        let long = "é".repeat(1000);
        let shown = Clipped::quoted(&long, 5).to_string();
        assert!(
            shown.starts_with("\"éé\"… (2000 bytes in all, SHA-256 "),
            "{shown}"
        );
        assert!(shown.len() < 80, "{shown}");
        let other = format!("{}x", "é".repeat(999));
        assert_ne!(
            Clipped::quoted(&other, 5).to_string(),
            shown,
            "the digest tells texts with the same beginning apart"
        );
    }
}
