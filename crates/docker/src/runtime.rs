//! [`DockerRuntime`]: the [`Runtime`] trait on the Docker Engine API.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use bollard::Docker;
use bollard::container::LogOutput;
use bollard::models::VolumeCreateOptions;
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, EventsOptions, InspectNetworkOptions,
    ListContainersOptions, ListNetworksOptions, LogsOptions, RemoveContainerOptions, StatsOptions,
    StopContainerOptions,
};
use futures_util::StreamExt;
use lticontainer_core::container::{
    ContainerInfo, ContainerSpec, MemoryUsage, check_volume_name, with_default_tag,
};
use lticontainer_core::network::{NetworkInfo, NetworkMode, NetworkSpec};
use lticontainer_core::runtime::{EventStream, ProgressFn};
use lticontainer_core::{Result, Runtime};
use tokio::sync::OnceCell;

use crate::config::DockerConfig;
use crate::convert;
use crate::error::{BACKEND, Error, Object, chain, is_missing, message_of, status_of};

/// A [`Runtime`] backed by a Docker engine, built with
/// [`DockerRuntimeBuilder`](crate::DockerRuntimeBuilder).
///
/// Cloning is cheap and clones share the client. No call holds a lock: each request uses its own
/// connection, so many spawns proceed at once. The API version is negotiated once, on first use.
///
/// # Behavior (beyond the [`Runtime`] contract)
/// * `ensure_image` pulls `repo:latest` when the reference names no tag, never every tag; with
///   pulling disabled (or no registry reachable) a missing image is `NotFound` naming it.
/// * `create_and_start` on the host network describes the container from its spec (running,
///   `127.0.0.1:<port>`) without a further request; on other networks it inspects the container
///   for its address.
/// * `create_network` makes an internal bridge whose host interface is the spec's, holding the
///   spec's gateway. Docker 20.10 accepts a second network of the same name (API < 1.44 does
///   not check by default), so the name is looked up first and a duplicate made by a race is
///   removed again: a name in use is `AlreadyExists`.
/// * `stop` waits the grace period rounded up to whole seconds, then the engine kills.
/// * `remove` forces, drops the container's anonymous volumes (never named ones), and treats a
///   removal already in progress as done.
/// * `events` streams the engine's `start`, `die`, `stop`, `oom` and `destroy` container events
///   for the labels, from one second before the call (replayed from the engine's recent-events
///   log), so none is missed between the call and the request reaching the engine.
#[derive(Debug, Clone)]
pub struct DockerRuntime {
    docker: Docker,
    endpoint: String,
    config: DockerConfig,
    negotiated: std::sync::Arc<OnceCell<()>>,
}

impl DockerRuntime {
    pub(crate) fn new(docker: Docker, endpoint: String, config: DockerConfig) -> Self {
        Self {
            docker,
            endpoint,
            config,
            negotiated: std::sync::Arc::new(OnceCell::new()),
        }
    }

    /// Where the engine is reached: a socket path or an `http://` address.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The configuration this runtime was built from.
    pub fn config(&self) -> &DockerConfig {
        &self.config
    }

    /// The client, after the API version has been negotiated with the engine (first call only).
    ///
    /// A failed negotiation is not remembered, so an engine that comes up later is found then.
    /// (bollard 0.19 builds unversioned request paths, which the engine serves at its own API
    /// version; negotiating keeps bollard's idea of the version in step should that change.)
    pub(crate) async fn client(&self) -> Result<&Docker, Error> {
        self.negotiated
            .get_or_try_init(|| async {
                // Clones share the version, so negotiating on a clone downgrades every clone.
                self.docker
                    .clone()
                    .negotiate_version()
                    .await
                    .map(|_| ())
                    .map_err(|e| self.err("negotiating the API version with", Object::Engine, e))
            })
            .await?;
        Ok(&self.docker)
    }

    /// Wraps a failed engine call, naming this runtime's endpoint.
    pub(crate) fn err(
        &self,
        action: &'static str,
        object: Object,
        source: bollard::errors::Error,
    ) -> Error {
        Error::engine(action, object, &self.endpoint, source)
    }

