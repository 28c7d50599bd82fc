//! [`PodmanRuntime`]: the [`Runtime`] trait on Podman's libpod API.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::{StreamExt, TryStreamExt};
use lticontainer_core::container::{ContainerInfo, ContainerSpec, MemoryUsage, check_volume_name};
use lticontainer_core::network::{NetworkInfo, NetworkMode, NetworkSpec};
use lticontainer_core::runtime::{EventStream, ProgressFn};
use lticontainer_core::{Result, Runtime};
use podman_api::Podman;
use podman_api::conn::TtyChunk;
use podman_api::opts::{
    ContainerDeleteOpts, ContainerListFilter, ContainerListOpts, ContainerLogsOpts,
    NetworkListFilter, NetworkListOpts, PullOpts, VolumeCreateOpts,
};

use crate::config::PodmanConfig;
use crate::convert;
use crate::error::{BACKEND, Cause, Class, Error, Target};
use crate::rest;

/// How many containers [`Runtime::list`] inspects at once.
const LIST_INSPECT_CONCURRENCY: usize = 8;

/// A [`Runtime`] that drives Podman through its libpod REST API on a unix socket.
///
/// Build it with [`PodmanRuntimeBuilder`](crate::PodmanRuntimeBuilder). Each request opens its
/// own connection to the socket (podman-api keeps no idle pool), so concurrent calls run in
/// parallel and nothing here holds a lock across an engine call.
#[derive(Debug, Clone)]
pub struct PodmanRuntime {
    podman: Podman,
    socket: PathBuf,
    config: PodmanConfig,
}

impl PodmanRuntime {
    /// Wraps a podman-api client talking to `socket`, configured by `config`.
    pub(crate) fn new(podman: Podman, socket: PathBuf, config: PodmanConfig) -> Self {
        Self {
            podman,
            socket,
            config,
        }
    }

    /// The libpod API socket this runtime talks to.
    pub fn socket(&self) -> &std::path::Path {
        &self.socket
    }

    /// The configuration this runtime was built from.
    pub fn config(&self) -> &PodmanConfig {
        &self.config
    }

    /// Checks that the engine answers on its socket.
    ///
    /// # Errors
    /// [`Unavailable`](lticontainer_core::Error::Unavailable) naming the socket when it is
    /// missing, refuses connections or does not answer within the request timeout.
    pub async fn ping(&self) -> Result<()> {
        self.call("ping", Target::Engine, self.podman.ping())
            .await?;
        Ok(())
    }

    /// Runs one engine request under the request timeout, naming what it was about on failure.
    async fn call<T, E: Into<Cause>>(
        &self,
        operation: &'static str,
        target: Target,
        fut: impl Future<Output = Result<T, E>>,
    ) -> Result<T, Error> {
        self.call_within(self.config.request_timeout(), operation, target, fut)
            .await
    }

