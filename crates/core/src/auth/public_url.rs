//! The public launch URL: the URL the LMS signed, which is not always the URL the hub sees.
//!
//! Behind a TLS-terminating reverse proxy the hub receives `http://127.0.0.1:8000/…` while
//! Moodle signed `https://hub.school.edu/…`; the scheme, host or port in the base string then
//! differ and every signature fails. This is the most common LTI interop failure in the field
//! (ltiauthenticator #4 and #1, Open edX, OpenLRS; see docs/peers.md, "Launch URL pitfalls").
//! So the hub signs against:
//!
//! 1. the configured [`PublicUrlConfig::base_url`] when set (the robust choice: it does not
//!    depend on any header);
//! 2. else `X-Forwarded-Proto` / `X-Forwarded-Host`, but only when the peer is one of the
//!    configured [`PublicUrlConfig::trusted_proxies`] — from anyone else these headers are
//!    ignored, since a client could otherwise pick the URL its forged signature is checked
//!    against;
//! 3. else the scheme the hub itself serves and the `Host` header.
//!
//! The RFC 7239 `Forwarded` header is not read; proxies that only send it need `base_url`.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::Deserialize;

use super::LaunchError;

/// An IP network in CIDR notation (`10.0.0.0/8`, `::1/128`), or a single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpCidr {
    addr: IpAddr,
    prefix: u8,
}

impl IpCidr {
    /// True when `ip` lies in this network. IPv4-mapped IPv6 peers (`::ffff:10.0.0.1`) count as
    /// their IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr.to_canonical(), ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpCidr {
    type Err = crate::Error;

    fn from_str(s: &str) -> crate::Result<Self> {
        let bad = || {
            crate::Error::invalid(format!(
                "{s:?} is not an IP address or CIDR network (e.g. 10.0.0.0/8, 127.0.0.1, ::1/128)"
            ))
        };
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|&p| p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(Self { addr, prefix })
    }
}

impl fmt::Display for IpCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl<'de> Deserialize<'de> for IpCidr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Where the public launch URL comes from. Deserialises from the hub's configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct PublicUrlConfig {
    /// The URL students reach the hub at, as configured in the LMS, without the path the hub
    /// sees: `https://hub.school.edu`, or `https://school.edu/jupyter` when the proxy strips a
    /// `/jupyter` prefix before forwarding. Wins over any header. Default: none.
    pub base_url: Option<String>,
    /// Peers whose `X-Forwarded-Proto` / `X-Forwarded-Host` are believed (addresses or CIDR
    /// networks). Default: none, so the headers are ignored.
    pub trusted_proxies: Vec<IpCidr>,
}

impl PublicUrlConfig {
    /// Sets the public base URL.
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// True when `peer` is one of the [`PublicUrlConfig::trusted_proxies`], whose `X-Forwarded-*`
    /// headers the hub believes.
    pub fn trusts(&self, peer: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|p| p.contains(peer))
    }

    /// Adds a trusted proxy.
    pub fn with_trusted_proxy(mut self, proxy: IpCidr) -> Self {
        self.trusted_proxies.push(proxy);
        self
    }

    /// Checks that `base_url` is an absolute `http(s)` URL with a host and no query or fragment.
    ///
    /// # Errors
    /// [`crate::Error::InvalidInput`] naming the value and what is expected.
    pub fn validate(&self) -> crate::Result<()> {
        let Some(base) = &self.base_url else {
            return Ok(());
        };
        let bad = |why: &str| {
            crate::Error::invalid(format!(
                "public base_url {base:?} {why}; expected e.g. https://hub.school.edu or https://school.edu/jupyter"
            ))
        };
        if base.contains(['?', '#']) {
            return Err(bad("has a query or fragment"));
        }
        let (scheme, rest) = base.split_once("://").ok_or_else(|| bad("has no scheme"))?;
        if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
            return Err(bad("is neither http nor https"));
        }
        let host = rest.split('/').next().unwrap_or_default();
        if !valid_host(host) {
            return Err(bad("has no valid host"));
        }
        Ok(())
    }
}

/// What the hub knows about one incoming request, for [`public_launch_url`].
#[derive(Debug, Clone, Copy)]
pub struct RequestOrigin<'a> {
    /// The TCP peer's address.
    pub peer: IpAddr,
    /// Whether the hub itself terminated TLS for this request.
    pub tls: bool,
    /// The `Host` header.
    pub host: Option<&'a str>,
    /// The `X-Forwarded-Proto` header.
    pub forwarded_proto: Option<&'a str>,
    /// The `X-Forwarded-Host` header.
    pub forwarded_host: Option<&'a str>,
    /// The request's path and query as the hub received it, e.g. `/hub/lti/launch?x=1`.
    pub path_and_query: &'a str,
}

/// A host (with optional port) holds only characters a URL authority may hold.
fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~[]:".contains(&b))
}

