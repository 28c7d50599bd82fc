//! [`SwarmRuntime`]: the [`Runtime`] trait on Docker Swarm services.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bollard::Docker;
use bollard::models::{Service, ServiceSpecMode, ServiceSpecModeReplicated, Task};
use bollard::query_parameters::{
    InspectServiceOptions, ListContainersOptions, ListServicesOptions, ListTasksOptions,
    UpdateServiceOptions,
};
use lticontainer_core::container::{ContainerInfo, ContainerSpec, MemoryUsage, labels};
use lticontainer_core::network::{NetworkInfo, NetworkSpec};
use lticontainer_core::runtime::{EventStream, ProgressFn, StartProgressFn};
use lticontainer_core::{Result, Runtime};
use tokio::sync::OnceCell;

use crate::builder::DockerRuntimeBuilder;
use crate::convert;
use crate::error::{Error, Object, chain, is_missing, message_of, status_of};
use crate::runtime::DockerRuntime;
use crate::swarm::config::SwarmConfig;
use crate::swarm::events::{self, Phase};
use crate::swarm::spec::{self, CONFIG_SUFFIX, Pin};
use crate::swarm::tasks::{self, Start};

/// The backend name of the Swarm runtime in logs and errors.
pub(crate) const SWARM_BACKEND: &str = "swarm";

/// The label Swarm puts on every task's container: the id of its service.
const SERVICE_ID_LABEL: &str = "com.docker.swarm.service.id";

/// How often a start, stop or removal under way asks the manager how far it got.
const STEP: Duration = Duration::from_millis(100);

/// How often [`SwarmRuntime::phases`] lists again when a service went away between listing the
/// services and listing their tasks (the manager answers the tasks of a missing service with a
/// 404).
const RACES: usize = 3;

/// How long a removal waits for the engine to let go of a network's configuration.
const NETWORK_RELEASE: Duration = Duration::from_secs(15);

/// A [`Runtime`] on a Docker Swarm: each server is a service of one replica on the cluster's
/// nodes, managed through a manager's Engine API.
///
/// It shares the Docker backend's client, its conversion of environment, labels and limits,
/// and its image and volume handling (on the manager's engine). What the trait calls a
/// container is a service: its id is the service's id, its name the service's name, its state
/// that of the service's newest task, its address the task's address on the server's network
/// (on the manager's node) or, with host networking, the address of the node running the task.
///
/// # Behavior (beyond the [`Runtime`] contract)
/// * `create_and_start` creates the service (restart condition `none`, the configured
///   placement) and waits until its task runs. A task that ends first is an error with the
///   task's own error (a missing image is `NotFound` naming it); a task no node can take within
///   `schedule_timeout_secs` is an error with the scheduler's reason (e.g. `no suitable node
///   (scheduling constraints not satisfied on 3 nodes)`). Either way the service is removed.
/// * `stop` scales the service to zero and waits until its task has ended; the container gets
///   the service's stop grace period (`stop_grace_secs`, fixed when the service was created),
///   not `grace`.
/// * `remove` removes the service and waits until the manager's engine has no container of it
///   left (containers on other nodes are removed by their nodes).
/// * A named network is a Swarm-scoped bridge made from a configuration network of the same
///   name plus `.config` on the manager's engine, which holds the subnet, gateway, bridge name
///   and labels; services on it are pinned to the manager's node.
/// * `events` lists the labelled services' tasks every `events_poll_millis` and reports what
///   changed: Swarm has no task events, and a manager sees the tasks of every node.
/// * `logs` reads the task container's logs from the manager's engine; a task on another node
///   gives a line saying which node has them.
#[derive(Debug, Clone)]
pub struct SwarmRuntime {
    docker: DockerRuntime,
    config: SwarmConfig,
    manager_node: std::sync::Arc<OnceCell<String>>,
}

impl SwarmRuntime {
    /// A runtime on the manager `config` names (without contacting it yet).
    ///
    /// # Errors
    /// As [`DockerRuntimeBuilder::build`]: a missing socket file, an address of an unknown
    /// scheme, a zero timeout.
    pub fn from_config(config: SwarmConfig) -> Result<Self> {
        let docker = DockerRuntimeBuilder::from_config(config.docker()).build()?;
        // `from_config` read DOCKER_HOST into the engine's settings; keep them in step.
        let config = SwarmConfig {
            host: docker.config().host.clone(),
            ..config
        };
        Ok(Self {
            docker,
            config,
            manager_node: std::sync::Arc::new(OnceCell::new()),
        })
    }

    /// The configuration this runtime was built from.
    pub fn config(&self) -> &SwarmConfig {
        &self.config
    }

