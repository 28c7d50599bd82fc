//! Which image a launch may run: the configured default, or an `lms_image` on the allowlist.

use super::{SpecConfig, SpecError};
use crate::container::{is_valid_image_reference, tagged};

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

fn check_syntax(image: &str) -> Result<(), SpecError> {
    if is_valid_image_reference(image) {
        Ok(())
    } else {
        Err(SpecError::InvalidImage {
            image: image.to_owned(),
        })
    }
}

/// True when `image` may be run and pulled by the configuration alone: it is the default image
/// or matches a pattern of `allowed_images` (with or without its implied `:latest`). An image a
/// launch may use only because the engine has it locally (`allow_local_images`) is not.
pub fn is_allowed(cfg: &SpecConfig, image: &str) -> bool {
    let image = image.trim();
    let tagged_image = tagged(image);
    tagged_image == tagged(cfg.default_image.trim())
        || cfg
            .allowed_images
            .iter()
            .any(|p| glob_match(p, &tagged_image) || glob_match(p, image))
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
    if is_allowed(cfg, requested) {
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
    fn allowed_means_the_default_or_a_pattern_with_the_implied_tag() {
        let cfg = SpecConfig {
            default_image: "school/base".to_owned(),
            allowed_images: vec!["school/course-*".to_owned()],
            ..SpecConfig::default()
        };
        assert!(is_allowed(&cfg, "school/base"));
        assert!(is_allowed(&cfg, "school/base:latest"));
        assert!(is_allowed(&cfg, " school/course-ds:2026 "));
        assert!(!is_allowed(&cfg, "school/base:old"));
        assert!(!is_allowed(&cfg, "elsewhere/course-ds"));
    }

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
}
