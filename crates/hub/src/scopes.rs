//! The JupyterHub scopes the hub grants, and the little of JupyterHub's scope logic it needs.
//!
//! The hub knows one kind of server (each user's unnamed server) and two kinds of token, so the
//! scopes are fixed: a server's API token gets the `server` role (`users:activity!user=<u>`,
//! `access:servers!server=<u>/`); an OAuth access token gets the client's default scopes
//! (`access:servers!server=<owner>/` plus the "identify" scopes of the user who authorized it).

/// `access:servers!server=<user>/`: access to `user`'s server.
pub fn server_access(user: &str) -> String {
    format!("access:servers!server={user}/")
}

/// The scopes a single-user server accepts (`JUPYTERHUB_OAUTH_ACCESS_SCOPES`).
pub fn access_scopes(user: &str) -> Vec<String> {
    vec![server_access(user), format!("access:servers!user={user}")]
}

/// The scopes the server's OAuth client may grant (`JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES`).
pub fn client_allowed_scopes(user: &str) -> Vec<String> {
    vec![server_access(user)]
}

/// The scopes of a server's `JUPYTERHUB_API_TOKEN` (JupyterHub's `server` role).
pub fn server_token_scopes(user: &str) -> Vec<String> {
    vec![server_access(user), format!("users:activity!user={user}")]
}

/// The scopes of an OAuth access token that `user` authorized for `owner`'s server.
pub fn oauth_token_scopes(owner: &str, user: &str) -> Vec<String> {
    let mut s = vec![server_access(owner)];
    s.extend(identify_scopes(user));
    s.sort();
    s
}

/// The scopes every token holds on `/hub/api/user` to read its owner's identity.
pub fn identify_scopes(user: &str) -> [String; 2] {
    [
        format!("read:users:groups!user={user}"),
        format!("read:users:name!user={user}"),
    ]
}

/// Adds the subscopes JupyterHub implies (`users:activity` → `read:users:activity`), sorted.
pub fn expand(scopes: &[String]) -> Vec<String> {
    let mut out: Vec<String> = scopes.to_vec();
    for s in scopes {
        if let Some(filter) = s.strip_prefix("users:activity") {
            out.push(format!("read:users:activity{filter}"));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Whether `scopes` grant `scope` on `user` (unfiltered, or filtered to `!user=<user>`).
pub fn grants(scopes: &[String], scope: &str, user: &str) -> bool {
    scopes.iter().any(|s| {
        s == scope
            || s.strip_prefix(scope)
                .and_then(|f| f.strip_prefix("!user="))
                .is_some_and(|u| u == user)
    })
}

/// Whether `scopes` hold `scope` with any filter (JupyterHub answers 404, not 403, then).
pub fn holds_any(scopes: &[String], scope: &str) -> bool {
    scopes
        .iter()
        .any(|s| s == scope || s.strip_prefix(scope).is_some_and(|f| f.starts_with('!')))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn server_token_expands_like_jupyterhub() {
        assert_eq!(
            expand(&server_token_scopes("alice")),
            [
                "access:servers!server=alice/",
                "read:users:activity!user=alice",
                "users:activity!user=alice"
            ]
        );
    }

    #[test]
    fn filters_match_only_their_user() {
        let s = server_token_scopes("alice");
        assert!(grants(&s, "users:activity", "alice"));
        assert!(!grants(&s, "users:activity", "bob"));
        assert!(!grants(&s, "users:activity", "alice2"));
        assert!(holds_any(&s, "users:activity"));
        assert!(!holds_any(
            &oauth_token_scopes("alice", "alice"),
            "users:activity"
        ));
        assert!(grants(
            &["users:activity".to_owned()],
            "users:activity",
            "bob"
        ));
    }

    #[test]
    fn oauth_scopes_name_owner_and_authorizer() {
        assert_eq!(
            oauth_token_scopes("alice", "admin"),
            [
                "access:servers!server=alice/",
                "read:users:groups!user=admin",
                "read:users:name!user=admin"
            ]
        );
    }
}
