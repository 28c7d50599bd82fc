//! Networks: which network a container joins ([`NetworkMode`]), the per-user bridge networks the
//! hub creates ([`NetworkSpec`], described back as [`NetworkInfo`]) and their IPv4 subnets
//! ([`Ipv4Subnet`]).

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::engine_name::is_valid_engine_name;
use crate::{Error, Result};

/// The network a container joins; written in configuration as one string.
///
/// `"host"` shares the host's network namespace, `"bridge"` (or `"default"`) is the engine's
/// default bridge network, and any other string names a network created on the engine (by
/// [`Runtime::create_network`](crate::Runtime::create_network), or by hand). Every string is one
/// of the three, so backends match on it exhaustively.
///
/// ```
/// use lticontainer_core::network::NetworkMode;
///
/// assert_eq!(NetworkMode::from("host"), NetworkMode::Host);
/// assert_eq!(NetworkMode::from("jupyter").to_string(), "jupyter");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum NetworkMode {
    /// Share the host's network namespace; the server is reached on `127.0.0.1:<port>`.
    #[default]
    Host,
    /// The engine's default bridge; the server is reached on the container's bridge address.
    Bridge,
    /// A user-defined network, by name; the server is reached on the container's address there.
    Named(String),
}

impl NetworkMode {
    /// The configuration spelling, which is also the engine's name for the mode or network.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Host => "host",
            Self::Bridge => "bridge",
            Self::Named(name) => name,
        }
    }

    /// True for [`NetworkMode::Host`].
    pub fn is_host(&self) -> bool {
        matches!(self, Self::Host)
    }
}

impl From<&str> for NetworkMode {
    fn from(s: &str) -> Self {
        match s {
            "host" => Self::Host,
            "bridge" | "default" => Self::Bridge,
            other => Self::Named(other.to_owned()),
        }
    }
}

impl fmt::Display for NetworkMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for NetworkMode {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for NetworkMode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        if s.trim().is_empty() {
            return Err(serde::de::Error::custom(
                "network must be \"host\", \"bridge\" or a network name, not empty",
            ));
        }
        Ok(Self::from(s.as_str()))
    }
}

/// An IPv4 network in CIDR form, `10.213.0.16/28`: an address without host bits and a prefix
/// length.
///
/// ```
/// use std::net::Ipv4Addr;
/// use lticontainer_core::network::Ipv4Subnet;
///
/// let pool: Ipv4Subnet = "10.213.0.0/16".parse().unwrap();
/// let third = pool.nth_subnet(28, 2).unwrap();
/// assert_eq!(third.to_string(), "10.213.0.32/28");
/// assert_eq!(third.host(1), Some(Ipv4Addr::new(10, 213, 0, 33)));
/// assert_eq!(pool.subnet_count(28), 4096);
/// assert!("10.213.0.1/16".parse::<Ipv4Subnet>().is_err()); // host bits set
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv4Subnet {
    addr: Ipv4Addr,
    prefix: u8,
}

impl Ipv4Subnet {
    /// The subnet `addr/prefix`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `prefix` is above 32 or `addr` has bits set past the prefix.
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Result<Self> {
        if prefix > 32 {
            return Err(Error::invalid(format!(
                "{addr}/{prefix}: a prefix length is at most 32"
            )));
        }
        if u32::from(addr) & !mask(prefix) != 0 {
            let net = Ipv4Addr::from(u32::from(addr) & mask(prefix));
            return Err(Error::invalid(format!(
                "{addr}/{prefix} has host bits set; the network is {net}/{prefix}"
            )));
        }
        Ok(Self { addr, prefix })
    }

    /// The subnet of length `prefix` that contains `ip` (`prefix` is capped at 32).
    pub fn containing(ip: Ipv4Addr, prefix: u8) -> Self {
        let prefix = prefix.min(32);
        Self {
            addr: Ipv4Addr::from(u32::from(ip) & mask(prefix)),
            prefix,
        }
    }

