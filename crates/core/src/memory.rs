//! [`InMemoryRuntime`]: a [`Runtime`] that keeps containers in a map. For fast unit tests only.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures_channel::mpsc::{UnboundedSender, unbounded};

use crate::container::{
    ContainerEvent, ContainerEventKind, ContainerInfo, ContainerSpec, ContainerState, MemoryUsage,
    PullProgress, check_volume_name,
};
use crate::network::{NetworkInfo, NetworkMode, NetworkSpec};
use crate::runtime::{EventStream, ProgressFn, Runtime};
use crate::{Error, Result};

/// A container engine that lives in memory: images are names, containers never run anything.
///
/// Images must be added with [`InMemoryRuntime::with_image`] (or [`Runtime::ensure_image`] when
/// created with [`InMemoryRuntime::pulling`]) before containers can use them. Running containers
/// report the address `127.0.0.1:<spec.port>`, or on a named network (made with
/// [`Runtime::create_network`]) the next free host address of its subnet after the gateway.
/// [`Runtime::events`] reports what `create_and_start`, `stop`, `remove` and
/// [`InMemoryRuntime::exit`] do, to every subscriber whose labels match.
#[derive(Debug, Default)]
pub struct InMemoryRuntime {
    state: Mutex<State>,
    next_id: AtomicU64,
    pull_anything: bool,
}

#[derive(Debug, Default)]
struct State {
    images: BTreeSet<String>,
    volumes: BTreeMap<String, BTreeMap<String, String>>,
    containers: BTreeMap<String, ContainerInfo>,
    /// The [`Runtime::events`] subscribers.
    subscribers: Vec<Subscriber>,
    networks: BTreeMap<String, FakeNetwork>,
    /// Container id → the named network it joined.
    joined: BTreeMap<String, String>,
    /// Container id → its memory use (see [`InMemoryRuntime::set_memory_used`]).
    memory: BTreeMap<String, MemoryUsage>,
}

/// One [`Runtime::events`] subscriber: its label filter and its channel.
#[derive(Debug)]
struct Subscriber {
    labels: BTreeMap<String, String>,
    tx: UnboundedSender<Result<ContainerEvent>>,
}

#[derive(Debug)]
struct FakeNetwork {
    info: NetworkInfo,
    /// The host number (in the subnet) the next container gets.
    next_host: u32,
}

impl InMemoryRuntime {
    /// An empty engine with no images, which refuses to pull.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty engine that "pulls" any image on [`Runtime::ensure_image`], reporting one progress step.
    pub fn pulling() -> Self {
        Self {
            pull_anything: true,
            ..Self::default()
        }
    }

    /// Adds a local image.
    pub fn with_image(self, image: impl Into<String>) -> Self {
        self.lock().images.insert(image.into());
        self
    }

    /// The names of the volumes created so far (by [`Runtime::ensure_volume`]; creating a
    /// container creates none).
    pub fn volumes(&self) -> Vec<String> {
        self.lock().volumes.keys().cloned().collect()
    }

    /// The labels volume `name` was created with; `None` when there is no such volume.
    pub fn volume_labels(&self, name: &str) -> Option<BTreeMap<String, String>> {
        self.lock().volumes.get(name).cloned()
    }

    /// The main process of container `id` (by id or name) exits with `code`, as when a student
    /// shuts their server down from inside: the container is exited and subscribers get `Died`.
    ///
    /// # Errors
    /// [`Error::NotFound`] for a missing container.
    pub fn exit(&self, id: &str, code: i64) -> Result<()> {
        let mut state = self.lock();
        let key = state
            .find_id(id)
            .ok_or_else(|| Error::not_found(format!("container {id:?}")))?;
        state.end(&key, Some(code), &[ContainerEventKind::Died]);
        Ok(())
    }

    /// The kernel's OOM killer kills a process inside running container `id` (by id or name)
    /// that is not its main one, as when a notebook kernel outgrows the memory limit: the
    /// container goes on running and subscribers get `OutOfMemory`.
    ///
    /// # Errors
    /// [`Error::NotFound`] for a missing container.
    pub fn out_of_memory(&self, id: &str) -> Result<()> {
        let mut state = self.lock();
        let key = state
            .find_id(id)
            .ok_or_else(|| Error::not_found(format!("container {id:?}")))?;
        state.publish(&key, ContainerEventKind::OutOfMemory);
        Ok(())
    }

