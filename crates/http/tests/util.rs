//! Shared test fixtures: a hub on an in-memory engine whose "containers" run a small Jupyter-like
//! axum server on 127.0.0.1:<allocated port>, and a Moodle-like launch signer.
//!
//! The hub runs with the default `[hub]` settings, isolated networking included: each spawn
//! creates the user's network on the fake engine, the container joins it, and the hub "turns
//! off forwarding" on its bridge through a [`RecordedForwarding`] (the fake's networks have no
//! host interface). The fake's servers are tasks of this process, so whatever network a
//! container joins, the engine reports it at `127.0.0.1:<port>`. Real isolation — separate
//! network namespaces, no route between users — is proven against Docker and Podman by the
//! e2e suite (`tests/e2e/test_isolation.py`).
#![allow(dead_code, unreachable_pub)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use futures_util::StreamExt;
use lticontainer_core::auth::{LaunchSigner, Lti11Authenticator, Lti11Config, encode_urlencoded};
use lticontainer_core::container::{ContainerInfo, ContainerSpec, StartStage, labels};
use lticontainer_core::memory::InMemoryRuntime;
use lticontainer_core::network::{NetworkInfo, NetworkSpec};
use lticontainer_core::runtime::{EventStream, ProgressFn, Runtime, StartProgressFn};
use lticontainer_core::spec::{NoHostAccounts, SpecConfig};
use lticontainer_core::store::{InMemoryStore, Store};
use lticontainer_core::{Error, Result};
use lticontainer_http::session::SessionKey;
use lticontainer_http::{AppParts, AppState, app};
use lticontainer_hub::HubConfig;
use lticontainer_hub::forwarding::RecordedForwarding;
use lticontainer_hub::listener_owner::AssumeContainer;
use tower::ServiceExt;

pub const KEY: &str = "moodle-test";
pub const SECRET: &str = "test-secret-0123456789";
pub const HOST: &str = "hub.test";
pub const IMAGE: &str = "lticontainer-test/jupyter:latest";

/// The header every answer of a fake Jupyter server carries: the port of the server that gave it.
pub const SERVED_BY: &str = "x-fake-server-port";

/// Behaviour switches of the fake engine.
#[derive(Debug, Default)]
pub struct Behaviour {
    /// Users whose container creation fails as if the engine were down.
    pub engine_down_for: Mutex<HashSet<String>>,
    /// Users whose next container creations fail as if the engine did not answer, with how
    /// many of them do (a hiccup, then the engine answers again).
    pub engine_hiccup_for: Mutex<HashMap<String, usize>>,
    /// While true, the fake servers wait before they listen, so every spawn stays at "waiting
    /// for the server" ([`FakeJupyter::hold_servers`], [`FakeJupyter::release_servers`]).
    pub servers_held: tokio::sync::watch::Sender<bool>,
    /// When false, containers start but nothing listens.
    pub no_server: std::sync::atomic::AtomicBool,
    /// Containers created whose server does not listen yet ([`FakeJupyter::wait_starting`]).
    pub starting: tokio::sync::watch::Sender<usize>,
    /// Users whose next containers die at once as a Jupyter server does when its port was
    /// taken, with how many of their containers do.
    pub port_taken_for: Mutex<HashMap<String, usize>>,
    /// The log of each container that died that way, by id.
    pub died_logs: Mutex<HashMap<String, String>>,
    /// When set, container creation waits at this gate, and goes on like an engine's even when
    /// the hub stops waiting for the answer.
    pub create_gate: Mutex<Option<CreateGate>>,
    /// How many times the hub inspected a container.
    pub inspects: std::sync::atomic::AtomicUsize,
    /// The stages each start reports, as a scheduling engine's (a Swarm task's) would; a
    /// `Failed` one ends the start with an engine error after it is reported.
    pub start_stages: Mutex<Vec<StartStage>>,
}