    /// The network address.
    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix_len(&self) -> u8 {
        self.prefix
    }

    /// How many addresses the subnet spans, network and broadcast included.
    pub fn size(&self) -> u64 {
        1u64 << (32 - u32::from(self.prefix))
    }

    /// True when `ip` lies in the subnet.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & mask(self.prefix) == u32::from(self.addr)
    }

    /// True when the two subnets share an address.
    pub fn overlaps(&self, other: &Self) -> bool {
        self.contains(other.addr) || other.contains(self.addr)
    }

    /// How many subnets of length `prefix` fit in this one (0 when `prefix` is shorter).
    pub fn subnet_count(&self, prefix: u8) -> u64 {
        if prefix < self.prefix || prefix > 32 {
            0
        } else {
            1u64 << (prefix - self.prefix)
        }
    }

    /// The `n`-th (from 0) subnet of length `prefix` inside this one, if there is one.
    pub fn nth_subnet(&self, prefix: u8, n: u64) -> Option<Self> {
        if n >= self.subnet_count(prefix) {
            return None;
        }
        let step = 1u64 << (32 - u32::from(prefix));
        let start = u64::from(u32::from(self.addr)) + n * step;
        Some(Self {
            addr: Ipv4Addr::from(u32::try_from(start).ok()?),
            prefix,
        })
    }

    /// The `n`-th address of the subnet counted from its network address (`host(1)` is the
    /// first usable one); `None` past the last address before the broadcast address.
    pub fn host(&self, n: u32) -> Option<Ipv4Addr> {
        if u64::from(n) + 1 >= self.size() {
            return None;
        }
        Some(Ipv4Addr::from(u32::from(self.addr) + n))
    }
}

fn mask(prefix: u8) -> u32 {
    match prefix {
        0 => 0,
        p => u32::MAX << (32 - u32::from(p.min(32))),
    }
}

impl fmt::Display for Ipv4Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl FromStr for Ipv4Subnet {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::invalid(format!("{s:?} is not an IPv4 subnet like 10.213.0.0/16"));
        let (addr, prefix) = s.trim().split_once('/').ok_or_else(bad)?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        Self::new(addr, prefix)
    }
}

impl Serialize for Ipv4Subnet {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Ipv4Subnet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The longest name Linux gives a network interface (`IFNAMSIZ` − 1).
pub const MAX_INTERFACE_NAME: usize = 15;

/// A bridge network for one user's containers, as
/// [`Runtime::create_network`](crate::Runtime::create_network) creates it.
///
/// The host's side of the network is the bridge interface [`interface`](Self::interface), which
/// holds [`gateway`](Self::gateway): the host reaches the containers on the network, and they
/// reach the host at the gateway address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NetworkSpec {
    /// The network's name on the engine (a valid engine name, like a container's).
    pub name: String,
    /// Its IPv4 subnet.
    pub subnet: Ipv4Subnet,
    /// The host's address on it (the bridge's); by default the subnet's first address.
    pub gateway: Ipv4Addr,
    /// The name of the host's bridge interface (at most [`MAX_INTERFACE_NAME`] bytes of
    /// `[A-Za-z0-9_-]`), so the host side can be found and configured.
    pub interface: String,
    /// Labels, e.g. [`labels::MANAGED_BY`](crate::container::labels::MANAGED_BY) and
    /// [`labels::USER`](crate::container::labels::USER).
    pub labels: BTreeMap<String, String>,
}

impl NetworkSpec {
    /// A network named `name` on `subnet`, its gateway the subnet's first address, its bridge
    /// interface [`bridge_name`]`(subnet)`, without labels.
    ///
    /// ```
    /// use lticontainer_core::network::NetworkSpec;
    ///
    /// let spec = NetworkSpec::new("lticontainer-alice-net", "10.213.0.16/28".parse().unwrap());
    /// assert_eq!(spec.gateway.to_string(), "10.213.0.17");
    /// assert_eq!(spec.interface, "ltc0ad50010");
    /// assert!(spec.validate().is_ok());
    /// ```
    pub fn new(name: impl Into<String>, subnet: Ipv4Subnet) -> Self {
        Self {
            name: name.into(),
            subnet,
            gateway: subnet.host(1).unwrap_or(subnet.addr()),
            interface: bridge_name(subnet),
            labels: BTreeMap::new(),
        }
    }