    /// Sets the memory in use that [`Runtime::memory_usage`] reports for container `id`
    /// (a test's stand-in for a kernel allocating memory).
    ///
    /// # Errors
    /// [`Error::NotFound`] for a missing container.
    pub fn set_memory_used(&self, id: &str, bytes: u64) -> Result<()> {
        let mut state = self.lock();
        let id = state
            .find_id(id)
            .ok_or_else(|| Error::not_found(format!("container {id:?}")))?;
        state.memory.entry(id).or_default().used_bytes = bytes;
        Ok(())
    }

    /// The names of the networks that exist now.
    pub fn networks(&self) -> Vec<String> {
        self.lock().networks.keys().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that matters
        // for a test fake, so a poisoned lock is simply taken over.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl FakeNetwork {
    /// The next host address of the subnet that is not the gateway, if the subnet has one.
    fn next_host_address(&mut self) -> Option<Ipv4Addr> {
        let subnet = self.info.subnet?;
        loop {
            let ip = subnet.host(self.next_host)?;
            self.next_host += 1;
            if Some(ip) != self.info.gateway {
                return Some(ip);
            }
        }
    }
}

impl State {
    fn find(&self, id: &str) -> Option<&ContainerInfo> {
        self.containers
            .get(id)
            .or_else(|| self.containers.values().find(|c| c.name == id))
    }

    fn find_id(&self, id: &str) -> Option<String> {
        self.find(id).map(|c| c.id.clone())
    }

    /// Sends `kind` for container `key` to every live subscriber whose labels it carries, and
    /// forgets the subscribers that are gone. Called under the state lock, so every subscriber
    /// sees the events in the order the changes happened.
    fn publish(&mut self, key: &str, kind: ContainerEventKind) {
        let Some(labels) = self.containers.get(key).map(|c| &c.labels) else {
            return;
        };
        self.subscribers.retain(|s| {
            if !s.labels.iter().all(|(k, v)| labels.get(k) == Some(v)) {
                return !s.tx.is_closed();
            }
            s.tx.unbounded_send(Ok(ContainerEvent::new(key, kind)))
                .is_ok()
        });
    }

    /// Ends running container `key` with exit `code`, publishing `kinds`; a container that does
    /// not run is left alone.
    fn end(&mut self, key: &str, code: Option<i64>, kinds: &[ContainerEventKind]) {
        let Some(c) = self.containers.get_mut(key) else {
            return;
        };
        if !c.state.is_running() {
            return;
        }
        c.state = ContainerState::Exited { code };
        for kind in kinds {
            self.publish(key, *kind);
        }
    }
}

#[async_trait]
impl Runtime for InMemoryRuntime {
    fn backend(&self) -> &'static str {
        "memory"
    }

    async fn ensure_image(&self, image: &str, progress: ProgressFn<'_>) -> Result<()> {
        if self.has_image(image).await? {
            return Ok(());
        }
        if !self.pull_anything {
            return Err(Error::not_found(format!("image {image:?}")));
        }
        progress(PullProgress {
            status: format!("Pulling {image}"),
            current: None,
            total: None,
        });
        self.lock().images.insert(image.to_owned());
        Ok(())
    }

    async fn has_image(&self, image: &str) -> Result<bool> {
        Ok(self.lock().images.contains(image))
    }

    async fn ensure_volume(&self, name: &str, labels: &BTreeMap<String, String>) -> Result<()> {
        check_volume_name(name)?;
        self.lock()
            .volumes
            .entry(name.to_owned())
            .or_insert_with(|| labels.clone());
        Ok(())
    }

    async fn create_network(&self, spec: &NetworkSpec) -> Result<NetworkInfo> {
        spec.validate()?;
        let mut state = self.lock();
        if state.networks.contains_key(&spec.name) {
            return Err(Error::already_exists(format!("network {:?}", spec.name)));
        }
        if let Some(other) = state
            .networks
            .values()
            .find(|n| n.info.subnet.is_some_and(|s| s.overlaps(&spec.subnet)))
        {
            return Err(Error::invalid(format!(
                "subnet {} of network {:?} overlaps network {:?}",
                spec.subnet, spec.name, other.info.name
            )));
        }
        let id = format!(
            "memnet{:016x}",
            self.next_id.fetch_add(1, Ordering::Relaxed) + 1
        );
        let info = NetworkInfo::from_spec(id, spec);
        state.networks.insert(
            spec.name.clone(),
            FakeNetwork {
                info: info.clone(),
                next_host: 1,
            },
        );
        Ok(info)
    }

