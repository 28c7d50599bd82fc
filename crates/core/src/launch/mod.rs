//! The launch model: what one verified LTI 1.1 launch says about the user, the course and the link.
//!
//! [`LtiLaunch::from_params`] turns the (already verified) form parameters of a launch into an
//! [`LtiLaunch`]. It keeps every parameter except the `oauth_*` ones in [`LtiLaunch::params`], so
//! the `lms_*` parameter model ([`crate::params`]) and anything later can read them.
//!
//! # Decisions
//!
//! * **Duplicate keys**: the last value wins in [`LtiLaunch::params`] (the signature check, which
//!   needs every value, runs before this model is built).
//! * **Username source**: the parameter named by `username_key` (the original's default is
//!   `ext_user_username`, Moodle's login name); when it is missing or blank, the name comes from
//!   `user_id` in a namespace of its own ([`user_id_username`]: `uid-17-<digest>`; the original
//!   used the bare `user_id`, so a launch with `user_id=rt4iu4a` and no username reached the
//!   account of the login `rt4iu4a`). A present but unusable value is an error, never a silent
//!   switch to `user_id`: switching could make two LMS accounts share one Unix account.
//! * **Username normalisation** ([`normalize_username`]): the name becomes the Unix login, the
//!   home directory and part of the container name, so it must be safe for all three.
//!   - It is trimmed and ASCII-lowercased (JupyterHub lowercases too; Moodle logins are lowercase).
//!   - A name that is then already safe — only `[a-z0-9._-]`, first character `[a-z0-9_]`, at
//!     most [`MAX_USERNAME_LEN`] characters — is kept as it is (`alice`, `s2023001`, `a.b-c_d`).
//!   - Any other name is *mapped*: each character outside `[a-z0-9._-]` becomes `-`, leading
//!     `.`/`-` are dropped, and a `-` plus [`HASH_SUFFIX_LEN`] hex digits of the SHA-256 of the
//!     trimmed, lowercased name is appended (the stem cut to 15 characters so the whole fits in
//!     32). Lowercasing first makes `Bob@X.org` in a user list match the login `bob@x.org`.
//!     The suffix keeps names that map to the same stem (`a@b.c`, `a#b.c`) apart; at 64 bits it
//!     cannot be brute-forced to make one LMS login land on another's account.
//!   - A safe name that *looks* mapped (it ends in `-` and 16 hex digits) is mapped again, so
//!     nobody can register the mapped form of someone else's login (`bob-example.com-…`) and get
//!     their account. The price: normalising a mapped name again changes it, so user lists must
//!     hold LMS logins, not mapped names.
//!   - When the mapped stem holds no ASCII letter or digit at all (e.g. only `..` or only
//!     Japanese characters) the launch is refused with [`LaunchModelError::UnusableUsername`]:
//!     a name made of a hash alone would tell the admin nothing.
//!   - Purely numeric names (student numbers) are accepted; Debian's `useradd` accepts them.
//!   - The LMS's login itself is kept beside the hub name ([`LtiLaunch::lms_login`]): Moodle's
//!     mod_lticontainer lists the course's users on its "JupyterHub User" tab by matching
//!     Moodle's `username` to the `name` of the hub's admin API, and deletes servers by it. The
//!     admin API therefore names users by their LMS login and accepts it in its paths
//!     (`http::hubapi::admin`), so an e-mail-style login (`hanako.yamada@example.com`, hub name
//!     `hanako.yamada-e-<hash>`) appears on the tab under the name Moodle shows and can be
//!     deleted there; only the student's URL (`/user/<hub name>/`) and container show the
//!     mapped name.
//! * **Roles**: `roles` is split on commas; each entry is trimmed. Short names (`Instructor`),
//!   LTI 1.1 URNs (`urn:lti:role:ims/lis/Instructor`, `urn:lti:instrole:ims/lis/Administrator`,
//!   `urn:lti:sysrole:ims/lis/Administrator`, sub-roles such as
//!   `urn:lti:role:ims/lis/Instructor/Lecturer`) and LIS v2 URIs (`…/membership#Instructor`) are
//!   understood, compared case-insensitively.

use sha2::{Digest, Sha256};

mod params;

pub use params::LaunchParams;

/// The longest username accepted (the Unix `useradd` limit on common systems).
pub const MAX_USERNAME_LEN: usize = 32;