/// A gate in the fake engine's container creation.
#[derive(Debug, Clone)]
pub struct CreateGate {
    /// Notified when a creation reaches the gate.
    pub entered: Arc<tokio::sync::Notify>,
    /// Notified when a creation that passed the gate has ended.
    pub done: Arc<tokio::sync::Notify>,
    /// One permit lets one creation through.
    pub release: Arc<tokio::sync::Semaphore>,
}

impl CreateGate {
    /// A closed gate.
    pub fn closed() -> Self {
        Self {
            entered: Arc::default(),
            done: Arc::default(),
            release: Arc::new(tokio::sync::Semaphore::new(0)),
        }
    }
}

/// An in-memory engine whose running containers serve HTTP on 127.0.0.1:<spec.port>.
pub struct FakeJupyter {
    inner: Arc<InMemoryRuntime>,
    pub behaviour: Behaviour,
    servers: Mutex<HashMap<String, tokio::task::JoinHandle<()>>>,
    pub created: Mutex<Vec<ContainerSpec>>,
}

impl fmt::Debug for FakeJupyter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeJupyter").finish_non_exhaustive()
    }
}

impl FakeJupyter {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            inner: Arc::new(InMemoryRuntime::pulling()),
            behaviour: Behaviour::default(),
            servers: Mutex::default(),
            created: Mutex::default(),
        })
    }

    /// Stops the fake server of a container without telling the engine (a crashed process).
    pub fn kill_server(&self, id: &str) {
        if let Some(h) = self.servers.lock().unwrap().remove(id) {
            h.abort();
        }
    }

    /// [`Self::kill_server`], returning once the server's task has ended and its port is closed.
    pub async fn kill_server_and_wait(&self, id: &str) {
        let handle = self.servers.lock().unwrap().remove(id);
        if let Some(h) = handle {
            h.abort();
            let _ = h.await;
        }
    }

    /// `user`'s next `times` containers die at once, as a Jupyter server whose port was taken.
    pub fn port_taken_for(&self, user: &str, times: usize) {
        self.behaviour
            .port_taken_for
            .lock()
            .unwrap()
            .insert(user.to_owned(), times);
    }

    /// From now on, creating `user`'s containers fails as if the engine were down.
    pub fn engine_down_for(&self, user: &str) {
        self.behaviour
            .engine_down_for
            .lock()
            .unwrap()
            .insert(user.to_owned());
    }

    /// Holds every fake server that has not listened yet, and the ones created from now on,
    /// until [`Self::release_servers`]: their spawns wait for the server as long as the test
    /// needs them to.
    pub fn hold_servers(&self) {
        self.behaviour.servers_held.send_replace(true);
    }

    /// Lets the held fake servers listen.
    pub fn release_servers(&self) {
        self.behaviour.servers_held.send_replace(false);
    }

    /// Returns once at least `n` containers are created and their servers not listening yet
    /// (with [`Self::hold_servers`]: `n` spawns are under way at the same time).
    pub async fn wait_starting(&self, n: usize) {
        let mut starting = self.behaviour.starting.subscribe();
        tokio::time::timeout(Duration::from_secs(60), starting.wait_for(|s| *s >= n))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{n} servers were never starting at once (now {})",
                    *self.behaviour.starting.borrow()
                )
            })
            .unwrap();
    }

    /// The server of a container ends from inside (a student's "Shut Down"): its fake server
    /// stops listening and the container exits, which the engine reports as an event.
    pub fn exit(&self, id: &str) {
        self.kill_server(id);
        self.inner.exit(id, 0).unwrap();
    }

    /// The OOM killer kills a process in container `id` that is not its main one (a kernel):
    /// the container goes on running; the engine reports it as an event.
    pub fn out_of_memory(&self, id: &str) {
        self.inner.out_of_memory(id).unwrap();
    }

    /// Sets the memory in use the engine reports for container `id`.
    pub fn set_memory_used(&self, id: &str, bytes: u64) {
        self.inner.set_memory_used(id, bytes).unwrap();
    }

    pub fn running_ids(&self) -> Vec<String> {
        self.servers.lock().unwrap().keys().cloned().collect()
    }

    /// The networks on the fake engine now, by name.
    pub async fn list_networks_now(&self) -> Vec<NetworkInfo> {
        let mut nets = self.inner.list_networks(&BTreeMap::new()).await.unwrap();
        nets.sort_by(|a, b| a.name.cmp(&b.name));
        nets
    }

    pub async fn count(&self) -> usize {
        self.inner.list(&BTreeMap::new()).await.unwrap().len()
    }
}