    /// Runs one engine request (podman-api's or a direct one) under `after`.
    async fn call_within<T, E: Into<Cause>>(
        &self,
        after: Duration,
        operation: &'static str,
        target: Target,
        fut: impl Future<Output = Result<T, E>>,
    ) -> Result<T, Error> {
        match tokio::time::timeout(after, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(source)) => Err(Error::Api {
                operation,
                target: Box::new(target),
                socket: self.socket.clone(),
                source: source.into(),
            }),
            Err(_) => Err(Error::Timeout {
                operation,
                target: Box::new(target),
                socket: self.socket.clone(),
                after,
            }),
        }
    }

    /// Pulls `image`, reporting each line of the engine's output as progress.
    async fn pull(&self, image: &str, progress: ProgressFn<'_>) -> Result<(), Error> {
        let opts = PullOpts::builder().reference(image).quiet(false).build();
        let images = self.podman.images();
        let mut stream = images.pull(&opts);
        let pulling = async {
            while let Some(report) = stream.next().await {
                match convert::pull_report(report?) {
                    Ok(Some(p)) => progress(p),
                    Ok(None) => {}
                    Err(message) => return Ok(Err(message)),
                }
            }
            Ok::<_, podman_api::Error>(Ok(()))
        };
        let target = Target::Image(image.to_owned());
        match self
            .call_within(self.config.pull_timeout(), "pull", target, pulling)
            .await?
        {
            Ok(()) => Ok(()),
            Err(message) => Err(Error::Pull {
                image: image.to_owned(),
                message,
            }),
        }
    }

    async fn volume_exists(&self, name: &str) -> Result<bool, Error> {
        let volume = self.podman.volumes().get(name);
        self.call("inspect", Target::Volume(name.to_owned()), volume.exists())
            .await
    }

    async fn create_volume(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<(), Error> {
        if self.volume_exists(name).await? {
            return Ok(());
        }
        let opts = VolumeCreateOpts::builder()
            .name(name)
            .labels(labels.iter())
            .build();
        let created = self
            .call(
                "create",
                Target::Volume(name.to_owned()),
                self.podman.volumes().create(&opts),
            )
            .await;
        match created {
            Ok(_) => Ok(()),
            // Another call created it meanwhile: that is what was wanted.
            Err(e) if e.class() == Class::Conflict => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn create_and_start_inner(&self, spec: &ContainerSpec) -> Result<ContainerInfo, Error> {
        let opts = convert::create_opts(spec)?;
        let target = Target::NewContainer {
            name: spec.name.clone(),
            image: spec.image.clone(),
            network: match &spec.network {
                NetworkMode::Named(n) => Some(n.clone()),
                NetworkMode::Host | NetworkMode::Bridge => None,
            },
        };
        let created = self
            .call("create", target, self.podman.containers().create(&opts))
            .await?;
        let id = created.id;
        if id.is_empty() {
            return Err(Error::Unexpected {
                operation: "create",
                detail: format!("no id for the new container {:?}", spec.name),
            });
        }
        let container = self.podman.containers().get(&id);
        let started = self
            .call(
                "start",
                Target::Container(spec.name.clone()),
                container.start(None),
            )
            .await;
        if let Err(start_err) = started {
            if let Err(remove_err) = self.remove_inner(&id).await {
                tracing::warn!(
                    container = %spec.name,
                    error = %remove_err,
                    "could not remove a container that failed to start"
                );
            }
            return Err(start_err);
        }
        self.inspect_inner(&id).await
    }

    async fn inspect_inner(&self, id: &str) -> Result<ContainerInfo, Error> {
        // Direct call: podman-api's inspect always asks Podman to compute the container's size.
        let data = self
            .call(
                "inspect",
                Target::Container(id.to_owned()),
                rest::inspect_container(&self.socket, id),
            )
            .await?;
        convert::info_from_inspect(data)
    }

    async fn create_network_inner(&self, spec: &NetworkSpec) -> Result<NetworkInfo, Error> {
        let opts = convert::network_opts(spec);
        let created = self
            .call(
                "create",
                Target::Network(spec.name.clone()),
                self.podman.networks().create(&opts),
            )
            .await?;
        convert::network_info(created, &spec.name)
    }

    async fn remove_network_inner(&self, name: &str) -> Result<(), Error> {
        // Not podman-api's `remove`, which forces: it would remove the containers on the network.
        let network = self.podman.networks().get(name);
        match self
            .call("remove", Target::Network(name.to_owned()), network.delete())
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.class() == Class::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn list_networks_inner(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<NetworkInfo>, Error> {
        let opts = NetworkListOpts::builder()
            .filter(
                labels
                    .iter()
                    .map(|(k, v)| NetworkListFilter::LabelKeyVal(k.clone(), v.clone())),
            )
            .build();
        let listed = self
            .call(
                "list networks of",
                Target::Engine,
                self.podman.networks().list(&opts),
            )
            .await?;
        listed
            .into_iter()
            .map(|n| convert::network_info(n, "(listed)"))
            .collect()
    }

    async fn remove_inner(&self, id: &str) -> Result<(), Error> {
        // Like `docker rm -f`: kill at once (timeout 0) instead of waiting Podman's default
        // 10 s stop timeout; callers that want a graceful end call `stop` first. `v` removes
        // anonymous volumes only; named volumes (the students' work) stay.
        let opts = ContainerDeleteOpts::builder()
            .force(true)
            .volumes(true)
            .timeout(0)
            .build();
        let container = self.podman.containers().get(id);
        match self
            .call(
                "remove",
                Target::Container(id.to_owned()),
                container.delete(&opts),
            )
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if e.class() == Class::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn list_inner(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<ContainerInfo>, Error> {
        let opts = ContainerListOpts::builder()
            .all(true)
            .filter(
                labels
                    .iter()
                    .map(|(k, v)| ContainerListFilter::LabelKeyVal(k.clone(), v.clone())),
            )
            .build();
        let listed = self
            .call("list", Target::Engine, self.podman.containers().list(&opts))
            .await?;
        let ids: Vec<String> = listed.into_iter().filter_map(|c| c.id).collect();
        // The list reply lacks the network mode and address; inspect gives the whole record.
        let infos: Vec<Result<ContainerInfo, Error>> = futures_util::stream::iter(ids)
            .map(|id| async move { self.inspect_inner(&id).await })
            .buffered(LIST_INSPECT_CONCURRENCY)
            .collect()
            .await;
        let mut out = Vec::with_capacity(infos.len());
        for info in infos {
            match info {
                Ok(info) => out.push(info),
                // Removed between the list and the inspect: no longer there to adopt.
                Err(e) if e.class() == Class::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    async fn logs_inner(&self, id: &str, tail: usize) -> Result<String, Error> {
        // A missing container must be NotFound even when the log stream would just end.
        self.inspect_inner(id).await?;
        let opts = ContainerLogsOpts::builder()
            .stdout(true)
            .stderr(true)
            .follow(false)
            .tail(tail.to_string())
            .build();
        let container = self.podman.containers().get(id);
        let collect = container
            .logs(&opts)
            .try_fold(Vec::new(), |mut acc, chunk| async move {
                match chunk {
                    TtyChunk::StdOut(b) | TtyChunk::StdErr(b) => acc.extend_from_slice(&b),
                    TtyChunk::StdIn(_) => {}
                }
                Ok(acc)
            });
        let bytes = self
            .call("read logs of", Target::Container(id.to_owned()), collect)
            .await?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    async fn memory_usage_inner(&self, id: &str) -> Result<MemoryUsage, Error> {
        // A missing container must be NotFound, whatever the stats call answers for it.
        self.inspect_inner(id).await?;
        let container = self.podman.containers().get(id);
        let stats = self
            .call(
                "read the memory use of",
                Target::Container(id.to_owned()),
                container.stats(),
            )
            .await?;
        Ok(convert::memory_usage(&stats))
    }
}

#[async_trait]
impl Runtime for PodmanRuntime {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn ensure_image(&self, image: &str, progress: ProgressFn<'_>) -> Result<()> {
        if image.trim().is_empty() {
            return Err(lticontainer_core::Error::invalid("the image name is empty"));
        }
        if self.has_image(image).await? {
            return Ok(());
        }
        if !self.config.pull {
            return Err(lticontainer_core::Error::not_found(format!(
                "image {image:?} (not present locally; pulling is disabled)"
            )));
        }
        tracing::info!(image, socket = %self.socket.display(), "pulling image");
        self.pull(image, progress).await?;
        Ok(())
    }

    async fn has_image(&self, image: &str) -> Result<bool> {
        // Podman resolves short names of local images itself (`x/y` finds `localhost/x/y`).
        let local = self.podman.images().get(image);
        Ok(self
            .call("inspect", Target::Image(image.to_owned()), local.exists())
            .await?)
    }

    async fn ensure_volume(&self, name: &str, labels: &BTreeMap<String, String>) -> Result<()> {
        check_volume_name(name)?;
        Ok(self.create_volume(name, labels).await?)
    }

    async fn create_network(&self, spec: &NetworkSpec) -> Result<NetworkInfo> {
        spec.validate()?;
        Ok(self.create_network_inner(spec).await?)
    }

    async fn remove_network(&self, name: &str) -> Result<()> {
        Ok(self.remove_network_inner(name).await?)
    }

    async fn list_networks(&self, labels: &BTreeMap<String, String>) -> Result<Vec<NetworkInfo>> {
        Ok(self.list_networks_inner(labels).await?)
    }

    async fn create_and_start(&self, spec: &ContainerSpec) -> Result<ContainerInfo> {
        spec.validate()?;
        Ok(self.create_and_start_inner(spec).await?)
    }

    async fn inspect(&self, id: &str) -> Result<ContainerInfo> {
        Ok(self.inspect_inner(id).await?)
    }

    async fn stop(&self, id: &str, grace: Duration) -> Result<()> {
        let grace_secs = grace
            .as_secs()
            .saturating_add(u64::from(grace.subsec_nanos() > 0));
        let after = self.config.request_timeout().saturating_add(grace);
        // Direct call: podman-api sends the grace period as `Timeout`, which Podman ignores.
        let stopped = self
            .call_within(
                after,
                "stop",
                Target::Container(id.to_owned()),
                rest::stop(&self.socket, id, grace_secs),
            )
            .await;
        match stopped {
            Ok(()) => Ok(()),
            // 304: already stopped.
            Err(e) if e.class() == Class::NotModified => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn remove(&self, id: &str) -> Result<()> {
        Ok(self.remove_inner(id).await?)
    }

    async fn list(&self, labels: &BTreeMap<String, String>) -> Result<Vec<ContainerInfo>> {
        Ok(self.list_inner(labels).await?)
    }

    async fn logs(&self, id: &str, tail: usize) -> Result<String> {
        Ok(self.logs_inner(id, tail).await?)
    }

    async fn memory_usage(&self, id: &str) -> Result<MemoryUsage> {
        Ok(self.memory_usage_inner(id).await?)
    }

    async fn events(&self, labels: &BTreeMap<String, String>) -> Result<EventStream> {
        // Direct call (rest.rs): the stream owns its connection, and the call returns once
        // Podman has taken the request. `since` makes Podman replay what happened since just
        // before the call, so nothing falls between the call and Podman reading its event log.
        let since = convert::events_since(std::time::SystemTime::now());
        let filters = convert::event_filters(labels);
        let raw = self
            .call(
                "watch the events of",
                Target::Engine,
                rest::events(&self.socket, &filters, &since),
            )
            .await?;
        let socket = self.socket.clone();
        let stream = raw.filter_map(move |item| {
            let mapped = match item {
                Ok(e) => convert::event(&e.typ, &e.action, &e.actor.id).map(Ok),
                Err(source) => Some(Err(Error::Api {
                    operation: "watch the events of",
                    target: Box::new(Target::Engine),
                    socket: socket.clone(),
                    source: source.into(),
                }
                .into())),
            };
            std::future::ready(mapped)
        });
        Ok(Box::pin(stream))
    }
}