    /// Where the manager's engine is reached: a socket path or an `http://` address.
    pub fn endpoint(&self) -> &str {
        self.docker.endpoint()
    }

    /// The manager's client, as the Docker backend negotiated it.
    pub(crate) async fn client(&self) -> Result<&Docker, Error> {
        self.docker.client().await
    }

    fn err(&self, action: &'static str, object: Object, source: bollard::errors::Error) -> Error {
        self.docker.err(action, object, source)
    }

    /// The manager's node id, asked once; an engine that is no Swarm manager is an error that
    /// says how to make it one.
    async fn manager_node(&self) -> Result<&str, Error> {
        let id = self
            .manager_node
            .get_or_try_init(|| async {
                let docker = self.client().await?;
                let info = docker
                    .info()
                    .await
                    .map_err(|e| self.err("asking for the Swarm state of", Object::Engine, e))?;
                let swarm = info.swarm.unwrap_or_default();
                match (swarm.control_available, swarm.node_id) {
                    (Some(true), Some(id)) if !id.is_empty() => Ok(id),
                    _ => Err(Error::NotManager {
                        endpoint: self.endpoint().to_owned(),
                        state: swarm
                            .local_node_state
                            .map_or_else(|| "unknown".to_owned(), |s| format!("node state {s}")),
                    }),
                }
            })
            .await?;
        Ok(id)
    }

    /// The service `id` (an id or a name).
    async fn service(&self, docker: &Docker, id: &str) -> Result<Service, Error> {
        docker
            .inspect_service(id, None::<InspectServiceOptions>)
            .await
            .map_err(|e| self.err("inspecting", Object::Service(id.to_owned()), e))
    }

