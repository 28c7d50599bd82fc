//! [`AppState`]: what the routes share — the authenticator, the store, the hub API, the spawn
//! manager, sessions, the proxy client and the configuration. Handlers take only the parts they
//! use, as axum substates ([`FromRef`]).

use std::fmt;
use std::sync::Arc;

use axum::extract::FromRef;
use axum::http::HeaderMap;
use lticontainer_core::Runtime;
use lticontainer_core::auth::{Authenticator, PublicUrlConfig};
use lticontainer_core::clock::{Clock, SystemClock};
use lticontainer_core::spec::{IdentityLookup, SpecConfig};
use lticontainer_core::store::Store;
use lticontainer_hub::HubConfig;
use lticontainer_hub::analytics::Analytics;
use lticontainer_hub::credentials::{HubApiConfig, ServerCredentials};
use lticontainer_hub::forwarding::{Forwarding, ProcSysForwarding};
use lticontainer_hub::grades::Grades;
use lticontainer_hub::host_accounts::NssIdentity;
use lticontainer_hub::listener_owner::{ListenerOwnership, ProcListeners};
use lticontainer_hub::lti13::Lti13Launches;
use lticontainer_hub::spawner::{Spawner, SpawnerParts};

use crate::extract::Sessions;
use crate::frame::FrameAncestors;
use crate::hubapi::{HubApi, SessionResolver};
use crate::proxy::{self, ProxyClient};
use crate::session::SessionKey;

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
    /// Host accounts, through NSS (`getpwnam_r`, `getgrnam_r`).
    pub identity: Arc<dyn IdentityLookup>,
    /// Signs session cookies.
    pub session_key: SessionKey,
    /// Turns off the host's forwarding on the servers' network bridges (isolated networking).
    pub forwarding: Arc<dyn Forwarding>,
    /// Where the time comes from: sessions, credentials, the spawner's activity limits and
    /// culling. Default: the system clock; tests set a
    /// [`ManualClock`](lticontainer_core::clock::ManualClock).
    pub clock: Arc<dyn Clock>,
    /// Tells whether the listener at a host-network server's address is the container's.
    /// Default: [`ProcListeners`] (the host's `/proc`); an engine whose "containers" are not
    /// processes (the in-memory test fakes) needs
    /// [`AssumeContainer`](lticontainer_hub::listener_owner::AssumeContainer).
    pub listeners: Arc<dyn ListenerOwnership>,
    /// Learning analytics ([`Analytics`]); `None` captures nothing. Default: `None`
    /// (`lticontainer serve` starts them when `hub.analytics` is on).
    pub analytics: Option<Arc<Analytics>>,
    /// LTI 1.3 launches ([`Lti13Launches`]); `None` answers the LTI 1.3 routes with a page
    /// saying it is off. Default: `None` (`lticontainer serve` sets it when platforms are
    /// configured).
    pub lti13: Option<Arc<Lti13Launches>>,
    /// Grades back to the LMS ([`Grades`]); `None` records no grade targets and answers the
    /// grades pages with a page saying they are off. Default: `None` (`lticontainer serve`
    /// sets it).
    pub grades: Option<Arc<Grades>>,
}

impl AppParts {
    /// Parts with default settings, host accounts from `/etc`, a random session key, the
    /// system clock, listener checks from `/proc` and bridge forwarding through `/proc/sys`.
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
            identity: Arc::new(NssIdentity),
            session_key: SessionKey::random(),
            forwarding: Arc::new(ProcSysForwarding::default()),
            clock: Arc::new(SystemClock),
            listeners: Arc::new(ProcListeners::default()),
            analytics: None,
            lti13: None,
            grades: None,
        }
    }
}

/// The state behind every route of [`crate::app`]. Cheap to clone.
#[derive(Clone, FromRef)]
pub struct AppState {
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
    /// Starts, tracks, stops and re-adopts servers.
    pub spawner: Arc<Spawner>,
    /// Who may frame the hub.
    pub(crate) frames: Arc<FrameAncestors>,
    /// Reads and signs session cookies.
    pub(crate) sessions: Sessions,
    /// The proxy's pooled client.
    pub(crate) client: ProxyClient,
    /// Where the time comes from.
    pub(crate) clock: Arc<dyn Clock>,
    /// Learning analytics, when on.
    pub analytics: Option<Arc<Analytics>>,
    /// LTI 1.3 launches, when platforms are configured.
    pub lti13: Option<Arc<Lti13Launches>>,
    /// Grades back to the LMS, when on.
    pub grades: Option<Arc<Grades>>,
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
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
            forwarding,
            clock,
            listeners,
            analytics,
            lti13,
            grades,
        } = parts;
        let hub = Arc::new(hub);
        let sessions = Sessions::new(session_key, Arc::clone(&clock), Arc::clone(&hub));
        let credentials = Arc::new(
            ServerCredentials::new(
                Arc::clone(&store),
                HubApiConfig {
                    api_url: hub.api_url(),
                    admin_access: hub.admin_access,
                    ..HubApiConfig::default()
                },
            )
            .with_clock(Arc::clone(&clock)),
        );
        let resolver_sessions = sessions.clone();
        let resolver: SessionResolver = Arc::new(move |h: &HeaderMap| resolver_sessions.user(h));
        let hubapi = Arc::new(HubApi::from_credentials(Arc::clone(&credentials), resolver));
        let spawner = Arc::new(Spawner::new(SpawnerParts {
            runtime,
            store: Arc::clone(&store),
            credentials,
            identity,
            hub: Arc::clone(&hub),
            spec: Arc::new(spec),
            clock: Arc::clone(&clock),
            listeners,
            forwarding,
        }));
        let client = proxy::client(Arc::clone(&spawner));
        Self {
            frames: Arc::new(FrameAncestors::load(
                hub.lms_origins.clone(),
                &hub.state_dir,
            )),
            auth,
            store,
            hubapi,
            config: hub,
            public_url: Arc::new(public_url),
            spawner,
            sessions,
            client,
            clock,
            analytics,
            lti13,
            grades,
        }
    }

    /// The user the request's session cookie names, if valid.
    pub fn session_user(&self, headers: &HeaderMap) -> Option<String> {
        self.sessions.user(headers)
    }
}