    /// Pulls `image`, reporting progress; any failure becomes [`Error::PullFailed`] unless the
    /// engine itself cannot be reached.
    async fn pull(
        &self,
        docker: &Docker,
        image: &str,
        progress: ProgressFn<'_>,
    ) -> Result<(), Error> {
        let reference = with_default_tag(image);
        let options = CreateImageOptions {
            from_image: Some(reference.clone()),
            ..Default::default()
        };
        let mut stream = docker.create_image(Some(options), None, None);
        let work = async {
            while let Some(item) = stream.next().await {
                match item {
                    Ok(info) => {
                        if let Some(msg) = info.error.as_deref().filter(|m| !m.is_empty()) {
                            return Err(Error::PullFailed {
                                image: image.to_owned(),
                                cause: msg.to_owned(),
                                source: None,
                            });
                        }
                        progress(convert::progress(&info));
                    }
                    Err(e) if crate::error::is_unreachable(&e) => {
                        return Err(self.err("pulling", Object::Image(image.to_owned()), e));
                    }
                    Err(e) => {
                        return Err(Error::PullFailed {
                            image: image.to_owned(),
                            cause: message_of(&e).map_or_else(|| chain(&e), str::to_owned),
                            source: Some(Box::new(e)),
                        });
                    }
                }
            }
            Ok(())
        };
        let after = self.config.pull_timeout();
        match tokio::time::timeout(after, work).await {
            Ok(result) => result,
            Err(_) => Err(Error::PullTimeout {
                image: image.to_owned(),
                endpoint: self.endpoint.clone(),
                after,
            }),
        }
    }

    /// Names what a 404 (or a Swarm manager's "not found" 500, see [`is_missing`]) on create or
    /// start is about: the network, the image, or else the
    /// container itself (e.g. removed by someone else between create and start).
    fn missing_object(&self, spec: &ContainerSpec, err: &bollard::errors::Error) -> Object {
        let msg = message_of(err).unwrap_or_default().to_ascii_lowercase();
        if !is_missing(err) {
            Object::Container(spec.name.clone())
        } else if msg.starts_with("no such image") {
            // Checked first: the image's own name may contain the word "network".
            Object::Image(spec.image.clone())
        } else if msg.contains("network") {
            Object::Network(spec.network.as_str().to_owned())
        } else if msg.contains("image") {
            Object::Image(spec.image.clone())
        } else {
            Object::Container(spec.name.clone())
        }
    }

    /// `AlreadyExists` when a network named `name` exists (the engine would make a second one of
    /// the same name: API < 1.44 does not check by default).
    pub(crate) async fn refuse_existing_network(&self, docker: &Docker, name: &str) -> Result<()> {
        match docker
            .inspect_network(name, None::<InspectNetworkOptions>)
            .await
        {
            Ok(_) => Err(lticontainer_core::Error::already_exists(format!(
                "network \"{name}\""
            ))),
            Err(e) if status_of(&e) == Some(404) => Ok(()),
            Err(e) => Err(self
                .err("inspecting", Object::Network(name.to_owned()), e)
                .into()),
        }
    }

    /// Removes a container that failed to start; a failure here is logged, the start error wins.
    async fn discard(&self, docker: &Docker, id: &str) {
        let options = RemoveContainerOptions {
            force: true,
            v: true,
            ..Default::default()
        };
        if let Err(e) = docker.remove_container(id, Some(options)).await {
            tracing::warn!(
                container = id,
                error = %chain(&e),
                "could not remove a container that failed to start"
            );
        }
    }
}

#[async_trait]
impl Runtime for DockerRuntime {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn ensure_image(&self, image: &str, progress: ProgressFn<'_>) -> Result<()> {
        if self.has_image(image).await? {
            return Ok(());
        }
        if !self.config.pull {
            return Err(lticontainer_core::Error::not_found(format!(
                "image \"{image}\" (not present, and pulling is disabled)"
            )));
        }
        let docker = self.client().await?;
        tracing::info!(image, endpoint = %self.endpoint, "pulling image");
        self.pull(docker, image, progress).await?;
        Ok(())
    }

    async fn has_image(&self, image: &str) -> Result<bool> {
        let docker = self.client().await?;
        match docker.inspect_image(image).await {
            Ok(_) => Ok(true),
            Err(e) if status_of(&e) == Some(404) => Ok(false),
            Err(e) => Err(self
                .err("inspecting", Object::Image(image.to_owned()), e)
                .into()),
        }
    }