    /// The tasks of the services `ids` (full ids), all of them in one request.
    pub(crate) async fn tasks_of(
        &self,
        docker: &Docker,
        ids: &[String],
    ) -> Result<Vec<Task>, Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let options = ListTasksOptions {
            filters: Some(HashMap::from([("service".to_owned(), ids.to_vec())])),
        };
        docker
            .list_tasks(Some(options))
            .await
            .map_err(|e| self.err("listing the tasks of", Object::Engine, e))
    }

    /// The services carrying every label in `labels`.
    pub(crate) async fn services(
        &self,
        docker: &Docker,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<Service>, Error> {
        let options = ListServicesOptions {
            filters: Some(convert::label_filters(labels)),
            status: None,
        };
        docker
            .list_services(Some(options))
            .await
            .map_err(|e| self.err("listing services of", Object::Engine, e))
    }

    /// The [`ContainerInfo`] of a service, from its tasks (of which those of other services are
    /// ignored).
    async fn info(
        &self,
        docker: &Docker,
        svc: Service,
        tasks: &[Task],
    ) -> Result<ContainerInfo, Error> {
        let id = svc.id.ok_or(Error::Reply {
            object: Object::Engine,
            field: "ID of a service",
        })?;
        let own: Vec<Task> = tasks
            .iter()
            .filter(|t| t.service_id.as_deref() == Some(id.as_str()))
            .cloned()
            .collect();
        let task = tasks::current(&own);
        let spec = svc.spec.as_ref();
        let name = spec.and_then(|s| s.name.clone()).unwrap_or_default();
        let labels = spec::labels_of(spec);
        let mut info =
            ContainerInfo::new(id, name, spec::image_of(spec), tasks::container_state(task));
        let port = labels.get(labels::PORT).and_then(|p| p.parse::<u16>().ok());
        info.address = match (task, port) {
            (Some(task), Some(port)) => {
                self.address(docker, task, spec::network_of(spec), port)
                    .await
            }
            _ => None,
        };
        info.labels = labels;
        Ok(info)
    }

    /// Where the server of `task` listens: with host networking the node's address, else the
    /// container's address on its network (read from the manager's engine, where services on
    /// named networks run).
    async fn address(
        &self,
        docker: &Docker,
        task: &Task,
        network: Option<String>,
        port: u16,
    ) -> Option<SocketAddr> {
        if network.as_deref() == Some("host") {
            let node = docker.inspect_node(task.node_id.as_deref()?).await.ok()?;
            let addr: IpAddr = node.status?.addr?.parse().ok()?;
            return Some(SocketAddr::new(addr, port));
        }
        let container = tasks::container_id(task)?;
        let resp = docker
            .inspect_container(
                container,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
            .ok()?;
        convert::info_from_inspect(resp, container).ok()?.address
    }

    /// Waits until the task of the new service `id` runs; see the type's docs for the errors.
    /// Each new stage of the task goes to `progress`.
    async fn wait_started(
        &self,
        docker: &Docker,
        id: &str,
        spec: &ContainerSpec,
        progress: StartProgressFn<'_>,
    ) -> Result<()> {
        let started = Instant::now();
        let mut unschedulable_since: Option<Instant> = None;
        let mut last = None;
        let mut last_stage = None;
        let ids = [id.to_owned()];
        loop {
            let all = self.tasks_of(docker, &ids).await?;
            let now = tasks::start(tasks::current(&all));
            if last.as_ref() != Some(&now) {
                tracing::debug!(service = %spec.name, state = ?now, "swarm task");
                last = Some(now.clone());
            }
            if let Some(stage) = tasks::stage(&now)
                && last_stage.as_ref() != Some(&stage)
            {
                progress(stage.clone());
                last_stage = Some(stage);
            }
            match now {
                Start::Running => return Ok(()),
                Start::Ended { state, cause } if tasks::image_missing(&cause) => {
                    return Err(lticontainer_core::Error::not_found(format!(
                        "image \"{}\" on the node chosen for service \"{}\" (task {state}: {cause})",
                        spec.image, spec.name
                    )));
                }
                Start::Ended { state, cause } => {
                    return Err(Error::Task {
                        service: spec.name.clone(),
                        state: state.to_string(),
                        cause,
                    }
                    .into());
                }
                Start::Unschedulable(reason) => {
                    let since = *unschedulable_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= self.config.schedule_timeout() {
                        return Err(Error::Task {
                            service: spec.name.clone(),
                            state: format!(
                                "pending, no node took it within {:?}",
                                self.config.schedule_timeout()
                            ),
                            cause: reason,
                        }
                        .into());
                    }
                }
                Start::Progressing(_) => unschedulable_since = None,
            }
            if started.elapsed() >= self.config.start_timeout() {
                return Err(Error::Task {
                    service: spec.name.clone(),
                    state: format!("{last:?}"),
                    cause: format!("it did not run within {:?}", self.config.start_timeout()),
                }
                .into());
            }
            tokio::time::sleep(STEP).await;
        }
    }

    /// The node and container of service `id`'s current task; `None` while it has none.
    /// A missing service is `NotFound`.
    async fn current_container(&self, id: &str) -> Result<Option<(String, String)>> {
        let docker = self.client().await?;
        let svc = self.service(docker, id).await?;
        let ids: Vec<String> = svc.id.into_iter().collect();
        let all = self.tasks_of(docker, &ids).await?;
        Ok(tasks::current(&all).and_then(|task| {
            let container = tasks::container_id(task)?;
            let node = task.node_id.as_deref().unwrap_or("?");
            Some((node.to_owned(), container.to_owned()))
        }))
    }

    /// The [`Phase`] of every service carrying `labels`, by service id: what [`events`] compares.
    async fn phases(&self, labels: &BTreeMap<String, String>) -> Result<HashMap<String, Phase>> {
        let docker = self.client().await?;
        let mut attempt = 0;
        let (ids, all) = loop {
            let services = self.services(docker, labels).await?;
            let ids: Vec<String> = services.iter().filter_map(|s| s.id.clone()).collect();
            match self.tasks_of(docker, &ids).await {
                Ok(all) => break (ids, all),
                Err(Error::Engine { source, .. }) if is_missing(&source) && attempt < RACES => {
                    attempt += 1;
                }
                Err(e) => return Err(e.into()),
            }
        };
        Ok(ids
            .into_iter()
            .map(|id| {
                let own: Vec<Task> = all
                    .iter()
                    .filter(|t| t.service_id.as_deref() == Some(id.as_str()))
                    .cloned()
                    .collect();
                let phase = Phase::from(&tasks::container_state(tasks::current(&own)));
                (id, phase)
            })
            .collect())
    }

    /// Removes a service that did not start; a failure here is logged, the start error wins.
    async fn discard(&self, id: &str) {
        if let Err(e) = self.remove(id).await {
            tracing::warn!(service = id, error = %e, "could not remove a service that did not start");
        }
    }

    /// Waits (up to `within`) until the manager's engine holds no container of service `id`.
    async fn wait_containers_gone(
        &self,
        docker: &Docker,
        id: &str,
        within: Duration,
    ) -> Result<(), Error> {
        let deadline = Instant::now() + within;
        let options = ListContainersOptions {
            all: true,
            filters: Some(HashMap::from([(
                "label".to_owned(),
                vec![format!("{SERVICE_ID_LABEL}={id}")],
            )])),
            ..Default::default()
        };
        loop {
            let left = docker
                .list_containers(Some(options.clone()))
                .await
                .map_err(|e| {
                    self.err(
                        "listing the containers of",
                        Object::Service(id.to_owned()),
                        e,
                    )
                })?;
            if left.is_empty() || Instant::now() >= deadline {
                if !left.is_empty() {
                    tracing::warn!(
                        service = id,
                        left = left.len(),
                        "the service's containers are still there"
                    );
                }
                return Ok(());
            }
            tokio::time::sleep(STEP).await;
        }
    }
}

#[async_trait]
impl Runtime for SwarmRuntime {
    fn backend(&self) -> &'static str {
        SWARM_BACKEND
    }

    async fn ensure_image(&self, image: &str, progress: ProgressFn<'_>) -> Result<()> {
        self.docker.ensure_image(image, progress).await
    }

    async fn has_image(&self, image: &str) -> Result<bool> {
        self.docker.has_image(image).await
    }

    async fn ensure_volume(&self, name: &str, labels: &BTreeMap<String, String>) -> Result<()> {
        self.docker.ensure_volume(name, labels).await
    }

    async fn create_network(&self, net: &NetworkSpec) -> Result<NetworkInfo> {
        net.validate()?;
        let docker = self.client().await?;
        let object = || Object::Network(net.name.clone());
        self.docker
            .refuse_existing_network(docker, &net.name)
            .await?;
        let config = spec::config_network_request(net);
        let config_name = config.name.clone();
        docker
            .create_network(config)
            .await
            .map_err(|e| self.err("creating the configuration of", object(), e))?;
        match docker
            .create_network(spec::swarm_network_request(net))
            .await
        {
            Ok(created) => Ok(NetworkInfo::from_spec(created.id, net)),
            Err(e) => {
                if let Err(e) = docker.remove_network(&config_name).await {
                    tracing::warn!(network = %config_name, error = %chain(&e), "could not remove a network configuration");
                }
                let exists = status_of(&e) == Some(409);
                let err = self.err("creating", object(), e);
                Err(if exists {
                    lticontainer_core::Error::already_exists(format!("network \"{}\"", net.name))
                } else {
                    err.into()
                })
            }
        }
    }

    async fn remove_network(&self, name: &str) -> Result<()> {
        let docker = self.client().await?;
        match docker.remove_network(name).await {
            Ok(()) => {}
            Err(e) if status_of(&e) == Some(404) => {}
            Err(e) => {
                return Err(self
                    .err("removing", Object::Network(name.to_owned()), e)
                    .into());
            }
        }
        // The node lets go of the configuration once its local copy of the network is gone.
        let config = format!("{name}{CONFIG_SUFFIX}");
        let deadline = Instant::now() + NETWORK_RELEASE;
        loop {
            match docker.remove_network(&config).await {
                Ok(()) => return Ok(()),
                Err(e) if status_of(&e) == Some(404) => return Ok(()),
                Err(e)
                    if Instant::now() < deadline
                        && message_of(&e).is_some_and(|m| m.contains("in use")) =>
                {
                    tokio::time::sleep(STEP).await;
                }
                Err(e) => return Err(self.err("removing", Object::Network(config), e).into()),
            }
        }
    }

    async fn list_networks(&self, labels: &BTreeMap<String, String>) -> Result<Vec<NetworkInfo>> {
        let listed = self.docker.list_networks(labels).await?;
        Ok(spec::by_configuration(listed))
    }

    async fn create_and_start(&self, spec: &ContainerSpec) -> Result<ContainerInfo> {
        self.create_and_start_reporting(spec, &|_| {}).await
    }

    async fn create_and_start_reporting(
        &self,
        spec: &ContainerSpec,
        progress: StartProgressFn<'_>,
    ) -> Result<ContainerInfo> {
        spec.validate()?;
        let docker = self.client().await?;
        let manager_node = self.manager_node().await?;
        let body = spec::service_spec(spec, &self.config, &Pin { manager_node })?;
        let created = match docker.create_service(body, None).await {
            Ok(created) => created,
            Err(e) => {
                let msg = message_of(&e).unwrap_or_default().to_ascii_lowercase();
                let object = if is_missing(&e) && msg.contains("network") {
                    Object::Network(spec.network.as_str().to_owned())
                } else {
                    Object::Container(spec.name.clone())
                };
                return Err(self.err("creating the service of", object, e).into());
            }
        };
        let id = created.id.ok_or(Error::Reply {
            object: Object::Service(spec.name.clone()),
            field: "ID",
        })?;
        if let Err(e) = self.wait_started(docker, &id, spec, progress).await {
            self.discard(&id).await;
            return Err(e);
        }
        self.inspect(&id).await
    }

    async fn inspect(&self, id: &str) -> Result<ContainerInfo> {
        let docker = self.client().await?;
        let svc = self.service(docker, id).await?;
        let ids: Vec<String> = svc.id.clone().into_iter().collect();
        let tasks = self.tasks_of(docker, &ids).await?;
        Ok(self.info(docker, svc, &tasks).await?)
    }

    async fn stop(&self, id: &str, grace: Duration) -> Result<()> {
        let docker = self.client().await?;
        let svc = self.service(docker, id).await?;
        let service_id = svc.id.clone().unwrap_or_else(|| id.to_owned());
        let mut spec = svc.spec.clone().unwrap_or_default();
        let replicas = spec
            .mode
            .as_ref()
            .and_then(|m| m.replicated.as_ref())
            .and_then(|r| r.replicas);
        if replicas != Some(0) {
            spec.mode = Some(ServiceSpecMode {
                replicated: Some(ServiceSpecModeReplicated { replicas: Some(0) }),
                ..Default::default()
            });
            let version = svc.version.and_then(|v| v.index).unwrap_or_default();
            let options = UpdateServiceOptions {
                version: i32::try_from(version).unwrap_or(i32::MAX),
                ..Default::default()
            };
            docker
                .update_service(&service_id, spec, options, None)
                .await
                .map_err(|e| self.err("scaling to zero", Object::Service(id.to_owned()), e))?;
        }
        let deadline = Instant::now()
            + grace
            + self.config.stop_grace()
            + self.docker.config().request_timeout();
        let ids = [service_id];
        loop {
            let all = self.tasks_of(docker, &ids).await?;
            let ended = tasks::current(&all).is_none_or(|t| tasks::is_ended(tasks::state(t)));
            if ended {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(lticontainer_core::Error::unavailable(
                    SWARM_BACKEND,
                    format!(
                        "the task of service \"{id}\" did not end within {grace:?} of being scaled to zero"
                    ),
                ));
            }
            tokio::time::sleep(STEP).await;
        }
    }

    async fn remove(&self, id: &str) -> Result<()> {
        let docker = self.client().await?;
        let service_id = match self.service(docker, id).await {
            Ok(svc) => svc.id.unwrap_or_else(|| id.to_owned()),
            Err(Error::Engine { source, .. }) if status_of(&source) == Some(404) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        match docker.delete_service(&service_id).await {
            Ok(()) => {}
            Err(e) if status_of(&e) == Some(404) => {}
            Err(e) => {
                return Err(self
                    .err("removing", Object::Service(id.to_owned()), e)
                    .into());
            }
        }
        let within = self.config.stop_grace() + self.docker.config().request_timeout();
        Ok(self
            .wait_containers_gone(docker, &service_id, within)
            .await?)
    }

    async fn list(&self, labels: &BTreeMap<String, String>) -> Result<Vec<ContainerInfo>> {
        let docker = self.client().await?;
        let services = self.services(docker, labels).await?;
        let ids: Vec<String> = services.iter().filter_map(|s| s.id.clone()).collect();
        let tasks = self.tasks_of(docker, &ids).await?;
        let mut out = Vec::with_capacity(services.len());
        for svc in services {
            out.push(self.info(docker, svc, &tasks).await?);
        }
        Ok(out)
    }

    async fn logs(&self, id: &str, tail: usize) -> Result<String> {
        let Some((node, container)) = self.current_container(id).await? else {
            return Ok(String::new());
        };
        match self.docker.logs(&container, tail).await {
            Err(e) if e.is_not_found() => Ok(format!(
                "(the logs of service \"{id}\" are on node {node}, container {container})\n"
            )),
            other => other,
        }
    }

    async fn memory_usage(&self, id: &str) -> Result<MemoryUsage> {
        let Some((node, container)) = self.current_container(id).await? else {
            return Ok(MemoryUsage::default());
        };
        match self.docker.memory_usage(&container).await {
            Err(e) if e.is_not_found() => Err(lticontainer_core::Error::unavailable(
                SWARM_BACKEND,
                format!(
                    "the memory use of service \"{id}\" is on node {node} (container {container}); \
                     the manager reads only its own node's containers"
                ),
            )),
            other => other,
        }
    }

    async fn events(&self, labels: &BTreeMap<String, String>) -> Result<EventStream> {
        let (rt, labels) = (self.clone(), labels.clone());
        let list = move || {
            let (rt, labels) = (rt.clone(), labels.clone());
            async move { rt.phases(&labels).await }
        };
        events::subscribe(list, self.config.events_poll()).await
    }
}