/// The Jupyter-like server of one container.
/// The fake server's HTML page of Notebook's file tree (and of a student's HTML file).
pub const FAKE_TREE_PAGE: &str =
    "<!DOCTYPE html><html><head><title>Home</title></head><body>Files</body></html>";

pub fn jupyter_router() -> Router {
    Router::new()
        .route(
            "/user/{name}/api",
            get(|| async { axum::Json(serde_json::json!({"version": "2.15.0"})) }),
        )
        .route(
            "/user/{name}/lab",
            get(|| async { "<html>JupyterLab</html>" }),
        )
        .route(
            "/user/{name}/tree",
            get(|| async { axum::response::Html(FAKE_TREE_PAGE) }),
        )
        .route(
            "/user/{name}/files/{file}",
            get(|| async { axum::response::Html(FAKE_TREE_PAGE) }),
        )
        .route(
            "/user/{name}/headers",
            get(|h: HeaderMap| async move {
                let map: BTreeMap<String, String> = h
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
                    .collect();
                axum::Json(map)
            }),
        )
        .route(
            "/user/{name}/echo",
            axum::routing::post(|body: axum::body::Bytes| async move { body }),
        )
        .route(
            "/user/{name}/stream",
            get(|| async {
                let chunks = futures_util::stream::iter(0..3).then(|i| async move {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Ok::<_, std::io::Error>(format!("chunk{i};"))
                });
                Body::from_stream(chunks)
            }),
        )
        .route(
            "/user/{name}/api/kernels/{kid}/channels",
            any(crate::fake_kernel::channels),
        )
        .route(
            "/user/{name}/ws",
            any(|ws: WebSocketUpgrade| async move {
                ws.on_upgrade(|mut socket| async move {
                    while let Some(Ok(msg)) = socket.recv().await {
                        if let Message::Text(t) = msg {
                            let reply = format!("echo:{}", t.as_str());
                            if socket.send(Message::Text(reply.into())).await.is_err() {
                                break;
                            }
                        }
                    }
                })
            }),
        )
}

