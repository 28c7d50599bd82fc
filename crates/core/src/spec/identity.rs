//! Who the user is inside the container: uid, gid and group name (see
//! docs/original-system.md, "Identity").

use std::fmt::Debug;

use super::{SpecConfig, SpecError};
use crate::launch::{LtiLaunch, is_safe_username};
use crate::params::LmsParams;

/// Host account lookups, kept behind a trait so the spec builder stays free of I/O.
/// The hub implements it through NSS (`/etc/nsswitch.conf`: files, LDAP/SSSD, …); tests use a map.
pub trait IdentityLookup: Send + Sync + Debug {
    /// The uid and primary gid of the host account `name`, if there is one.
    fn user(&self, name: &str) -> Option<(u32, u32)>;
    /// The name of the host group `gid`, if there is one.
    fn group_name(&self, gid: u32) -> Option<String>;
    /// The gid of the host group `name`, if there is one.
    fn group_gid(&self, name: &str) -> Option<u32>;
}

/// An [`IdentityLookup`] that knows no accounts: every user is resolved from the launch.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHostAccounts;

impl IdentityLookup for NoHostAccounts {
    fn user(&self, _name: &str) -> Option<(u32, u32)> {
        None
    }
    fn group_name(&self, _gid: u32) -> Option<String> {
        None
    }
    fn group_gid(&self, _name: &str) -> Option<u32> {
        None
    }
}

/// The user's resolved identity inside the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The uid (`NB_UID`).
    pub uid: u32,
    /// The primary gid (`NB_GID`).
    pub gid: u32,
    /// The primary group's name (`NB_GROUP`); always a safe name.
    pub group: String,
}

/// Resolves uid, gid and group name in the original's order:
///
/// * uid: host account, else `ext_user_userid`, else `base_id + user_id` (a non-numeric
///   `user_id` then is an error);
/// * gid: host account's primary gid, else `ext_user_groupid`, else the host gid of
///   `default_group`, else `base_id`;
/// * group name: the host's name for the gid, else `ext_user_groupname`, else `default_group`.
///   Group names that are not safe path segments are skipped, with a warning.
///
/// Identities below `min_uid`/`min_gid` are refused.
pub(crate) fn resolve(
    cfg: &SpecConfig,
    launch: &LtiLaunch,
    params: &LmsParams,
    ids: &dyn IdentityLookup,
    warnings: &mut Vec<String>,
) -> Result<Identity, SpecError> {
    let host = ids.user(&launch.username);
    let uid = match (host, params.ext_user_id) {
        (Some((uid, _)), _) => uid,
        (None, Some(uid)) => uid,
        (None, None) => launch
            .user_id
            .parse::<u32>()
            .ok()
            .and_then(|n| cfg.base_id.checked_add(n))
            .ok_or_else(|| SpecError::NoIdentity {
                username: launch.username.clone(),
                user_id: launch.user_id.clone(),
            })?,
    };
    let gid = match (host, params.ext_group_id) {
        (Some((_, gid)), _) => gid,
        (None, Some(gid)) => gid,
        (None, None) => ids.group_gid(&cfg.default_group).unwrap_or(cfg.base_id),
    };
    if uid < cfg.min_uid || gid < cfg.min_gid {
        return Err(SpecError::IdentityBelowMinimum {
            username: launch.username.clone(),
            uid,
            gid,
            min_uid: cfg.min_uid,
            min_gid: cfg.min_gid,
        });
    }
    // The launch's group name is copied only when it is the one chosen.
    let mut safe = |source: &str, name: Option<&str>| match name {
        Some(n) if is_safe_username(n) => true,
        Some(n) => {
            warnings.push(format!(
                "group name {n:?} from {source} is not a safe directory name; skipped"
            ));
            false
        }
        None => false,
    };
    let host_group = ids.group_name(gid);
    let group = if safe("the host group", host_group.as_deref()) {
        host_group
    } else if safe("ext_user_groupname", params.ext_group_name.as_deref()) {
        params.ext_group_name.clone()
    } else {
        None
    };
    let group = match group {
        Some(g) => g,
        None if is_safe_username(&cfg.default_group) => cfg.default_group.clone(),
        None => {
            return Err(SpecError::Config(format!(
                "default_group {:?} is not a safe group name ([a-z0-9._-], starting with a letter, \
                 digit or `_`)",
                cfg.default_group
            )));
        }
    };
    Ok(Identity { uid, gid, group })
}