    async fn remove_network(&self, name: &str) -> Result<()> {
        let mut state = self.lock();
        if let Some((id, _)) = state.joined.iter().find(|(_, n)| *n == name) {
            return Err(Error::invalid(format!(
                "network {name:?} is in use by container {id:?}; remove the container first"
            )));
        }
        state.networks.remove(name);
        Ok(())
    }

    async fn list_networks(&self, labels: &BTreeMap<String, String>) -> Result<Vec<NetworkInfo>> {
        Ok(self
            .lock()
            .networks
            .values()
            .filter(|n| labels.iter().all(|(k, v)| n.info.labels.get(k) == Some(v)))
            .map(|n| n.info.clone())
            .collect())
    }

    async fn create_and_start(&self, spec: &ContainerSpec) -> Result<ContainerInfo> {
        spec.validate()?;
        let mut state = self.lock();
        if !state.images.contains(&spec.image) {
            return Err(Error::not_found(format!("image {:?}", spec.image)));
        }
        if state.containers.values().any(|c| c.name == spec.name) {
            return Err(Error::already_exists(format!("container {:?}", spec.name)));
        }
        let ip = match &spec.network {
            NetworkMode::Host | NetworkMode::Bridge => Ipv4Addr::LOCALHOST,
            NetworkMode::Named(name) => {
                let net = state
                    .networks
                    .get_mut(name)
                    .ok_or_else(|| Error::not_found(format!("network {name:?}")))?;
                net.next_host_address()
                    .ok_or_else(|| Error::invalid(format!("network {name:?} is full")))?
            }
        };
        let id = format!(
            "mem{:016x}",
            self.next_id.fetch_add(1, Ordering::Relaxed) + 1
        );
        let mut info = ContainerInfo::new(&id, &spec.name, &spec.image, ContainerState::Running);
        info.labels = spec.labels.clone();
        info.address = Some(SocketAddr::new(IpAddr::V4(ip), spec.port));
        if let NetworkMode::Named(name) = &spec.network {
            state.joined.insert(id.clone(), name.clone());
        }
        state.memory.insert(
            id.clone(),
            MemoryUsage {
                used_bytes: 0,
                limit_bytes: spec.limits.mem_limit,
            },
        );
        state.containers.insert(id.clone(), info.clone());
        state.publish(&id, ContainerEventKind::Started);
        Ok(info)
    }

    async fn inspect(&self, id: &str) -> Result<ContainerInfo> {
        self.lock()
            .find(id)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("container {id:?}")))
    }

    async fn stop(&self, id: &str, _grace: Duration) -> Result<()> {
        let mut state = self.lock();
        let key = state
            .find_id(id)
            .ok_or_else(|| Error::not_found(format!("container {id:?}")))?;
        state.end(
            &key,
            Some(0),
            &[ContainerEventKind::Died, ContainerEventKind::Stopped],
        );
        Ok(())
    }

    async fn remove(&self, id: &str) -> Result<()> {
        let mut state = self.lock();
        if let Some(key) = state.find_id(id) {
            state.end(&key, Some(137), &[ContainerEventKind::Died]);
            state.publish(&key, ContainerEventKind::Removed);
            state.containers.remove(&key);
            state.joined.remove(&key);
        }
        Ok(())
    }

    async fn list(&self, labels: &BTreeMap<String, String>) -> Result<Vec<ContainerInfo>> {
        Ok(self
            .lock()
            .containers
            .values()
            .filter(|c| labels.iter().all(|(k, v)| c.labels.get(k) == Some(v)))
            .cloned()
            .collect())
    }

    async fn memory_usage(&self, id: &str) -> Result<MemoryUsage> {
        let state = self.lock();
        let id = state
            .find_id(id)
            .ok_or_else(|| Error::not_found(format!("container {id:?}")))?;
        Ok(state.memory.get(&id).copied().unwrap_or_default())
    }

    async fn logs(&self, id: &str, _tail: usize) -> Result<String> {
        self.lock()
            .find(id)
            .map(|_| String::new())
            .ok_or_else(|| Error::not_found(format!("container {id:?}")))
    }

    async fn events(&self, labels: &BTreeMap<String, String>) -> Result<EventStream> {
        let (tx, rx) = unbounded();
        self.lock().subscribers.push(Subscriber {
            labels: labels.clone(),
            tx,
        });
        Ok(Box::pin(rx))
    }
}
