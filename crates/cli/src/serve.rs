//! `lticontainer serve`: open the store, connect the engine, re-adopt running servers, serve.

use std::sync::Arc;

use lticontainer_core::auth::Lti11Authenticator;
use lticontainer_core::clock::SystemClock;
use lticontainer_core::lti13::Lti13Config;
use lticontainer_core::store::Store;
use lticontainer_http::serve::{ServeLimits, serve_tls};
use lticontainer_http::session::SessionKey;
use lticontainer_http::tls::HubTls;
use lticontainer_http::{AppParts, AppState, ServerNetworkListener, app, container_api};
use lticontainer_hub::Networking;
use lticontainer_hub::analytics::{
    Analytics, AnalyticsDestinations, AnalyticsOptions, LmsClient, delivery,
};
use lticontainer_hub::config::HOST_NETWORK_WARNING;
use lticontainer_hub::forwarding::ProcSysForwarding;
use lticontainer_hub::grades::Grades;
use lticontainer_hub::lti13::{
    Lti13Launches, RegisteredPlatforms, Registrar, RegistrationSecrets, TOOL_KEY_FILE, ToolKey,
};
use lticontainer_store::SqliteStore;

use crate::config::Config;
use crate::runtime::build_runtime;

/// Runs the hub until SIGINT or SIGTERM. Running servers keep running; the next start re-adopts them.
pub(crate) async fn serve(cfg: Config) -> Result<(), String> {
    let state_dir = cfg.hub.state_dir.clone();
    std::fs::create_dir_all(&state_dir).map_err(|e| {
        format!(
            "cannot create the state directory {}: {e}",
            state_dir.display()
        )
    })?;
    let key = SessionKey::load_or_create(&state_dir)
        .map_err(|e| format!("session key in {}: {e}", state_dir.display()))?;
    let store_path = cfg.store_path();
    let sqlite = SqliteStore::open(&store_path)
        .await
        .map_err(|e| format!("cannot open the store {}: {e}", store_path.display()))?;
    let analytics = start_analytics(&cfg, &sqlite)?;
    let store: Arc<dyn Store> = Arc::new(sqlite.clone());
    let runtime = build_runtime(&cfg)?;
    let auth = Lti11Authenticator::in_memory(cfg.lti.clone()).map_err(|e| e.to_string())?;

    let bind = cfg.hub.bind;
    let limits = ServeLimits::from_config(&cfg.hub, &cfg.public_url);
    warn_if_few_file_descriptors(limits.max_connections);
    if cfg.hub.network == Networking::Host {
        tracing::warn!("{HOST_NETWORK_WARNING}");
    }
    let mut parts = AppParts::new(runtime.clone(), Arc::new(auth), store);
    parts.lti13 = lti13(&cfg.lti13, &state_dir, cfg.hub.analytics_ca_file.as_deref())?;
    let grades = grades(&cfg, &sqlite, parts.lti13.clone())?;
    parts.hub = cfg.hub;
    parts.spec = cfg.spec;
    parts.public_url = cfg.public_url;
    parts.session_key = key;
    parts.analytics = analytics;
    parts.grades = Some(grades);
    let state = AppState::new(parts);
    // Only host networking shares the host's ports; the default range is outside the kernel's
    // ephemeral ports, so this speaks only when an admin moved the range into them.
    if let Some(overlap) = state.spawner.port_range_warning() {
        tracing::warn!("{overlap}");
    }

    match state.spawner.adopt().await {
        Ok(r) => {
            tracing::info!(adopted = ?r.adopted, finishing = ?r.finishing, removed = ?r.removed, stopped = ?r.stopped, "startup re-adoption done")
        }
        Err(e) => {
            tracing::error!(error = %e, backend = runtime.backend(), "cannot re-adopt running servers at startup (is the engine up?); serving anyway")
        }
    }
    // From now on a server whose container stops is no longer routed to (the one place the
    // watcher starts; it re-checks the adopted servers once subscribed).
    tokio::spawn(Arc::clone(&state.spawner).watch_engine());
    // Activity limits, idle time and maximum age, checked every hub.cull_every_secs.
    tokio::spawn(Arc::clone(&state.spawner).run_culler());

    if state.config.network == Networking::Isolated {
        serve_container_api(&state, limits.clone().for_servers()).await?;
    }
    let tls = crate::tls::start(&state.config)?;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(%bind, scheme, engine = runtime.backend(), "lticontainer serving; LTI launch URL path: /hub/lti/launch");
    if state.config.api_token.is_some() {
        tracing::info!(
            "admin API on (hub.api_token): mod_lticontainer's JupyterHub User tab can list, stop and delete users"
        );
    } else {
        tracing::info!(
            "admin API off (no hub.api_token): mod_lticontainer's JupyterHub User tab will say \"Missmatch api token\""
        );
    }
    serve_until_stopped(listener, state, limits, tls).await
}