/// The first entry of a comma-separated forwarded header: the value the first proxy (the one
/// the student's browser reached) set.
fn first(value: &str) -> &str {
    value.split(',').next().unwrap_or_default().trim()
}

/// The scheme the student's browser used: the configured base URL's; else, from a trusted
/// proxy, the first entry of its `X-Forwarded-Proto`; else the hub's own (`https` when it
/// terminated TLS). The launch URL and the proxy's `X-Forwarded-Proto` both come from here.
///
/// # Errors
/// [`LaunchError::Malformed`] when a trusted proxy's `X-Forwarded-Proto` is neither `http` nor
/// `https`.
pub fn public_scheme(
    config: &PublicUrlConfig,
    origin: &RequestOrigin<'_>,
) -> Result<&'static str, LaunchError> {
    if let Some(base) = &config.base_url {
        let https = base
            .get(..6)
            .is_some_and(|s| s.eq_ignore_ascii_case("https:"));
        return Ok(if https { "https" } else { "http" });
    }
    let own_scheme = if origin.tls { "https" } else { "http" };
    if !config.trusts(origin.peer) {
        return Ok(own_scheme);
    }
    match origin.forwarded_proto.map(first) {
        None | Some("") => Ok(own_scheme),
        Some(p) if p.eq_ignore_ascii_case("https") => Ok("https"),
        Some(p) if p.eq_ignore_ascii_case("http") => Ok("http"),
        Some(p) => Err(LaunchError::Malformed {
            reason: format!(
                "the trusted proxy {} sent X-Forwarded-Proto {p:?}; expected http or https",
                origin.peer
            ),
        }),
    }
}

/// The URL the launch was signed against; see the module docs for the order of sources.
///
/// # Errors
/// [`LaunchError::Malformed`] when no source yields a usable URL: no `Host` header, a host with
/// characters a host cannot have, or a trusted proxy's `X-Forwarded-Proto` that is neither
/// `http` nor `https`.
///
/// # Example
/// ```
/// use lticontainer_core::auth::{public_launch_url, PublicUrlConfig, RequestOrigin};
/// let config = PublicUrlConfig::default().with_trusted_proxy("10.0.0.0/8".parse().unwrap());
/// let origin = RequestOrigin {
///     peer: "10.1.2.3".parse().unwrap(),
///     tls: false,
///     host: Some("127.0.0.1:8000"),
///     forwarded_proto: Some("https"),
///     forwarded_host: Some("hub.school.edu"),
///     path_and_query: "/hub/lti/launch",
/// };
/// assert_eq!(public_launch_url(&config, &origin).unwrap(), "https://hub.school.edu/hub/lti/launch");
/// ```
pub fn public_launch_url(
    config: &PublicUrlConfig,
    origin: &RequestOrigin<'_>,
) -> Result<String, LaunchError> {
    let path = if origin.path_and_query.starts_with('/') {
        origin.path_and_query.to_owned()
    } else {
        format!("/{}", origin.path_and_query)
    };
    if let Some(base) = &config.base_url {
        return Ok(format!("{}{path}", base.trim_end_matches('/')));
    }
    let scheme = public_scheme(config, origin)?;
    let host = if config.trusts(origin.peer) {
        let forwarded = origin.forwarded_host.map(first).filter(|h| !h.is_empty());
        forwarded.or(origin.host)
    } else {
        origin.host
    };
    let host = host.map(str::trim).ok_or_else(|| LaunchError::Malformed {
        reason: "the request has no Host header, so the launch URL is unknown; \
                 set the hub's public base_url"
            .to_owned(),
    })?;
    if !valid_host(host) {
        return Err(LaunchError::Malformed {
            reason: format!("the host {host:?} is not a valid host[:port]"),
        });
    }
    Ok(format!("{scheme}://{host}{path}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cidr_parsing_and_matching() {
        let net: IpCidr = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains("10.255.0.1".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.0.0.1".parse().unwrap()));
        let one: IpCidr = "127.0.0.1".parse().unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        let all: IpCidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
        assert!(!all.contains("::2".parse().unwrap()));
        let v6: IpCidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!(!v6.contains("fe80::1".parse().unwrap()));
        assert_eq!(v6.to_string(), "fd00::/8");
        for bad in ["10.0.0.0/33", "::/129", "hub.school.edu", "10.0.0.0/x", ""] {
            assert!(bad.parse::<IpCidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn validate_base_url() {
        let ok = PublicUrlConfig::default().with_base_url("https://school.edu/jupyter/");
        ok.validate().unwrap();
        PublicUrlConfig::default().validate().unwrap();
        for bad in [
            "school.edu",
            "ftp://school.edu",
            "https://",
            "https://a b",
            "https://x/?q",
        ] {
            let err = PublicUrlConfig::default()
                .with_base_url(bad)
                .validate()
                .unwrap_err();
            assert!(err.to_string().contains("base_url"), "{err}");
        }
    }
}
