//! [`server_network`]: the network a user's server joins with isolated networking, and
//! [`server_api_url`], the hub API URL its server calls there. Pure, like [`crate::server_spec`].

use std::collections::BTreeMap;

use lticontainer_core::container::labels;
use lticontainer_core::network::NetworkSpec;

use crate::config::{HubConfig, Networking, SERVER_SUBNET_PREFIX};

/// The network of `user`'s server (container `container_name`) on `port`, with isolated
/// networking: named `<container name>-net`, on the `/28` of `hub.network_pool` at the port's
/// place in `hub.port_min..=hub.port_max` (so two servers never share a subnet), its gateway
/// (the host's address, where the hub API answers) the subnet's first address, its bridge
/// `ltc<subnet in hex>`, labelled with the hub instance and the user. `None` with host
/// networking, or for a port outside the range.
///
/// ```
/// use lticontainer_hub::HubConfig;
/// use lticontainer_hub::server_network::{server_api_url, server_network};
///
/// let hub = HubConfig::default(); // isolated, pool 10.213.0.0/16, ports from 20000
/// let net = server_network(&hub, "lticontainer", "alice", "lticontainer-alice", 20001).unwrap();
/// assert_eq!(net.name, "lticontainer-alice-net");
/// assert_eq!(net.subnet.to_string(), "10.213.0.16/28");
/// assert_eq!(server_api_url(&hub, &net), "http://10.213.0.17:8081/hub/api");
/// ```
pub fn server_network(
    hub: &HubConfig,
    hub_instance: &str,
    user: &str,
    container_name: &str,
    port: u16,
) -> Option<NetworkSpec> {
    if hub.network != Networking::Isolated {
        return None;
    }
    let slot = u64::from(port.checked_sub(hub.port_min)?);
    let subnet = hub.network_pool.nth_subnet(SERVER_SUBNET_PREFIX, slot)?;
    let mut net = NetworkSpec::new(format!("{container_name}-net"), subnet);
    net.labels = user_labels(hub_instance, user);
    Some(net)
}

/// `JUPYTERHUB_API_URL` of a server on `net`: its gateway, on `hub.container_api_port`.
pub fn server_api_url(hub: &HubConfig, net: &NetworkSpec) -> String {
    format!("http://{}:{}/hub/api", net.gateway, hub.container_api_port)
}

/// The labels of everything the hub makes for `user`: the hub instance and the user.
pub(crate) fn user_labels(hub_instance: &str, user: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (labels::MANAGED_BY.to_owned(), hub_instance.to_owned()),
        (labels::USER.to_owned(), user.to_owned()),
    ])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn each_port_gets_its_own_subnet_and_host_networking_none() {
        let hub = HubConfig::default();
        let first = server_network(&hub, "h", "a", "h-a", 20000).unwrap();
        let last = server_network(&hub, "h", "b", "h-b", 20999).unwrap();
        assert_eq!(first.subnet.to_string(), "10.213.0.0/28");
        assert_eq!(first.gateway.to_string(), "10.213.0.1");
        assert_eq!(first.interface, "ltc0ad50000");
        assert_eq!(last.subnet.to_string(), "10.213.62.112/28");
        assert_eq!(first.labels["lticontainer.hub"], "h");
        assert_eq!(first.labels["lticontainer.user"], "a");
        first.validate().unwrap();
        assert!(server_network(&hub, "h", "a", "h-a", 19999).is_none());
        let host = HubConfig {
            network: Networking::Host,
            ..HubConfig::default()
        };
        assert!(server_network(&host, "h", "a", "h-a", 20000).is_none());
    }
}