    async fn ensure_volume(&self, name: &str, labels: &BTreeMap<String, String>) -> Result<()> {
        check_volume_name(name)?;
        let docker = self.client().await?;
        match docker.inspect_volume(name).await {
            Ok(_) => return Ok(()),
            Err(e) if status_of(&e) == Some(404) => {}
            Err(e) => {
                return Err(self
                    .err("inspecting", Object::Volume(name.to_owned()), e)
                    .into());
            }
        }
        let options = VolumeCreateOptions {
            name: Some(name.to_owned()),
            labels: Some(labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
            ..Default::default()
        };
        // Creating a volume that appeared meanwhile returns it unchanged, so a race is harmless.
        docker
            .create_volume(options)
            .await
            .map_err(|e| self.err("creating", Object::Volume(name.to_owned()), e))?;
        Ok(())
    }

    async fn create_network(&self, spec: &NetworkSpec) -> Result<NetworkInfo> {
        spec.validate()?;
        let docker = self.client().await?;
        let object = || Object::Network(spec.name.clone());
        self.refuse_existing_network(docker, &spec.name).await?;
        let created = docker
            .create_network(convert::network_request(spec))
            .await
            .map_err(|e| self.err("creating", object(), e))?;
        if created.warning.contains("already exists") {
            // Another call made a network of this name between the look-up and the create.
            if let Err(e) = docker.remove_network(&created.id).await {
                tracing::warn!(network = %spec.name, id = %created.id, error = %chain(&e), "could not remove a duplicate network");
            }
            return Err(lticontainer_core::Error::already_exists(format!(
                "network \"{}\"",
                spec.name
            )));
        }
        Ok(NetworkInfo::from_spec(created.id, spec))
    }

    async fn remove_network(&self, name: &str) -> Result<()> {
        let docker = self.client().await?;
        match docker.remove_network(name).await {
            Ok(()) => Ok(()),
            Err(e) if status_of(&e) == Some(404) => Ok(()),
            Err(e) => Err(self
                .err("removing", Object::Network(name.to_owned()), e)
                .into()),
        }
    }

    async fn list_networks(&self, labels: &BTreeMap<String, String>) -> Result<Vec<NetworkInfo>> {
        let docker = self.client().await?;
        let options = ListNetworksOptions {
            filters: Some(convert::label_filters(labels)),
        };
        let networks = docker
            .list_networks(Some(options))
            .await
            .map_err(|e| self.err("listing networks of", Object::Engine, e))?;
        let mut out = Vec::with_capacity(networks.len());
        for n in networks {
            out.push(convert::network_info(n, "(listed)")?);
        }
        Ok(out)
    }

    async fn create_and_start(&self, spec: &ContainerSpec) -> Result<ContainerInfo> {
        spec.validate()?;
        let body = convert::create_body(spec)?;
        let docker = self.client().await?;
        let options = CreateContainerOptions {
            name: Some(spec.name.clone()),
            ..Default::default()
        };
        let created = match docker.create_container(Some(options), body).await {
            Ok(created) => created,
            Err(e) => {
                let object = self.missing_object(spec, &e);
                return Err(self.err("creating", object, e).into());
            }
        };
        for warning in &created.warnings {
            tracing::warn!(container = %spec.name, warning, "engine warning on create");
        }
        if let Err(e) = docker
            .start_container(
                &created.id,
                None::<bollard::query_parameters::StartContainerOptions>,
            )
            .await
        {
            self.discard(docker, &created.id).await;
            let object = self.missing_object(spec, &e);
            return Err(self.err("starting", object, e).into());
        }
        match spec.network {
            // The address is 127.0.0.1:<port>, known already: spare the spawn a round trip.
            NetworkMode::Host => Ok(convert::started_on_host(created.id, spec)),
            // The container's address on its network is known only once it has started.
            _ => self.inspect(&created.id).await,
        }
    }

    async fn inspect(&self, id: &str) -> Result<ContainerInfo> {
        let docker = self.client().await?;
        let resp = docker
            .inspect_container(
                id,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
            .map_err(|e| self.err("inspecting", Object::Container(id.to_owned()), e))?;
        Ok(convert::info_from_inspect(resp, id)?)
    }

    async fn stop(&self, id: &str, grace: Duration) -> Result<()> {
        let docker = self.client().await?;
        // The engine counts whole seconds; round up so the container gets at least `grace`.
        let whole = grace.as_secs() + u64::from(grace.subsec_nanos() > 0);
        let secs = i32::try_from(whole).unwrap_or(i32::MAX);
        let options = StopContainerOptions {
            t: Some(secs),
            signal: None,
        };
        // The engine answers after the grace period, so the request may take that much longer.
        let patient = docker
            .clone()
            .with_timeout(grace + self.config.request_timeout());
        patient
            .stop_container(id, Some(options))
            .await
            .map_err(|e| self.err("stopping", Object::Container(id.to_owned()), e))?;
        Ok(())
    }

    async fn remove(&self, id: &str) -> Result<()> {
        let docker = self.client().await?;
        let options = RemoveContainerOptions {
            force: true,
            v: true,
            ..Default::default()
        };
        match docker.remove_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) if status_of(&e) == Some(404) => Ok(()),
            // Someone else is removing it already: the outcome is the one asked for.
            Err(e)
                if status_of(&e) == Some(409)
                    && message_of(&e).is_some_and(|m| m.contains("already in progress")) =>
            {
                Ok(())
            }
            Err(e) => Err(self
                .err("removing", Object::Container(id.to_owned()), e)
                .into()),
        }
    }

