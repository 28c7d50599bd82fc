//! Image references: which ones are acceptable, and the `:latest` a reference without a tag
//! implies. The one place both the spec builder and the backends look.

use std::borrow::Cow;

use crate::params::find_str;

/// The longest image reference accepted.
pub(crate) const MAX_IMAGE_LEN: usize = 255;

/// Returns `image` with `:latest` added when it has neither a tag nor a digest, so that a pull
/// fetches one image and not every tag of the repository.
///
/// ```
/// use lticontainer_core::container::with_default_tag;
/// assert_eq!(with_default_tag("busybox"), "busybox:latest");
/// assert_eq!(with_default_tag("reg:5000/a/b"), "reg:5000/a/b:latest");
/// assert_eq!(with_default_tag("a/b:1"), "a/b:1");
/// assert_eq!(with_default_tag("a/b@sha256:00"), "a/b@sha256:00");
/// ```
pub fn with_default_tag(image: &str) -> String {
    tagged(image).into_owned()
}

/// [`with_default_tag`], borrowing `image` when it already has a tag or digest.
pub(crate) fn tagged(image: &str) -> Cow<'_, str> {
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

/// True when `image` is an acceptable image reference: 1 to [`MAX_IMAGE_LEN`] bytes of
/// `[A-Za-z0-9._/:@-]`, not starting with `-`, `/`, `.`, `:` or `@`, without `..`.
pub(crate) fn is_valid_image_reference(image: &str) -> bool {
    let bytes = image.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_IMAGE_LEN
        && !image.starts_with(['-', '/', '.', ':', '@'])
        && bytes.iter().all(|&b| IMAGE_BYTES[usize::from(b)])
        && find_str(image, "..").is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax() {
        for ok in ["jupyter/x:1", "a.b.c", "host:5000/a_b-c@sha256:00", "a."] {
            assert!(is_valid_image_reference(ok), "{ok}");
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
            assert!(!is_valid_image_reference(bad), "{bad}");
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

    /// What the Docker backend's own `pull_reference` asserted before it used this function.
    #[test]
    fn pull_reference_adds_latest_only_without_tag_or_digest() {
        assert_eq!(with_default_tag("busybox"), "busybox:latest");
        assert_eq!(with_default_tag("a/b:1"), "a/b:1");
        assert_eq!(with_default_tag("reg:5000/a/b"), "reg:5000/a/b:latest");
        assert_eq!(with_default_tag("a/b@sha256:00"), "a/b@sha256:00");
    }
}
