//! [`NetworkMode`]: which network user containers join, as both engine backends configure it.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The network a container joins; written in configuration as one string.
///
/// `"host"` shares the host's network namespace, `"bridge"` (or `"default"`) is the engine's
/// default bridge network, and any other string names a network created on the engine
/// (`docker network create` / `podman network create`). Every string is one of the three, so
/// backends match on it exhaustively.
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
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for NetworkMode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        if s.trim().is_empty() {
            return Err(serde::de::Error::custom(
                "network must be \"host\", \"bridge\" or a network name, not empty",
            ));
        }
        Ok(Self::from(s.as_str()))
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
}