    /// Checks what engines would refuse or misread.
    ///
    /// * [`name`](Self::name) is a valid engine name, `[a-zA-Z0-9][a-zA-Z0-9_.-]*`;
    /// * the subnet leaves room for the gateway and at least one container (prefix ≤ 30);
    /// * the gateway is a host address of the subnet (not its network or broadcast address);
    /// * the interface name is 1–15 bytes of `[A-Za-z0-9_-]`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] saying what is wrong.
    pub fn validate(&self) -> Result<()> {
        if !is_valid_engine_name(&self.name) {
            return Err(Error::invalid(format!(
                "network name {:?} is not a valid engine name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)",
                self.name
            )));
        }
        if self.subnet.prefix_len() > 30 {
            return Err(Error::invalid(format!(
                "network {:?}: subnet {} has no room for a gateway and a container (prefix at most /30)",
                self.name, self.subnet
            )));
        }
        let usable = self.subnet.contains(self.gateway)
            && self.gateway != self.subnet.addr()
            && u64::from(u32::from(self.gateway) - u32::from(self.subnet.addr()))
                < self.subnet.size() - 1;
        if !usable {
            return Err(Error::invalid(format!(
                "network {:?}: gateway {} is not a host address of {}",
                self.name, self.gateway, self.subnet
            )));
        }
        let b = self.interface.as_bytes();
        if b.is_empty()
            || b.len() > MAX_INTERFACE_NAME
            || !b
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-'))
        {
            return Err(Error::invalid(format!(
                "network {:?}: interface name {:?} must be 1-{MAX_INTERFACE_NAME} bytes of [A-Za-z0-9_-]",
                self.name, self.interface
            )));
        }
        Ok(())
    }
}

/// The host bridge interface name for a network on `subnet`: `ltc` and the subnet's address in
/// eight hex digits (`10.213.0.16/28` → `ltc0ad50010`). Subnets of the networks on one host do
/// not overlap, so neither do these names.
pub fn bridge_name(subnet: Ipv4Subnet) -> String {
    format!("ltc{:08x}", u32::from(subnet.addr()))
}

/// What a [`Runtime`](crate::Runtime) knows about one network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NetworkInfo {
    /// Engine id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its (first) IPv4 subnet, when it has one.
    pub subnet: Option<Ipv4Subnet>,
    /// The host's address on it, when the engine reports one.
    pub gateway: Option<Ipv4Addr>,
    /// The host's bridge interface, when the engine reports it.
    pub interface: Option<String>,
}