/// The number of hex digits of the hash appended to mapped usernames.
pub const HASH_SUFFIX_LEN: usize = 16;

/// The default parameter that holds the username (Moodle's login name).
pub const DEFAULT_USERNAME_KEY: &str = "ext_user_username";

/// Why a verified launch cannot be turned into an [`LtiLaunch`]. Every variant means a bad
/// request (HTTP 400): the LMS sent something the hub cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LaunchModelError {
    /// A required LTI parameter is missing or blank.
    #[error(
        "the launch lacks the required LTI parameter `{name}`; check the LTI tool configuration in the LMS"
    )]
    MissingParameter {
        /// The parameter name, e.g. `user_id`.
        name: &'static str,
    },
    /// The username holds nothing that can become a Unix account name.
    #[error(
        "the username {raw:?} (from `{key}`) holds no ASCII letter or digit, so it cannot become \
         a Unix account name; use an LMS login made of letters, digits, `.`, `_` or `-`"
    )]
    UnusableUsername {
        /// The parameter the value came from.
        key: String,
        /// The value as the LMS sent it.
        raw: String,
    },
}

impl From<LaunchModelError> for crate::Error {
    fn from(e: LaunchModelError) -> Self {
        crate::Error::invalid(e.to_string())
    }
}

/// One verified LTI 1.1 launch, reduced to what the hub needs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LtiLaunch {
    /// The OAuth consumer key the launch was signed with (identifies the LMS).
    pub consumer_key: String,
    /// The normalised username (see [`normalize_username`]): Unix login, home and container name.
    pub username: String,
    /// The LMS's login as the LMS writes it (the `username_key` parameter, trimmed and
    /// ASCII-lowercased like Moodle's logins), also when [`LtiLaunch::username`] is its mapped
    /// form; `None` when the launch had none and the username came from `user_id`. The admin API
    /// names users by it, as mod_lticontainer matches them to Moodle's `username`.
    pub lms_login: Option<String>,
    /// The LMS's opaque user id (`user_id`); Moodle sends its numeric user id.
    pub user_id: String,
    /// The roles of the user in this context, split on commas, trimmed, empties dropped.
    pub roles: Vec<String>,
    /// The LTI `context_id` (Moodle: the course id).
    pub context_id: Option<String>,
    /// The LTI `context_title` (Moodle: the course full name).
    pub context_title: Option<String>,
    /// The LTI `resource_link_id` (the activity link).
    pub resource_link_id: String,
    /// The LTI `resource_link_title`.
    pub resource_link_title: Option<String>,
    /// `lis_outcome_service_url`, sent when the tool accepts grades.
    pub outcome_service_url: Option<String>,
    /// `lis_result_sourcedid`, the grade passback handle.
    pub result_sourcedid: Option<String>,
    /// Every parameter whose name does not start with `oauth_`; for duplicate keys the last value wins.
    pub params: LaunchParams,
    /// The LTI 1.3 platform of a verified 1.3 launch (its AGS endpoint for grades); `None` for
    /// a 1.1 launch.
    pub lti13: Option<crate::lti13::PlatformLaunch>,
}

impl LtiLaunch {
    /// Builds the launch model from the verified launch parameters.
    ///
    /// `params` holds the form (and query) parameters in order (a [`crate::form::FormParams`],
    /// a slice of pairs or a [`LaunchParams`]); `username_key` names the parameter that carries
    /// the username (usually [`DEFAULT_USERNAME_KEY`]).
    ///
    /// # Errors
    /// [`LaunchModelError::MissingParameter`] when `user_id` or `resource_link_id` is missing or
    /// blank; [`LaunchModelError::UnusableUsername`] when no safe username can be derived.
    pub fn from_params(
        consumer_key: &str,
        params: impl Into<LaunchParams>,
        username_key: &str,
    ) -> Result<Self, LaunchModelError> {
        let map: LaunchParams = params.into();
        let text = |name: &str| map.get(name).map(str::trim).filter(|v| !v.is_empty());
        let get = |name: &str| text(name).map(str::to_owned);
        let user_id =
            text("user_id").ok_or(LaunchModelError::MissingParameter { name: "user_id" })?;
        let resource_link_id =
            get("resource_link_id").ok_or(LaunchModelError::MissingParameter {
                name: "resource_link_id",
            })?;
        let username = match text(username_key) {
            Some(raw) => {
                normalize_username(raw).ok_or_else(|| LaunchModelError::UnusableUsername {
                    key: username_key.to_owned(),
                    raw: raw.to_owned(),
                })?
            }
            None => user_id_username(user_id),
        };
        let lms_login = text(username_key).map(str::to_ascii_lowercase);
        let roles = map
            .get("roles")
            .map(|r| {
                r.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            consumer_key: consumer_key.to_owned(),
            username,
            lms_login,
            user_id: user_id.to_owned(),
            roles,
            context_id: get("context_id"),
            context_title: get("context_title"),
            resource_link_id,
            resource_link_title: get("resource_link_title"),
            outcome_service_url: get("lis_outcome_service_url"),
            result_sourcedid: get("lis_result_sourcedid"),
            params: map,
            lti13: None,
        })
    }