/// With LTI 1.3 on: its launches, the platforms' key sets fetched by an [`LmsClient`] that
/// trusts the system's CAs and `ca_file`, the tool's key (`[lti13] tool_key_file`, default in
/// `state_dir`), loaded or made once here, the platforms registered by Dynamic Registration
/// (`<state_dir>/lti13-platforms.json`) beside the configured ones, and, with
/// `dynamic_registration`, the registrar.
fn lti13(
    config: &Lti13Config,
    state_dir: &std::path::Path,
    ca_file: Option<&std::path::Path>,
) -> Result<Option<Arc<Lti13Launches>>, String> {
    let registered = Arc::new(RegisteredPlatforms::new(state_dir));
    let known = registered.load()?;
    if !config.enabled() && known.is_empty() {
        return Ok(None);
    }
    let key_file = config
        .tool_key_file
        .clone()
        .unwrap_or_else(|| state_dir.join(TOOL_KEY_FILE));
    let tool_key = ToolKey::load_or_create(&key_file).map_err(|e| e.to_string())?;
    tracing::info!(file = %key_file.display(), kid = tool_key.kid(), "LTI 1.3 tool key loaded; its public key set is at /hub/lti13/jwks");
    let client = Arc::new(LmsClient::new(ca_file).map_err(|e| e.to_string())?);
    let mut all = config.clone();
    for p in known {
        if all
            .platform
            .iter()
            .any(|q| q.issuer == p.issuer && q.client_id == p.client_id)
        {
            tracing::warn!(issuer = %p.issuer, client_id = %p.client_id, file = %registered.path().display(), "LTI 1.3 platform both configured and registered; the configuration's entry is used");
        } else {
            all.platform.push(p);
        }
    }
    for p in &all.platform {
        tracing::info!(issuer = %p.issuer, client_id = %p.client_id, deployments = ?p.deployment_ids, "LTI 1.3 platform registered; login URL path /hub/lti13/login, launch URL path /hub/lti13/launch");
    }
    let mut launches = Lti13Launches::with_system_clock(all, client.clone() as Arc<_>)
        .with_tool_key(Arc::new(tool_key));
    if config.dynamic_registration {
        launches = launches.with_registration(Registrar::new(
            RegistrationSecrets::new(state_dir),
            registered,
            client,
            &config.registration_origins,
            Arc::new(SystemClock),
        ));
        tracing::info!(
            "LTI Dynamic Registration on at /hub/lti13/register; `lticontainer lti13 registration-url` prints a one-use URL for the LMS"
        );
    }
    Ok(Some(Arc::new(launches)))
}

/// Grades back to the LMS: targets kept in the store, LTI 1.1 requests signed with the
/// `[lti] consumers` secrets, LTI 1.3 scores (with `lti13` on) with service tokens signed by
/// its tool key, sent by an [`LmsClient`] that trusts the system's CAs and
/// `hub.analytics_ca_file`.
fn grades(
    cfg: &Config,
    store: &SqliteStore,
    lti13: Option<Arc<Lti13Launches>>,
) -> Result<Arc<Grades>, String> {
    let client = LmsClient::new(cfg.hub.analytics_ca_file.as_deref()).map_err(|e| e.to_string())?;
    let mut grades = Grades::new(
        Arc::new(store.clone()),
        cfg.lti.consumers.clone(),
        client,
        Arc::new(SystemClock),
    );
    if let Some(launches) = lti13 {
        grades = grades.with_lti13(launches);
    }
    Ok(Arc::new(grades))
}