#[async_trait]
impl Runtime for FakeJupyter {
    fn backend(&self) -> &'static str {
        "fake-jupyter"
    }
    async fn ensure_image(&self, image: &str, progress: ProgressFn<'_>) -> Result<()> {
        self.inner.ensure_image(image, progress).await
    }
    async fn has_image(&self, image: &str) -> Result<bool> {
        self.inner.has_image(image).await
    }
    async fn ensure_volume(&self, name: &str, labels: &BTreeMap<String, String>) -> Result<()> {
        self.inner.ensure_volume(name, labels).await
    }
    async fn create_network(&self, spec: &NetworkSpec) -> Result<NetworkInfo> {
        self.inner.create_network(spec).await
    }
    async fn remove_network(&self, name: &str) -> Result<()> {
        self.inner.remove_network(name).await
    }
    async fn list_networks(&self, labels: &BTreeMap<String, String>) -> Result<Vec<NetworkInfo>> {
        self.inner.list_networks(labels).await
    }
    async fn create_and_start_reporting(
        &self,
        spec: &ContainerSpec,
        progress: StartProgressFn<'_>,
    ) -> Result<ContainerInfo> {
        let stages = self.behaviour.start_stages.lock().unwrap().clone();
        for stage in stages {
            let failed = matches!(stage, StartStage::Failed { .. });
            progress(stage);
            if failed {
                return Err(Error::invalid(format!(
                    "service {:?} did not start: its task failed",
                    spec.name
                )));
            }
        }
        self.create_and_start(spec).await
    }
    async fn create_and_start(&self, spec: &ContainerSpec) -> Result<ContainerInfo> {
        let user = spec.labels.get(labels::USER).cloned().unwrap_or_default();
        let hiccup = self
            .behaviour
            .engine_hiccup_for
            .lock()
            .unwrap()
            .get_mut(&user)
            .filter(|left| **left > 0)
            .map(|left| *left -= 1)
            .is_some();
        if hiccup
            || self
                .behaviour
                .engine_down_for
                .lock()
                .unwrap()
                .contains(&user)
        {
            return Err(Error::unavailable(
                "fake-jupyter",
                "connection refused on /run/fake.sock",
            ));
        }
        let gate = self.behaviour.create_gate.lock().unwrap().clone();
        let created = if let Some(gate) = gate {
            // Like an engine, the creation goes on when the caller stops waiting for it.
            let inner = Arc::clone(&self.inner);
            let spec = spec.clone();
            tokio::spawn(async move {
                gate.entered.notify_one();
                let _pass = gate.release.acquire().await;
                let created = inner.create_and_start(&spec).await;
                gate.done.notify_one();
                created
            })
            .await
            .unwrap()?
        } else {
            self.inner.create_and_start(spec).await?
        };
        let info = on_loopback(created);
        self.created.lock().unwrap().push(spec.clone());
        let port_taken = match self.behaviour.port_taken_for.lock().unwrap().get_mut(&user) {
            Some(left) if *left > 0 => {
                *left -= 1;
                true
            }
            _ => false,
        };
        if port_taken {
            let log = format!(
                "[C ServerApp] ERROR: the Jupyter server could not be started because port {} is not available.",
                spec.port
            );
            self.behaviour
                .died_logs
                .lock()
                .unwrap()
                .insert(info.id.clone(), log);
            self.inner.exit(&info.id, 1)?;
            return Ok(info);
        }
        if !self.behaviour.no_server.load(Ordering::SeqCst) {
            let mut held = self.behaviour.servers_held.subscribe();
            let port = spec.port;
            // Counted before the task can end its wait, under the servers' lock, so a test that
            // saw the count finds the container among the servers.
            let mut servers = self.servers.lock().unwrap();
            self.behaviour.starting.send_modify(|n| *n += 1);
            let starting = self.behaviour.starting.clone();
            let handle = tokio::spawn(async move {
                // The sender lives in the engine, which outlives its servers.
                let _ = held.wait_for(|held| !*held).await;
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                    .await
                    .unwrap();
                starting.send_modify(|n| *n -= 1);
                // Every answer names the fake server that gave it, so tests can tell whose
                // server a request reached.
                let app = jupyter_router().layer(axum::middleware::map_response(
                    move |mut resp: Response| async move {
                        resp.headers_mut()
                            .insert(SERVED_BY, header::HeaderValue::from(port));
                        resp
                    },
                ));
                axum::serve(listener, app).await.unwrap();
            });
            servers.insert(info.id.clone(), handle);
        }
        Ok(info)
    }
    async fn inspect(&self, id: &str) -> Result<ContainerInfo> {
        self.behaviour.inspects.fetch_add(1, Ordering::SeqCst);
        self.inner.inspect(id).await.map(on_loopback)
    }
    async fn stop(&self, id: &str, grace: Duration) -> Result<()> {
        if let Ok(info) = self.inner.inspect(id).await {
            self.kill_server(&info.id);
        }
        self.inner.stop(id, grace).await
    }
    async fn remove(&self, id: &str) -> Result<()> {
        if let Ok(info) = self.inner.inspect(id).await {
            self.kill_server(&info.id);
        }
        self.inner.remove(id).await
    }
    async fn list(&self, labels: &BTreeMap<String, String>) -> Result<Vec<ContainerInfo>> {
        Ok(self
            .inner
            .list(labels)
            .await?
            .into_iter()
            .map(on_loopback)
            .collect())
    }
    async fn memory_usage(&self, id: &str) -> Result<lticontainer_core::container::MemoryUsage> {
        self.inner.memory_usage(id).await
    }
    async fn logs(&self, id: &str, tail: usize) -> Result<String> {
        self.inner.logs(id, tail).await.map(|_| {
            self.behaviour
                .died_logs
                .lock()
                .unwrap()
                .get(id)
                .cloned()
                .unwrap_or_else(|| "fake log line: server exploded\n".to_owned())
        })
    }
    async fn events(&self, labels: &BTreeMap<String, String>) -> Result<EventStream> {
        self.inner.events(labels).await
    }
}

