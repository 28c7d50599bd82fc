//! [`ServerCredentials::server_env`]: the `JUPYTERHUB_*` environment of a single-user server, as
//! JupyterHub 5's `Spawner.get_env` builds it.

use super::{HubApiConfig, ServerCredentials, ServerEnv};
use crate::scopes;
use lticontainer_core::Result;

/// Per-spawn choices that change a server's environment.
#[derive(Debug, Clone)]
pub struct ServerEnvOptions {
    /// The address the server binds (`JUPYTERHUB_SERVICE_URL`): `127.0.0.1` with host
    /// networking, `0.0.0.0` in its own network.
    pub bind_host: String,
    /// The hub API URL this server calls (`JUPYTERHUB_API_URL`), when it is not the one of
    /// [`HubApiConfig::api_url`]: with isolated networking, the gateway of the server's network.
    pub api_url: Option<String>,
    /// Whether the server's cookies must work inside a cross-site iframe (an LMS page):
    /// sets `JUPYTERHUB_COOKIE_OPTIONS` to `SameSite=None; Secure` (lower-case keys, which
    /// tornado's `set_cookie` takes without a deprecation warning). The server's `_xsrf` cookie
    /// does not follow these options; it takes `ServerApp.tornado_settings.xsrf_cookie_kwargs`.
    pub cross_site_cookies: bool,
}

impl Default for ServerEnvOptions {
    fn default() -> Self {
        Self {
            bind_host: "127.0.0.1".into(),
            api_url: None,
            cross_site_cookies: false,
        }
    }
}

/// JSON the way Python's `json.dumps` writes a list of strings: `["a", "b"]`.
fn py_json_list(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| serde_json::Value::String(s.clone()).to_string())
        .collect();
    format!("[{}]", quoted.join(", "))
}

impl ServerCredentials {
    /// Creates a fresh API token and the OAuth client `jupyterhub-user-<user>` for `user`'s
    /// server listening on `port`, stores them hashed (revoking the server's earlier tokens),
    /// and returns the environment JupyterHub 5 gives a server.
    ///
    /// The caller adds `JUPYTERHUB_DEFAULT_URL`, `JUPYTERHUB_ROOT_DIR` and anything of its own.
    ///
    /// # Errors
    /// [`InvalidInput`](lticontainer_core::Error::InvalidInput) for a user name that cannot appear
    /// in a URL; the store's errors.
    pub async fn server_env(
        &self,
        user: &str,
        port: u16,
        options: &ServerEnvOptions,
    ) -> Result<ServerEnv> {
        let token = self.issue(user).await?;
        Ok(hub_env(&self.config, user, port, token, options))
    }
}