/// With `hub.analytics` on: the analytics over the store's outbox, and their delivery to the
/// LMS running (records left in the outbox before a restart go first).
fn start_analytics(cfg: &Config, store: &SqliteStore) -> Result<Option<Arc<Analytics>>, String> {
    if !cfg.hub.analytics {
        tracing::info!(
            "learning analytics off (hub.analytics = false): no notebook logs reach the LMS"
        );
        return Ok(None);
    }
    let client = LmsClient::new(cfg.hub.analytics_ca_file.as_deref()).map_err(|e| e.to_string())?;
    let options = AnalyticsOptions {
        destinations: AnalyticsDestinations::new(&cfg.hub.analytics_origins),
        ..AnalyticsOptions::default()
    };
    let analytics = Analytics::start_with(Arc::new(store.clone()), Arc::new(SystemClock), options);
    tokio::spawn(delivery::run(Arc::clone(&analytics), client));
    tracing::info!(
        "learning analytics on: kernel WebSockets of students launched with lms_sessioninfo, lms_serverurl and lms_rpctoken are captured and sent to mod_lticontainer"
    );
    Ok(Some(analytics))
}

/// With isolated networking: serves the hub API the single-user servers call on
/// `0.0.0.0:<hub.container_api_port>`, answering only connections from a server's network to its
/// gateway (`lticontainer_http::container_api`), with the same connection limits and deadlines as
/// the browser-facing listener (a student's code can open connections to its gateway). It runs
/// until the process ends.
async fn serve_container_api(state: &AppState, limits: ServeLimits) -> Result<(), String> {
    if let Err(e) = ProcSysForwarding::default().check_writable() {
        tracing::error!(error = %e, "isolated networking needs root in the host's network namespace to turn off forwarding on each server's bridge; every spawn will fail until it runs so (or set hub.network = \"host\", see docs/security.md)");
    }
    let port = state.config.container_api_port;
    let listener = ServerNetworkListener::bind(state.config.clone())
        .await
        .map_err(|e| {
            format!(
                "cannot listen for the servers' hub API on 0.0.0.0:{port} (hub.container_api_port): {e}"
            )
        })?;
    tracing::info!(
        pool = %state.config.network_pool,
        port,
        "isolated networking: each server on a private network of its own from the pool; servers reach the hub API at their network's gateway on this port"
    );
    let app = container_api(state);
    tokio::spawn(async move {
        if let Err(e) =
            lticontainer_http::serve::serve(listener, app, limits, std::future::pending()).await
        {
            tracing::error!(error = %e, "the servers' hub API listener stopped");
        }
    });
    Ok(())
}

/// How long open connections (progress streams, proxied requests) may take to finish after a
/// stop signal before the hub exits anyway.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves with the hub's limits (`lticontainer_http::serve`) until SIGINT or SIGTERM, then gives
/// open requests [`SHUTDOWN_GRACE`]. With `tls`, serves HTTPS.
async fn serve_until_stopped(
    listener: tokio::net::TcpListener,
    state: AppState,
    limits: ServeLimits,
    tls: Option<HubTls>,
) -> Result<(), String> {
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let stopped = async move {
        shutdown_signal().await;
        let _ = stopping_tx.send(());
    };
    let router = app(state);
    let server = async move {
        match tls {
            Some(tls) => serve_tls(listener, router, limits, tls, stopped).await,
            None => lticontainer_http::serve::serve(listener, router, limits, stopped).await,
        }
    };
    let deadline = async move {
        if stopping_rx.await.is_ok() {
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        r = server => r.map_err(|e| format!("server error: {e}")),
        () = deadline => {
            tracing::warn!(grace = ?SHUTDOWN_GRACE, "connections still open after the grace period; exiting anyway");
            Ok(())
        }
    }
}

/// Warns when the open-file limit is below what `max_connections` needs: each client connection is
/// a file descriptor, and a proxied one a second (to the user's server). Linux only (reads
/// `/proc/self/limits`); elsewhere, or when unreadable, says nothing.
fn warn_if_few_file_descriptors(max_connections: usize) {
    let Ok(text) = std::fs::read_to_string("/proc/self/limits") else {
        return;
    };
    let soft = text
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse::<u64>().ok());
    let needed = (max_connections as u64)
        .saturating_mul(2)
        .saturating_add(256);
    if let Some(soft) = soft.filter(|s| *s < needed) {
        tracing::warn!(
            open_files = soft,
            needed,
            "the open-file limit is below 2 x hub.max_connections + 256: under load the hub may run out of \
             file descriptors before its connection caps apply; raise it (systemd LimitNOFILE, ulimit -n) \
             or lower hub.max_connections"
        );
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!(
        "shutting down; users' servers keep running and are re-adopted at the next start"
    );
}
