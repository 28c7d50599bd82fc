//! The [`Runtime`] trait: the one way the hub talks to a container engine.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_core::Stream;

use crate::Result;
use crate::container::{
    ContainerEvent, ContainerInfo, ContainerSpec, MemoryUsage, PullProgress, StartStage,
};
use crate::network::{NetworkInfo, NetworkSpec};

/// Receives image-pull progress; called zero or more times from [`Runtime::ensure_image`].
pub type ProgressFn<'a> = &'a (dyn Fn(PullProgress) + Send + Sync);

/// Receives the stages of a scheduled start; called zero or more times from
/// [`Runtime::create_and_start_reporting`].
pub type StartProgressFn<'a> = &'a (dyn Fn(StartStage) + Send + Sync);

/// The container lifecycle events [`Runtime::events`] streams, until the engine connection ends.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<ContainerEvent>> + Send + 'static>>;

/// A container engine (Docker, Podman, or the in-memory fake), used as `Arc<dyn Runtime>`.
///
/// # Contract
/// * Every method is safe to call concurrently; an implementation must not serialise unrelated
///   calls behind one lock or one connection.
/// * Containers are addressed by id or by name.
/// * Errors use the semantic variants of [`crate::Error`]: a missing image or container is
///   [`NotFound`](crate::Error::NotFound), a name in use is [`AlreadyExists`](crate::Error::AlreadyExists),
///   an engine that cannot be reached is [`Unavailable`](crate::Error::Unavailable) naming the socket.
/// * Nothing here panics on an unexpected engine reply.
///
/// # Errors
/// See each method.
///
/// # Example
/// ```
/// use std::sync::Arc;
/// use lticontainer_core::{Runtime, container::ContainerSpec, memory::InMemoryRuntime};
/// # async fn demo() -> lticontainer_core::Result<()> {
/// let rt: Arc<dyn Runtime> = Arc::new(InMemoryRuntime::new());
/// rt.ensure_image("busybox:latest", &|_| {}).await?;
/// let info = rt.create_and_start(&ContainerSpec::new("demo", "busybox:latest")).await?;
/// assert!(info.state.is_running());
/// rt.remove(&info.id).await?;
/// # Ok(()) }
/// ```
#[async_trait]
pub trait Runtime: Send + Sync + Debug + 'static {
    /// A short backend name for logs and errors (`"docker"`, `"podman"`, `"memory"`).
    fn backend(&self) -> &'static str;

    /// Makes sure `image` is present locally, pulling it when a registry can be reached.
    ///
    /// # Behavior
    /// * A present image returns at once without contacting a registry.
    /// * Pull progress is reported through `progress`.
    /// * An image that is neither local nor pullable is [`NotFound`](crate::Error::NotFound) naming the image.
    async fn ensure_image(&self, image: &str, progress: ProgressFn<'_>) -> Result<()>;

    /// True when the engine has `image` locally (an admin pulled or built it); never pulls.
    ///
    /// # Behavior
    /// * A missing image is `Ok(false)`, not an error.
    /// * An engine that cannot be reached is [`Unavailable`](crate::Error::Unavailable).
    async fn has_image(&self, image: &str) -> Result<bool>;

    /// Creates the named volume when it is missing, with `labels`.
    ///
    /// # Behavior
    /// * A name [`check_volume_name`](crate::container::check_volume_name) refuses is
    ///   [`InvalidInput`](crate::Error::InvalidInput); the engine is not contacted.
    /// * An existing volume succeeds and is left as it is.
    async fn ensure_volume(&self, name: &str, labels: &BTreeMap<String, String>) -> Result<()>;

    /// Creates the bridge network `spec` describes, for one user's containers.
    ///
    /// # Behavior
    /// * A spec [`NetworkSpec::validate`] refuses is [`InvalidInput`](crate::Error::InvalidInput);
    ///   the engine is not contacted.
    /// * A name in use is [`AlreadyExists`](crate::Error::AlreadyExists); nothing is changed.
    /// * A subnet that overlaps one the engine (or, for some engines, the host) already uses is
    ///   an error naming the subnet; nothing is created.
    /// * The host's side of the network is the bridge interface `spec.interface`, holding
    ///   `spec.gateway`: the host reaches containers on the network at their addresses, and
    ///   they reach the host at the gateway. The engine keeps its name resolution and address
    ///   translation off the network where it can, and marks it internal where that keeps the
    ///   gateway (each backend's README says what it does).
    /// * Whether the host routes the containers' traffic further is the host's business, not
    ///   the engine's: the caller turns forwarding off on `spec.interface` when it must not.
    /// * The interface may appear only when the first container joins (Podman's CNI bridge).
    async fn create_network(&self, spec: &NetworkSpec) -> Result<NetworkInfo>;

    /// Removes the named network.
    ///
    /// # Behavior
    /// * Removing a missing network succeeds.
    /// * A network a container still uses is not removed: an error, nothing changed (remove
    ///   the containers first; whether a stopped container counts depends on the engine).
    async fn remove_network(&self, name: &str) -> Result<()>;

    /// Lists networks that carry every label in `labels` with the same value.
    ///
    /// # Behavior
    /// * An empty map lists every network the engine has.
    async fn list_networks(&self, labels: &BTreeMap<String, String>) -> Result<Vec<NetworkInfo>>;

    /// Creates a container from `spec` and starts it.
    ///
    /// # Behavior
    /// * A spec [`ContainerSpec::validate`] refuses is [`InvalidInput`](crate::Error::InvalidInput);
    ///   the engine is not contacted.
    /// * A name in use is [`AlreadyExists`](crate::Error::AlreadyExists); nothing is changed.
    /// * A missing image is [`NotFound`](crate::Error::NotFound); no container is left behind.
    /// * The container joins `spec.network`; a named network that does not exist is
    ///   [`NotFound`](crate::Error::NotFound) naming it; no container is left behind. On a named
    ///   network the container's address is its address there.
    /// * If start fails after create, the created container is removed before the error returns.
    /// * Volumes are not created here. Every named volume in `spec.mounts` is declared in
    ///   [`spec.volumes`](ContainerSpec::volumes) (a spec that mounts an undeclared one is
    ///   refused), and the caller — the one owner of volume creation — creates each with
    ///   [`ensure_volume`](Runtime::ensure_volume)`(&v.name, &v.labels)` before this call. (An
    ///   engine may create a volume still missing at this point on its own, without labels.)
    async fn create_and_start(&self, spec: &ContainerSpec) -> Result<ContainerInfo>;

    /// [`create_and_start`](Runtime::create_and_start), reporting the stages of the start
    /// through `progress` where the engine schedules it (a Swarm service's task: pending,
    /// assigned, preparing, starting, or failed with the task's error just before the error
    /// returns).
    ///
    /// # Behavior
    /// * As [`create_and_start`](Runtime::create_and_start) in every other respect.
    /// * An engine that starts a container at once reports nothing (the default).
    async fn create_and_start_reporting(
        &self,
        spec: &ContainerSpec,
        progress: StartProgressFn<'_>,
    ) -> Result<ContainerInfo> {
        let _ = progress;
        self.create_and_start(spec).await
    }

    /// Describes one container.
    ///
    /// # Behavior
    /// * A missing container is [`NotFound`](crate::Error::NotFound).
    async fn inspect(&self, id: &str) -> Result<ContainerInfo>;

    /// Stops a container, killing it after `grace`.
    ///
    /// # Behavior
    /// * Stopping a stopped container succeeds.
    /// * Stopping a missing container is [`NotFound`](crate::Error::NotFound).
    async fn stop(&self, id: &str, grace: Duration) -> Result<()>;

    /// Removes a container, stopping it first if it runs.
    ///
    /// # Behavior
    /// * Removing a missing container succeeds.
    async fn remove(&self, id: &str) -> Result<()>;

    /// Lists containers (running or not) that carry every label in `labels` with the same value.
    ///
    /// # Behavior
    /// * An empty map lists every container the engine has.
    async fn list(&self, labels: &BTreeMap<String, String>) -> Result<Vec<ContainerInfo>>;

    /// The last `tail` lines of the container's stdout and stderr, interleaved as the engine keeps them.
    ///
    /// # Behavior
    /// * A missing container is [`NotFound`](crate::Error::NotFound).
    async fn logs(&self, id: &str, tail: usize) -> Result<String>;

    /// The container's memory use and limit now, one sample (the hub tells a student whose
    /// server nears its memory limit).
    ///
    /// # Behavior
    /// * A missing container is [`NotFound`](crate::Error::NotFound).
    /// * The limit is the one the container was created with
    ///   ([`ResourceLimits::mem_limit`](crate::container::ResourceLimits::mem_limit)) when it has one.
    async fn memory_usage(&self, id: &str) -> Result<MemoryUsage>;

    /// Subscribes to the lifecycle events ([`ContainerEvent`]) of the containers that carry
    /// every label in `labels` with the same value.
    ///
    /// The hub uses this to stop routing to a server the moment its container stops (a student's
    /// "Shut Down" ends the container): with host networking another process could bind the
    /// freed port, so an address must not outlive its container.
    ///
    /// # Behavior
    /// * The subscription is in place when the call returns: every matching event that happens
    ///   after it returns is delivered (an event from shortly before may be delivered too).
    /// * Only starts, deaths, stops, OOM kills and removals are reported; one engine action may
    ///   give several events (a stop is `Died` and `Stopped`), and a kind may come twice.
    /// * An engine that cannot be reached is [`Unavailable`](crate::Error::Unavailable), from
    ///   the call or as an item of the stream; the stream ends when the engine connection does.
    ///   Events that happen while no subscription runs are lost, so a caller that subscribes
    ///   again re-checks the containers it cares about with [`inspect`](Runtime::inspect).
    async fn events(&self, labels: &BTreeMap<String, String>) -> Result<EventStream>;
}