    async fn list(&self, labels: &BTreeMap<String, String>) -> Result<Vec<ContainerInfo>> {
        let docker = self.client().await?;
        let options = ListContainersOptions {
            all: true,
            filters: Some(convert::label_filters(labels)),
            ..Default::default()
        };
        let summaries = docker
            .list_containers(Some(options))
            .await
            .map_err(|e| self.err("listing containers of", Object::Engine, e))?;
        let mut out = Vec::with_capacity(summaries.len());
        for s in summaries {
            out.push(convert::info_from_summary(s)?);
        }
        Ok(out)
    }

    async fn logs(&self, id: &str, tail: usize) -> Result<String> {
        let docker = self.client().await?;
        let options = LogsOptions {
            stdout: true,
            stderr: true,
            tail: tail.to_string(),
            ..Default::default()
        };
        let mut stream = docker.logs(id, Some(options));
        let mut out = Vec::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(
                    LogOutput::StdOut { message }
                    | LogOutput::StdErr { message }
                    | LogOutput::Console { message },
                ) => {
                    out.extend_from_slice(&message);
                }
                Ok(LogOutput::StdIn { .. }) => {}
                Err(e) => {
                    return Err(self
                        .err("reading the logs of", Object::Container(id.to_owned()), e)
                        .into());
                }
            }
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    async fn memory_usage(&self, id: &str) -> Result<MemoryUsage> {
        let docker = self.client().await?;
        let options = StatsOptions {
            stream: false,
            one_shot: true,
        };
        let mut stream = docker.stats(id, Some(options));
        match stream.next().await {
            Some(Ok(stats)) => Ok(stats
                .memory_stats
                .as_ref()
                .map(convert::memory_usage)
                .unwrap_or_default()),
            Some(Err(e)) => Err(self
                .err(
                    "reading the memory use of",
                    Object::Container(id.to_owned()),
                    e,
                )
                .into()),
            None => Ok(MemoryUsage::default()),
        }
    }

    async fn events(&self, labels: &BTreeMap<String, String>) -> Result<EventStream> {
        // Clones share the connection settings; the stream owns its client.
        let docker = self.client().await?.clone();
        let options = EventsOptions {
            since: Some(convert::events_since(std::time::SystemTime::now())),
            until: None,
            filters: Some(convert::event_filters(labels)),
        };
        let endpoint = self.endpoint.clone();
        let stream = docker.events(Some(options)).filter_map(move |item| {
            let mapped = match item {
                Ok(msg) => convert::event(&msg).map(Ok),
                Err(e) => Some(Err(Error::engine(
                    "watching the container events of",
                    Object::Engine,
                    &endpoint,
                    e,
                )
                .into())),
            };
            std::future::ready(mapped)
        });
        Ok(Box::pin(stream))
    }
}
