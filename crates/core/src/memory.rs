//! [`InMemoryRuntime`]: a [`Runtime`] that keeps containers in a map. For fast unit tests only.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use crate::container::{
    ContainerInfo, ContainerSpec, ContainerState, PullProgress, check_volume_name,
};
use crate::runtime::{ProgressFn, Runtime};
use crate::{Error, Result};

/// A container engine that lives in memory: images are names, containers never run anything.
///
/// Images must be added with [`InMemoryRuntime::with_image`] (or [`Runtime::ensure_image`] when
/// created with [`InMemoryRuntime::pulling`]) before containers can use them. Running containers
/// report the address `127.0.0.1:<spec.port>`.
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

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that matters
        // for a test fake, so a poisoned lock is simply taken over.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
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
}

#[async_trait]
impl Runtime for InMemoryRuntime {
    fn backend(&self) -> &'static str {
        "memory"
    }

    async fn ensure_image(&self, image: &str, progress: ProgressFn<'_>) -> Result<()> {
        if self.lock().images.contains(image) {
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

    async fn ensure_volume(&self, name: &str, labels: &BTreeMap<String, String>) -> Result<()> {
        check_volume_name(name)?;
        self.lock()
            .volumes
            .entry(name.to_owned())
            .or_insert_with(|| labels.clone());
        Ok(())
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
        let id = format!(
            "mem{:016x}",
            self.next_id.fetch_add(1, Ordering::Relaxed) + 1
        );
        let mut info = ContainerInfo::new(&id, &spec.name, &spec.image, ContainerState::Running);
        info.labels = spec.labels.clone();
        info.address = Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), spec.port));
        state.containers.insert(id, info.clone());
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
        if let Some(c) = state.containers.get_mut(&key)
            && c.state.is_running()
        {
            c.state = ContainerState::Exited { code: Some(0) };
        }
        Ok(())
    }

    async fn remove(&self, id: &str) -> Result<()> {
        let mut state = self.lock();
        if let Some(key) = state.find_id(id) {
            state.containers.remove(&key);
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

    async fn logs(&self, id: &str, _tail: usize) -> Result<String> {
        self.lock()
            .find(id)
            .map(|_| String::new())
            .ok_or_else(|| Error::not_found(format!("container {id:?}")))
    }
}
