//! Which image a launch may run: the configured default, or an `lms_image` on the allowlist.

use std::borrow::Cow;

use super::{SpecConfig, SpecError};
use crate::params::find_str;

/// The longest image reference accepted.
const MAX_IMAGE_LEN: usize = 255;

/// Returns `image` with `:latest` added when it has neither a tag nor a digest.
pub fn with_default_tag(image: &str) -> String {
    tagged(image).into_owned()
}

/// [`with_default_tag`], borrowing `image` when it already has a tag or digest.
fn tagged(image: &str) -> Cow<'_, str> {
    // One pass: a digest anywhere, or a `:` after the last `/` (a tag), keeps the reference.
    let mut tag = false;
    for &b in image.as_bytes() {
        match b {
            b'@' => return Cow::Borrowed(image),
            b'/' => tag = false,
            b':' => tag = true,
            _ => {}
        }
    }
    if tag {
        Cow::Borrowed(image)
    } else {
        Cow::Owned([image, ":latest"].concat())
    }
}

/// True when `image` matches the glob `pattern` (`*` = any run of characters).
pub fn glob_match(pattern: &str, image: &str) -> bool {
    // The text before the first `*`, the `*`-separated parts between, the text after the last.
    let Some((first, rest)) = pattern.split_once('*') else {
        return pattern == image;
    };
    let (middle, last) = rest.rsplit_once('*').unwrap_or(("", rest));
    let Some(mut rest) = image.strip_prefix(first) else {
        return false;
    };
    for part in middle.split('*').filter(|p| !p.is_empty()) {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// The bytes an image reference may hold (`[A-Za-z0-9._/:@-]`), as a table indexed by byte.
const IMAGE_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] =
            c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-' | b'/' | b':' | b'@');
        b += 1;
    }
    table
};

fn check_syntax(image: &str) -> Result<(), SpecError> {
    let bytes = image.as_bytes();
    let ok = !bytes.is_empty()
        && bytes.len() <= MAX_IMAGE_LEN
        && !image.starts_with(['-', '/', '.', ':', '@'])
        && bytes.iter().all(|&b| IMAGE_BYTES[usize::from(b)])
        && find_str(image, "..").is_none();
    if ok {
        Ok(())
    } else {
        Err(SpecError::InvalidImage {
            image: image.to_owned(),
        })
    }
}

/// Chooses the image: the launch's (already S1-sanitised) `requested` image when it is on the
/// allowlist, the default image when the launch named none.
pub(crate) fn choose(cfg: &SpecConfig, requested: Option<&str>) -> Result<String, SpecError> {
    let default = tagged(cfg.default_image.trim());
    check_syntax(&default).map_err(|_| {
        SpecError::Config(format!(
            "default_image {:?} is not a valid image reference",
            cfg.default_image
        ))
    })?;
    let Some(requested) = requested.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(default.into_owned());
    };
    check_syntax(requested)?;
    let image = tagged(requested);
    let allowed = image == default
        || cfg
            .allowed_images
            .iter()
            .any(|p| glob_match(p, &image) || glob_match(p, requested));
    if allowed {
        Ok(image.into_owned())
    } else {
        Err(SpecError::ImageNotAllowed {
            image: image.into_owned(),
            default: default.into_owned(),
            allowed: cfg.allowed_images.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("repo/*", "repo/x:1"));
        assert!(glob_match("name:*", "name:latest"));
        assert!(!glob_match("name:*", "name2:latest"));
        assert!(glob_match("*", "anything"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxbyy"));
        assert!(!glob_match("ab*ba", "aba"));
        assert!(glob_match("exact:1", "exact:1"));
        assert!(!glob_match("exact:1", "exact:10"));
        assert!(glob_match("a**b", "ab"));
        assert!(glob_match("*:*", "x:1"));
        assert!(!glob_match("*:*", "x1"));
        assert!(glob_match("**", ""));
        assert!(!glob_match("a*a", "a"));
    }

    #[test]
    fn syntax() {
        for ok in ["jupyter/x:1", "a.b.c", "host:5000/a_b-c@sha256:00", "a."] {
            assert!(check_syntax(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a..b",
            "a.b..",
            "a b",
            "a;b",
            "é",
            ".a",
            "@a",
            &"a".repeat(256),
        ] {
            assert!(check_syntax(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn default_tags() {
        assert_eq!(with_default_tag("a/b"), "a/b:latest");
        assert_eq!(with_default_tag("a/b:1"), "a/b:1");
        assert_eq!(with_default_tag("host:5000/a"), "host:5000/a:latest");
        assert_eq!(with_default_tag("a@sha256:00"), "a@sha256:00");
        assert_eq!(
            with_default_tag("host:5000/a@sha256:00"),
            "host:5000/a@sha256:00"
        );
        assert_eq!(with_default_tag("a:1/b"), "a:1/b:latest");
        assert!(matches!(tagged("a/b:1"), Cow::Borrowed(_)));
    }
}