/// The `JUPYTERHUB_*` environment of `user`'s server on `port` with the API token `token`, as
/// JupyterHub 5's `Spawner.get_env` builds it. Pure: [`ServerCredentials::server_env`] issues the
/// token and calls this.
pub fn hub_env(
    cfg: &HubApiConfig,
    user: &str,
    port: u16,
    token: String,
    options: &ServerEnvOptions,
) -> ServerEnv {
    let prefix = cfg.server_prefix(user);
    let api_url = options
        .api_url
        .as_deref()
        .unwrap_or(&cfg.api_url)
        .trim_end_matches('/')
        .to_owned();
    let access = py_json_list(&scopes::access_scopes(user));
    let mut env = ServerEnv::new();
    let mut set = |k: &str, v: String| {
        env.insert(k.to_owned(), v);
    };
    set("JUPYTERHUB_API_TOKEN", token.clone());
    set("JPY_API_TOKEN", token);
    set("JUPYTERHUB_CLIENT_ID", ServerCredentials::client_id(user));
    if options.cross_site_cookies {
        set(
            "JUPYTERHUB_COOKIE_OPTIONS",
            r#"{"samesite": "None", "secure": true}"#.to_owned(),
        );
    }
    set("JUPYTERHUB_COOKIE_HOST_PREFIX_ENABLED", "0".to_owned());
    set("JUPYTERHUB_HOST", cfg.public_host.clone());
    set("JUPYTERHUB_OAUTH_CALLBACK_URL", cfg.oauth_callback(user));
    set("JUPYTERHUB_OAUTH_SCOPES", access.clone());
    set("JUPYTERHUB_OAUTH_ACCESS_SCOPES", access);
    set(
        "JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES",
        py_json_list(&scopes::client_allowed_scopes(user)),
    );
    set("JUPYTERHUB_USER", user.to_owned());
    set("JUPYTERHUB_SERVER_NAME", String::new());
    set(
        "JUPYTERHUB_ACTIVITY_URL",
        format!("{api_url}/users/{user}/activity"),
    );
    set("JUPYTERHUB_API_URL", api_url);
    // JupyterHub: hub.base_url ("/hub/") without its last four characters.
    let base = cfg
        .hub_prefix
        .strip_suffix("hub/")
        .unwrap_or(&cfg.hub_prefix)
        .to_owned();
    set("JUPYTERHUB_BASE_URL", base);
    set("JUPYTERHUB_SERVICE_PREFIX", prefix.clone());
    set(
        "JUPYTERHUB_SERVICE_URL",
        format!("http://{}:{port}{prefix}", options.bind_host),
    );
    let public = if cfg.public_host.is_empty() {
        String::new()
    } else {
        format!("{}{prefix}", cfg.public_host)
    };
    set("JUPYTERHUB_PUBLIC_URL", public);
    let public_hub = if cfg.public_host.is_empty() {
        String::new()
    } else {
        format!("{}{}", cfg.public_host, cfg.hub_prefix)
    };
    set("JUPYTERHUB_PUBLIC_HUB_URL", public_hub);
    env
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use lticontainer_core::store::{InMemoryStore, Store, TokenKind, hash_token};

    use super::super::HubApiConfig;
    use super::*;

    fn api(store: Arc<InMemoryStore>) -> ServerCredentials {
        ServerCredentials::new(store, HubApiConfig::default())
    }

    #[tokio::test]
    async fn env_matches_jupyterhub_get_env() {
        let store = Arc::new(InMemoryStore::new());
        let env = api(store.clone())
            .server_env("alice", 18001, &ServerEnvOptions::default())
            .await
            .unwrap();
        let expect = [
            ("JUPYTERHUB_CLIENT_ID", "jupyterhub-user-alice"),
            ("JUPYTERHUB_HOST", ""),
            (
                "JUPYTERHUB_OAUTH_CALLBACK_URL",
                "/user/alice/oauth_callback",
            ),
            (
                "JUPYTERHUB_OAUTH_ACCESS_SCOPES",
                r#"["access:servers!server=alice/", "access:servers!user=alice"]"#,
            ),
            (
                "JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES",
                r#"["access:servers!server=alice/"]"#,
            ),
            ("JUPYTERHUB_USER", "alice"),
            ("JUPYTERHUB_SERVER_NAME", ""),
            ("JUPYTERHUB_API_URL", "http://127.0.0.1:8081/hub/api"),
            (
                "JUPYTERHUB_ACTIVITY_URL",
                "http://127.0.0.1:8081/hub/api/users/alice/activity",
            ),
            ("JUPYTERHUB_BASE_URL", "/"),
            ("JUPYTERHUB_SERVICE_PREFIX", "/user/alice/"),
            (
                "JUPYTERHUB_SERVICE_URL",
                "http://127.0.0.1:18001/user/alice/",
            ),
        ];
        for (k, v) in expect {
            assert_eq!(env.get(k).map(String::as_str), Some(v), "{k}");
        }
        assert!(!env.contains_key("JUPYTERHUB_COOKIE_OPTIONS"));
        let token = &env["JUPYTERHUB_API_TOKEN"];
        assert_eq!(&env["JPY_API_TOKEN"], token);
        assert_eq!(
            env["JUPYTERHUB_OAUTH_SCOPES"],
            env["JUPYTERHUB_OAUTH_ACCESS_SCOPES"]
        );
        let stored = store.token(&hash_token(token)).await.unwrap().unwrap();
        assert_eq!(stored.kind, TokenKind::Api);
        assert_eq!(stored.user, "alice");
        let client = store
            .oauth_client("jupyterhub-user-alice")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(client.secret_hash, hash_token(token));
        assert_eq!(client.redirect_uri, "/user/alice/oauth_callback");
    }

    #[tokio::test]
    async fn a_respawn_revokes_the_old_token() {
        let store = Arc::new(InMemoryStore::new());
        let api = api(store.clone());
        let opts = ServerEnvOptions {
            bind_host: "0.0.0.0".into(),
            api_url: Some("http://10.213.0.17:8081/hub/api/".into()),
            cross_site_cookies: true,
        };
        let first = api.server_env("bob", 18002, &opts).await.unwrap();
        let second = api.server_env("bob", 18002, &opts).await.unwrap();
        let (old, new) = (
            &first["JUPYTERHUB_API_TOKEN"],
            &second["JUPYTERHUB_API_TOKEN"],
        );
        assert_ne!(old, new);
        assert!(store.token(&hash_token(old)).await.unwrap().is_none());
        assert!(store.token(&hash_token(new)).await.unwrap().is_some());
        assert_eq!(
            second["JUPYTERHUB_SERVICE_URL"],
            "http://0.0.0.0:18002/user/bob/"
        );
        assert_eq!(
            second["JUPYTERHUB_API_URL"],
            "http://10.213.0.17:8081/hub/api"
        );
        assert_eq!(
            second["JUPYTERHUB_ACTIVITY_URL"],
            "http://10.213.0.17:8081/hub/api/users/bob/activity"
        );
        assert_eq!(
            second["JUPYTERHUB_COOKIE_OPTIONS"],
            r#"{"samesite": "None", "secure": true}"#
        );
    }

    #[tokio::test]
    async fn a_bad_user_name_is_refused_and_stores_nothing() {
        let store = Arc::new(InMemoryStore::new());
        let err = api(store.clone())
            .server_env("../x", 18003, &ServerEnvOptions::default())
            .await
            .unwrap_err();
        assert!(
            matches!(err, lticontainer_core::Error::InvalidInput { .. }),
            "{err}"
        );
        assert!(
            store
                .oauth_client("jupyterhub-user-../x")
                .await
                .unwrap()
                .is_none()
        );
    }
}
