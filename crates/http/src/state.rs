//! [`AppState`]: what every handler shares — the engine, the authenticator, the store, the hub
//! API, the spawn manager and the configuration.

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::HeaderMap;
use lticontainer_core::Runtime;
use lticontainer_core::auth::{Authenticator, PublicUrlConfig};
use lticontainer_core::spec::{IdentityLookup, SpecConfig};
use lticontainer_core::store::Store;

use crate::config::HubConfig;
use crate::frame::FrameAncestors;
use crate::hubapi::{HubApi, HubApiConfig, SessionResolver};
use crate::proxy::{self, ProxyClient};
use crate::session::SessionKey;
use crate::spawn::Spawner;

/// The parts a hub is built from; see [`AppState::new`].
#[derive(Debug)]
#[non_exhaustive]
pub struct AppParts {
    /// The container engine.
    pub runtime: Arc<dyn Runtime>,
    /// Verifies LTI launches.
    pub auth: Arc<dyn Authenticator>,
    /// Users, servers, tokens.
    pub store: Arc<dyn Store>,
    /// The `[hub]` settings.
    pub hub: HubConfig,
    /// How containers are built from launches.
    pub spec: SpecConfig,
    /// How the public launch URL is rebuilt.
    pub public_url: PublicUrlConfig,
    /// Host accounts (`/etc/passwd`, `/etc/group`).
    pub identity: Arc<dyn IdentityLookup>,
    /// Signs session cookies.
    pub session_key: SessionKey,
}

impl AppParts {
    /// Parts with default settings, host accounts from `/etc`, and a random session key.
    pub fn new(
        runtime: Arc<dyn Runtime>,
        auth: Arc<dyn Authenticator>,
        store: Arc<dyn Store>,
    ) -> Self {
        Self {
            runtime,
            auth,
            store,
            hub: HubConfig::default(),
            spec: SpecConfig::default(),
            public_url: PublicUrlConfig::default(),
            identity: Arc::new(crate::identity::EtcIdentity::default()),
            session_key: SessionKey::random(),
        }
    }
}

/// The state behind every route of [`crate::app`]. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The container engine.
    pub runtime: Arc<dyn Runtime>,
    /// Verifies LTI launches.
    pub auth: Arc<dyn Authenticator>,
    /// Users, servers, tokens.
    pub store: Arc<dyn Store>,
    /// The JupyterHub-compatible hub API.
    pub hubapi: Arc<HubApi>,
    /// The `[hub]` settings.
    pub config: Arc<HubConfig>,
    /// How the public launch URL is rebuilt.
    pub public_url: Arc<PublicUrlConfig>,
    /// Starts, tracks and re-adopts servers.
    pub spawner: Arc<Spawner>,
    /// Who may frame the hub.
    pub frames: Arc<FrameAncestors>,
    /// Signs session cookies.
    pub sessions: SessionKey,
    /// The proxy's pooled client.
    pub client: ProxyClient,
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState")
            .field("runtime", &self.runtime.backend())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl AppState {
    /// Builds the hub from its parts.
    pub fn new(parts: AppParts) -> Self {
        let AppParts {
            runtime,
            auth,
            store,
            hub,
            spec,
            public_url,
            identity,
            session_key,
        } = parts;
        let hub = Arc::new(hub);
        let resolver_key = session_key.clone();
        let resolver: SessionResolver =
            Arc::new(move |h: &HeaderMap| resolver_key.user_from_headers(h, unix_now()));
        let hubapi = Arc::new(HubApi::new(
            Arc::clone(&store),
            HubApiConfig {
                api_url: hub.api_url(),
                ..HubApiConfig::default()
            },
            resolver,
        ));
        let client = proxy::client();
        let spawner = Arc::new(Spawner::new(
            Arc::clone(&runtime),
            Arc::clone(&store),
            Arc::clone(&hubapi),
            identity,
            Arc::clone(&hub),
            Arc::new(spec),
            client.clone(),
        ));
        Self {
            frames: Arc::new(FrameAncestors::new(hub.lms_origins.clone())),
            runtime,
            auth,
            store,
            hubapi,
            config: hub,
            public_url: Arc::new(public_url),
            spawner,
            sessions: session_key,
            client,
        }
    }

    /// The user the request's session cookie names, if valid.
    pub fn session_user(&self, headers: &HeaderMap) -> Option<String> {
        self.sessions.user_from_headers(headers, unix_now())
    }
}