    /// The value of the custom parameter `custom_<name>` (pass `name` without the prefix, as
    /// Moodle spells it: lowercase, non-alphanumerics as `_`, e.g. `lms_vol_rsa`).
    pub fn custom(&self, name: &str) -> Option<&str> {
        self.params.get(&["custom_", name].concat())
    }

    /// Iterates over all custom parameters as `(name without "custom_", value)`, sorted by name.
    pub fn customs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params
            .with_prefix("custom_")
            .filter_map(|(k, v)| Some((k.strip_prefix("custom_")?, v)))
    }

    /// True when one of the roles is Instructor or Administrator (short name, URN or LIS v2 URI).
    pub fn is_instructor(&self) -> bool {
        self.roles.iter().any(|r| role_is_instructor(r))
    }
}

/// True when one LTI role names an instructor or an administrator.
pub fn role_is_instructor(role: &str) -> bool {
    let role = role.trim();
    let lower = role.to_ascii_lowercase();
    let name = if let Some((_, frag)) = lower.rsplit_once('#') {
        frag
    } else {
        let mut rest = lower.as_str();
        for prefix in [
            "urn:lti:role:ims/lis/",
            "urn:lti:instrole:ims/lis/",
            "urn:lti:sysrole:ims/lis/",
        ] {
            if let Some(r) = rest.strip_prefix(prefix) {
                rest = r;
                break;
            }
        }
        // Sub-roles: `Instructor/Lecturer` counts as `Instructor`.
        rest.split('/').next().unwrap_or(rest)
    };
    matches!(name, "instructor" | "administrator")
}