/// The fake's servers listen on 127.0.0.1 whatever network their container joined.
fn on_loopback(mut info: ContainerInfo) -> ContainerInfo {
    info.address = info
        .address
        .map(|a| std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, a.port())));
    info
}

/// Port blocks per test so tests running in parallel never share ports.
static NEXT_BLOCK: AtomicU16 = AtomicU16::new(0);

/// A hub on a fake engine and an in-memory store, its home directories in a temp dir.
pub struct TestHub {
    pub state: AppState,
    pub runtime: Arc<FakeJupyter>,
    /// The bridges the hub turned forwarding off on.
    pub forwarding: Arc<RecordedForwarding>,
    pub store: Arc<InMemoryStore>,
    pub home: tempfile::TempDir,
    pub key: SessionKey,
}

pub fn hub_config() -> (HubConfig, SpecConfig) {
    let block = NEXT_BLOCK.fetch_add(1, Ordering::SeqCst);
    let mut hub = HubConfig::default();
    // Below the kernel's ephemeral ports (32768 and up), like the default range: a port there
    // can be taken by an outgoing connection between the allocator's check and the bind.
    hub.port_min =
        21000 + (block % 70) * 20 + u16::try_from(std::process::id() % 8).unwrap() * 1400;
    hub.port_max = hub.port_min + 19;
    hub.http_timeout_secs = 5;
    hub.start_timeout_secs = 5;
    hub.admin_users = vec!["teacher".into()];
    let spec = SpecConfig::default();
    (hub, spec)
}

/// A hub on a fake engine and an in-memory store, with the test config changed by `tune`.
pub fn test_hub_tuned(tune: impl FnOnce(&mut HubConfig)) -> TestHub {
    let (mut hub, spec) = hub_config();
    tune(&mut hub);
    test_hub_with(
        hub,
        spec,
        FakeJupyter::new(),
        Arc::new(InMemoryStore::new()),
    )
}

pub fn test_hub() -> TestHub {
    let (hub, spec) = hub_config();
    test_hub_with(
        hub,
        spec,
        FakeJupyter::new(),
        Arc::new(InMemoryStore::new()),
    )
}

pub fn test_hub_with(
    hub: HubConfig,
    spec: SpecConfig,
    runtime: Arc<FakeJupyter>,
    store: Arc<InMemoryStore>,
) -> TestHub {
    test_hub_parts(hub, spec, runtime, store, |_| {})
}