macro_rules! forward_runtime {
    ($ty:ty) => {
        #[deny(clippy::missing_trait_methods)]
        #[async_trait]
        impl<T: Runtime + ?Sized> Runtime for $ty {
            fn backend(&self) -> &'static str {
                (**self).backend()
            }
            async fn ensure_image(&self, image: &str, progress: ProgressFn<'_>) -> Result<()> {
                (**self).ensure_image(image, progress).await
            }
            async fn has_image(&self, image: &str) -> Result<bool> {
                (**self).has_image(image).await
            }
            async fn ensure_volume(
                &self,
                name: &str,
                labels: &BTreeMap<String, String>,
            ) -> Result<()> {
                (**self).ensure_volume(name, labels).await
            }
            async fn create_network(&self, spec: &NetworkSpec) -> Result<NetworkInfo> {
                (**self).create_network(spec).await
            }
            async fn remove_network(&self, name: &str) -> Result<()> {
                (**self).remove_network(name).await
            }
            async fn list_networks(
                &self,
                labels: &BTreeMap<String, String>,
            ) -> Result<Vec<NetworkInfo>> {
                (**self).list_networks(labels).await
            }
            async fn create_and_start(&self, spec: &ContainerSpec) -> Result<ContainerInfo> {
                (**self).create_and_start(spec).await
            }
            async fn create_and_start_reporting(
                &self,
                spec: &ContainerSpec,
                progress: StartProgressFn<'_>,
            ) -> Result<ContainerInfo> {
                (**self).create_and_start_reporting(spec, progress).await
            }
            async fn inspect(&self, id: &str) -> Result<ContainerInfo> {
                (**self).inspect(id).await
            }
            async fn stop(&self, id: &str, grace: Duration) -> Result<()> {
                (**self).stop(id, grace).await
            }
            async fn remove(&self, id: &str) -> Result<()> {
                (**self).remove(id).await
            }
            async fn list(&self, labels: &BTreeMap<String, String>) -> Result<Vec<ContainerInfo>> {
                (**self).list(labels).await
            }
            async fn memory_usage(&self, id: &str) -> Result<MemoryUsage> {
                (**self).memory_usage(id).await
            }
            async fn logs(&self, id: &str, tail: usize) -> Result<String> {
                (**self).logs(id, tail).await
            }
            async fn events(&self, labels: &BTreeMap<String, String>) -> Result<EventStream> {
                (**self).events(labels).await
            }
        }
    };
}

forward_runtime!(Arc<T>);
forward_runtime!(Box<T>);