/// Turns an LMS username into a safe Unix / Docker name, or `None` when nothing usable remains.
/// The rules are in the module docs.
pub fn normalize_username(raw: &str) -> Option<String> {
    let lowered = raw.trim().to_ascii_lowercase();
    if is_safe_username(&lowered) && !looks_mapped(&lowered) {
        return Some(lowered);
    }
    let stem = safe_stem(&lowered);
    if !stem.chars().any(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    Some(mapped_name(&stem, lowered.as_bytes()))
}

/// The hub username of a launch without a username: `uid-<user_id>-<16 hex digits>`, always in
/// the mapped form with a digest of `user_id:<user_id>`. No login can normalise to it (a login
/// that looks mapped is mapped again, with a digest of other input), so a `user_id` can never
/// land on the account of a login, nor a login on the account of a `user_id`.
pub fn user_id_username(user_id: &str) -> String {
    let lowered = user_id.trim().to_ascii_lowercase();
    let stem = format!("uid-{}", safe_stem(&lowered));
    let mut input = b"user_id:".to_vec();
    input.extend_from_slice(lowered.as_bytes());
    mapped_name(stem.trim_end_matches(['.', '-']), &input)
}

/// `lowered` with each character outside `[a-z0-9._-]` turned into `-`, leading `.`/`-` dropped.
fn safe_stem(lowered: &str) -> String {
    let mapped: String = lowered
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    mapped.trim_start_matches(['.', '-']).to_owned()
}

/// `<stem>-<HASH_SUFFIX_LEN hex digits of SHA-256(digest_input)>`, the stem cut so the whole
/// fits in [`MAX_USERNAME_LEN`].
fn mapped_name(stem: &str, digest_input: &[u8]) -> String {
    let digest = Sha256::digest(digest_input);
    let suffix: String = digest[..HASH_SUFFIX_LEN / 2]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    // The stem is ASCII by construction, so byte slicing is char slicing.
    let keep = stem.len().min(MAX_USERNAME_LEN - 1 - suffix.len());
    let stem = stem[..keep].trim_end_matches(['.', '-']);
    format!("{stem}-{suffix}")
}

/// True when `name` ends like a mapped name: `-` and [`HASH_SUFFIX_LEN`] lowercase hex digits.
fn looks_mapped(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() > HASH_SUFFIX_LEN
        && b[b.len() - HASH_SUFFIX_LEN - 1] == b'-'
        && b[b.len() - HASH_SUFFIX_LEN..]
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
}

/// True when `name` is already a safe Unix / Docker name (see the module docs).
pub fn is_safe_username(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_USERNAME_LEN
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit() || bytes[0] == b'_')
        && bytes.iter().all(|&b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn safe_names_stay() {
        for n in ["alice", "s2023001", "a.b-c_d", "_x", "20231234"] {
            assert_eq!(normalize_username(n).as_deref(), Some(n));
        }
        assert_eq!(normalize_username(" Alice ").as_deref(), Some("alice"));
    }

    #[test]
    fn mapped_names_get_a_hash_suffix() {
        let a = normalize_username("a@b.c").expect("usable");
        let b = normalize_username("a#b.c").expect("usable");
        assert!(a.starts_with("a-b.c-"), "{a}");
        assert_ne!(a, b);
        assert!(is_safe_username(&a) && is_safe_username(&b));
        assert_eq!(a.len(), "a-b.c-".len() + HASH_SUFFIX_LEN);
        // Registering the mapped form of someone else's login does not give their account.
        let victim = normalize_username("bob@example.com").expect("usable");
        let attacker = normalize_username(&victim).expect("usable");
        assert_ne!(victim, attacker);
        assert!(is_safe_username(&attacker));
        let long = normalize_username(&"x".repeat(80)).expect("usable");
        assert_eq!(long.len(), MAX_USERNAME_LEN);
        assert!(is_safe_username(&long));
        let dotted = normalize_username("..hidden").expect("usable");
        assert!(dotted.starts_with("hidden-"), "{dotted}");
    }

    #[test]
    fn nothing_usable_is_none() {
        for n in ["", "..", "---", "山田", " ", "/"] {
            assert_eq!(normalize_username(n), None, "{n:?}");
        }
    }

    #[test]
    fn roles_are_recognised() {
        for r in [
            "Instructor",
            "instructor",
            "Administrator",
            "urn:lti:role:ims/lis/Instructor",
            "urn:lti:instrole:ims/lis/Administrator",
            "urn:lti:sysrole:ims/lis/Administrator",
            "urn:lti:role:ims/lis/Instructor/Lecturer",
            "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
        ] {
            assert!(role_is_instructor(r), "{r}");
        }
        for r in [
            "Learner",
            "urn:lti:role:ims/lis/Learner",
            "urn:lti:role:ims/lis/TeachingAssistant",
            "urn:lti:instrole:ims/lis/Student",
            "NotInstructor",
            "",
        ] {
            assert!(!role_is_instructor(r), "{r}");
        }
    }

    #[test]
    fn last_duplicate_wins_and_oauth_is_dropped() {
        let l = LtiLaunch::from_params(
            "k",
            &p(&[
                ("user_id", "7"),
                ("resource_link_id", "r"),
                ("custom_x", "1"),
                ("custom_x", "2"),
                ("oauth_nonce", "n"),
            ]),
            DEFAULT_USERNAME_KEY,
        )
        .expect("valid");
        assert_eq!(l.custom("x"), Some("2"));
        assert!(!l.params.contains_key("oauth_nonce"));
        assert_eq!(l.username, user_id_username("7"));
        assert_eq!(l.lms_login, None, "no login was sent");
        assert_eq!(l.customs().collect::<Vec<_>>(), vec![("x", "2")]);
    }

    #[test]
    fn the_lms_login_is_kept_beside_a_mapped_name() {
        let l = LtiLaunch::from_params(
            "moodle",
            &p(&[
                ("user_id", "6"),
                ("resource_link_id", "r"),
                ("ext_user_username", " Hanako.Yamada@Example.com "),
            ]),
            DEFAULT_USERNAME_KEY,
        )
        .expect("valid");
        assert_eq!(l.lms_login.as_deref(), Some("hanako.yamada@example.com"));
        assert_eq!(
            Some(l.username),
            normalize_username("hanako.yamada@example.com")
        );
    }
}