/// A hub whose parts `adjust` may change (public URL, identity lookup, …) before it is built.
pub fn test_hub_parts(
    hub: HubConfig,
    mut spec: SpecConfig,
    runtime: Arc<FakeJupyter>,
    store: Arc<InMemoryStore>,
    adjust: impl FnOnce(&mut AppParts),
) -> TestHub {
    let home = tempfile::tempdir().unwrap();
    spec.default_image = IMAGE.into();
    spec.home_template = format!("{}/{{group}}/{{user}}", home.path().display());
    spec.group_home_template = format!("{}/{{group}}", home.path().display());
    spec.run_as_root = false;
    let auth =
        Lti11Authenticator::in_memory(Lti11Config::default().with_consumer(KEY, SECRET)).unwrap();
    let key = SessionKey::random();
    let mut parts = AppParts::new(
        runtime.clone(),
        Arc::new(auth),
        store.clone() as Arc<dyn Store>,
    );
    parts.hub = hub;
    if parts.hub.state_dir == HubConfig::default().state_dir {
        // Keep what the hub writes (the cross-site Jupyter config) out of /var/lib.
        parts.hub.state_dir = home.path().join("state");
    }
    parts.spec = spec;
    parts.identity = Arc::new(NoHostAccounts);
    parts.session_key = key.clone();
    // The fake's "containers" are tasks in this process: there is no container process to find.
    parts.listeners = Arc::new(AssumeContainer);
    let forwarding = Arc::new(RecordedForwarding::default());
    parts.forwarding = forwarding.clone();
    adjust(&mut parts);
    TestHub {
        state: AppState::new(parts),
        runtime,
        forwarding,
        store,
        home,
        key,
    }
}