impl NetworkInfo {
    /// An info record with an id and a name; backends fill the fields they know.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            labels: BTreeMap::new(),
            subnet: None,
            gateway: None,
            interface: None,
        }
    }

    /// What a network created from `spec` is, as far as the spec says.
    pub fn from_spec(id: impl Into<String>, spec: &NetworkSpec) -> Self {
        Self {
            id: id.into(),
            name: spec.name.clone(),
            labels: spec.labels.clone(),
            subnet: Some(spec.subnet),
            gateway: Some(spec.gateway),
            interface: Some(spec.interface.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde() {
        for (text, mode) in [
            ("host", NetworkMode::Host),
            ("bridge", NetworkMode::Bridge),
            ("jupyter-net", NetworkMode::Named("jupyter-net".into())),
        ] {
            let parsed: NetworkMode =
                serde_json::from_value(serde_json::Value::String(text.into())).expect("parses");
            assert_eq!(parsed, mode);
            assert_eq!(
                serde_json::to_value(&mode).expect("serialises"),
                serde_json::Value::String(text.into())
            );
        }
        assert_eq!(NetworkMode::from("default"), NetworkMode::Bridge);
    }

    #[test]
    fn an_empty_name_is_rejected() {
        let err = serde_json::from_str::<NetworkMode>(r#"" ""#).expect_err("empty");
        assert!(err.to_string().contains("network"), "{err}");
    }

    #[test]
    fn subnets_parse_split_and_count() {
        let pool: Ipv4Subnet = "10.213.0.0/16".parse().expect("parses");
        assert_eq!(pool.size(), 65536);
        assert_eq!(pool.subnet_count(28), 4096);
        assert_eq!(pool.subnet_count(8), 0);
        assert_eq!(
            pool.nth_subnet(28, 0).expect("first").to_string(),
            "10.213.0.0/28"
        );
        assert_eq!(
            pool.nth_subnet(28, 4095).expect("last").to_string(),
            "10.213.255.240/28"
        );
        assert!(pool.nth_subnet(28, 4096).is_none());
        let s = pool.nth_subnet(28, 1).expect("second");
        assert_eq!(s.host(1), Some(Ipv4Addr::new(10, 213, 0, 17)));
        assert_eq!(s.host(14), Some(Ipv4Addr::new(10, 213, 0, 30)));
        assert_eq!(s.host(15), None, "the broadcast address is no host");
        assert!(s.contains(Ipv4Addr::new(10, 213, 0, 31)));
        assert!(!s.contains(Ipv4Addr::new(10, 213, 0, 32)));
        assert_eq!(Ipv4Subnet::containing(Ipv4Addr::new(10, 213, 0, 18), 28), s);
        assert!(pool.overlaps(&s) && s.overlaps(&pool));
        assert!(!s.overlaps(&pool.nth_subnet(28, 2).expect("third")));
        let all: Ipv4Subnet = "0.0.0.0/0".parse().expect("parses");
        assert!(all.contains(Ipv4Addr::new(192, 0, 2, 1)));
        assert_eq!(all.size(), 1 << 32);
    }

    #[test]
    fn bad_subnets_say_why() {
        for (text, needle) in [
            ("10.213.0.1/16", "host bits"),
            ("10.213.0.0/33", "at most 32"),
            ("10.213.0.0", "not an IPv4 subnet"),
            ("fd00::/64", "not an IPv4 subnet"),
            ("10.213.0.0/x", "not an IPv4 subnet"),
        ] {
            let err = text.parse::<Ipv4Subnet>().expect_err(text).to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
        let parsed: Ipv4Subnet = serde_json::from_str(r#""10.213.0.0/16""#).expect("serde");
        assert_eq!(
            serde_json::to_string(&parsed).expect("ser"),
            r#""10.213.0.0/16""#
        );
        assert!(serde_json::from_str::<Ipv4Subnet>(r#""10.213.0.0/99""#).is_err());
    }

    #[test]
    fn network_specs_are_checked() {
        let subnet: Ipv4Subnet = "10.213.0.16/28".parse().expect("parses");
        let ok = NetworkSpec::new("lticontainer-alice-net", subnet);
        ok.validate().expect("valid");
        let mut bad = ok.clone();
        bad.name = "a b".into();
        assert!(bad.validate().is_err());
        let mut bad = ok.clone();
        bad.gateway = Ipv4Addr::new(10, 213, 0, 31);
        assert!(
            bad.validate()
                .expect_err("invalid")
                .to_string()
                .contains("gateway")
        );
        let mut bad = ok.clone();
        bad.gateway = Ipv4Addr::new(10, 213, 0, 16);
        assert!(bad.validate().is_err());
        let mut bad = ok.clone();
        bad.interface = "a-much-too-long-name".into();
        assert!(
            bad.validate()
                .expect_err("invalid")
                .to_string()
                .contains("interface")
        );
        let mut bad = ok;
        bad.subnet = "10.213.0.16/31".parse().expect("parses");
        assert!(
            bad.validate()
                .expect_err("invalid")
                .to_string()
                .contains("/30")
        );
    }
}
