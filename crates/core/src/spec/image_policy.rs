//! Which image a launch may run: the configured default, or an `lms_image` on the allowlist.

use super::{SpecConfig, SpecError};

/// The longest image reference accepted.
const MAX_IMAGE_LEN: usize = 255;

/// Returns `image` with `:latest` added when it has neither a tag nor a digest.
pub fn with_default_tag(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    if last.contains(':') || image.contains('@') {
        image.to_owned()
    } else {
        [image, ":latest"].concat()
    }
}

/// True when `image` matches the glob `pattern` (`*` = any run of characters).
pub fn glob_match(pattern: &str, image: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return pattern == image;
    };
    let Some(mut rest) = image.strip_prefix(first) else {
        return false;
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

fn check_syntax(image: &str) -> Result<(), SpecError> {
    let ok = !image.is_empty()
        && image.len() <= MAX_IMAGE_LEN
        && !image.starts_with(['-', '/', '.', ':', '@'])
        && !image.contains("..")
        && image.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/' | b':' | b'@')
        });
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
    let default = with_default_tag(cfg.default_image.trim());
    check_syntax(&default).map_err(|_| {
        SpecError::Config(format!(
            "default_image {:?} is not a valid image reference",
            cfg.default_image
        ))
    })?;
    let Some(requested) = requested.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(default);
    };
    check_syntax(requested)?;
    let image = with_default_tag(requested);
    let allowed = image == default
        || cfg
            .allowed_images
            .iter()
            .any(|p| glob_match(p, &image) || glob_match(p, requested));
    if allowed {
        Ok(image)
    } else {
        Err(SpecError::ImageNotAllowed {
            image,
            default,
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
    }

    #[test]
    fn default_tags() {
        assert_eq!(with_default_tag("a/b"), "a/b:latest");
        assert_eq!(with_default_tag("a/b:1"), "a/b:1");
        assert_eq!(with_default_tag("host:5000/a"), "host:5000/a:latest");
        assert_eq!(with_default_tag("a@sha256:00"), "a@sha256:00");
    }
}