pub fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// Moodle-like launch parameters for `user` (numeric LTI `user_id` so the uid derives from it).
pub fn launch_params(user: &str, user_id: u32) -> Vec<(String, String)> {
    [
        ("lti_message_type", "basic-lti-launch-request"),
        ("lti_version", "LTI-1p0"),
        ("resource_link_id", "42"),
        ("context_id", "7"),
        ("context_title", "Data science"),
        ("roles", "Learner"),
        ("ext_user_username", user),
        ("tool_consumer_info_product_family_code", "moodle"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .chain([("user_id".to_owned(), user_id.to_string())])
    .collect()
}

/// `params` as a launch from LTI activity `lti_id` (its `resource_link_id`, which Moodle
/// signs), with mod_lticontainer's `lms_sessioninfo` naming that activity — the hub ignores a
/// session info naming another activity.
pub fn from_activity(params: &mut Vec<(String, String)>, lti_id: u32) {
    params.retain(|(k, _)| k != "resource_link_id" && k != "custom_lms_sessioninfo");
    params.push(("resource_link_id".to_owned(), lti_id.to_string()));
    params.push(("custom_lms_sessioninfo".to_owned(), format!("3,{lti_id}")));
}

/// A signed launch body for `params`.
pub fn signed_body(params: Vec<(String, String)>, timestamp: i64, nonce: &str) -> String {
    let signed = LaunchSigner::new(KEY, SECRET)
        .sign(
            &format!("http://{HOST}/hub/lti/launch"),
            params,
            timestamp,
            nonce,
        )
        .unwrap();
    encode_urlencoded(&signed)
}

pub fn launch_request(body: String) -> Request<Body> {
    Request::post("/hub/lti/launch")
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap()
}

impl TestHub {
    pub async fn send(&self, req: Request<Body>) -> Response {
        app(self.state.clone()).oneshot(req).await.unwrap()
    }

    /// Launches `user` with a fresh nonce and returns the response.
    pub async fn launch(&self, user: &str, user_id: u32) -> Response {
        let nonce = format!("n-{user}-{}", rand_suffix());
        self.send(launch_request(signed_body(
            launch_params(user, user_id),
            now(),
            &nonce,
        )))
        .await
    }

    /// A session cookie header for `user`.
    pub fn cookie(&self, user: &str) -> String {
        format!(
            "lticontainer-session={}",
            self.key.sign(
                user,
                u64::try_from(now()).unwrap(),
                u64::try_from(now()).unwrap() + 3600,
            )
        )
    }

    /// A session cookie header for `user` and the form token of that session.
    pub fn session(&self, user: &str) -> (String, String) {
        let issued = u64::try_from(now()).unwrap();
        let cookie = format!(
            "lticontainer-session={}",
            self.key.sign(user, issued, issued + 3600)
        );
        let claim = lticontainer_http::session::SessionClaim {
            user: user.to_owned(),
            issued,
        };
        (cookie, self.key.form_token(&claim))
    }

    /// A form POST to `path` as `user`'s session, with `token` as its `_xsrf` field: `Some("")`
    /// sends the session's own token, `None` no field at all.
    pub fn form_as(&self, path: &str, user: &str, token: Option<&str>) -> Request<Body> {
        let (cookie, own) = self.session(user);
        let body = match token {
            Some("") => format!("_xsrf={own}"),
            Some(t) => format!("_xsrf={t}"),
            None => String::new(),
        };
        Request::post(path)
            .header(header::HOST, HOST)
            .header(header::COOKIE, cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap()
    }

    pub fn get_as(&self, path: &str, user: Option<&str>) -> Request<Body> {
        let mut b = Request::get(path).header(header::HOST, HOST);
        if let Some(u) = user {
            b = b.header(header::COOKIE, self.cookie(u));
        }
        b.body(Body::empty()).unwrap()
    }

    /// Launches `user` with the extra custom parameters `custom` (`("custom_lms_…", value)`)
    /// and waits until the server runs.
    pub async fn launched(&self, user: &str, user_id: u32, custom: &[(&str, &str)]) {
        let mut params = launch_params(user, user_id);
        params.extend(
            custom
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let body = signed_body(
            params,
            now(),
            &format!("n-{user}-{user_id}-{}", rand_suffix()),
        );
        assert_status(&self.send(launch_request(body)).await, StatusCode::FOUND);
        let ev = self.wait_spawn(user).await;
        assert!(ev.ready, "{ev:?}");
    }

    /// The progress of `user`'s spawn, once the launch has started it (a spawn that has already
    /// ended, or a running server, fails the test: its step events are gone).
    pub async fn spawn_progress(&self, user: &str) -> lticontainer_hub::progress::SpawnProgress {
        use lticontainer_hub::spawner::SlotState;
        loop {
            match self.state.spawner.state(user) {
                SlotState::Spawning(p) => return p,
                SlotState::Idle { last: None } => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                other => panic!("{user}'s spawn ended before the test watched it: {other:?}"),
            }
        }
    }

    /// Waits until `user`'s spawn has ended and returns the final progress event.
    pub async fn wait_spawn(&self, user: &str) -> lticontainer_hub::progress::ProgressEvent {
        use lticontainer_hub::spawner::SlotState;
        for _ in 0..400 {
            match self.state.spawner.state(user) {
                SlotState::Spawning(p) => {
                    return tokio::time::timeout(Duration::from_secs(15), p.finished())
                        .await
                        .unwrap();
                }
                SlotState::Idle { last: Some(p) } => return p.outcome().unwrap(),
                SlotState::Running(r) => {
                    return lticontainer_hub::progress::ProgressEvent::ready(&r.url, "running");
                }
                SlotState::Idle { last: None } => {
                    tokio::time::sleep(Duration::from_millis(10)).await
                }
            }
        }
        panic!("no spawn for {user}");
    }
}

pub fn rand_suffix() -> String {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

pub async fn body_string(resp: Response) -> String {
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 22)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

pub fn header_str(resp: &Response, name: header::HeaderName) -> String {
    resp.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

pub fn assert_status(resp: &Response, status: StatusCode) {
    assert_eq!(resp.status(), status, "headers: {:?}", resp.headers());
}

pub fn into_response<T: IntoResponse>(t: T) -> Response {
    t.into_response()
}

/// Returns once `done` holds, checked every 10 ms; fails the test naming `what` after 5 s.
pub async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "not within 5 s: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
