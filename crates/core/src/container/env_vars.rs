//! [`EnvVars`]: a container's environment, sorted by name.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Index;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A container's environment: one value per name, iterated in byte order of the names (the
/// order engines show them in). Names are usually constants (`"NB_USER".into()`), so they are
/// borrowed when they can be.
///
/// It is a sorted vector rather than a tree: the spawn plan builds the whole environment
/// (some forty variables) already in order, so it is stored as it is built, and lookups are
/// a binary search. It serialises as a JSON object.
///
/// # Example
/// ```
/// use lticontainer_core::container::EnvVars;
/// let mut env = EnvVars::new();
/// env.insert("NB_USER".into(), "alice".into());
/// env.insert("HOME".into(), "/home/alice".into());
/// assert_eq!(env["NB_USER"], "alice");
/// assert_eq!(env.keys().collect::<Vec<_>>(), ["HOME", "NB_USER"]);
/// assert_eq!(env.insert("NB_USER".into(), "bob".into()).as_deref(), Some("alice"));
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct EnvVars {
    /// Sorted by name, names unique.
    vars: Vec<(Cow<'static, str>, String)>,
}

impl EnvVars {
    /// An empty environment.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes `vars` as they are when they are sorted by name without repeats (the spawn plan
    /// builds them so); otherwise inserts them one by one, a later value winning.
    pub(crate) fn from_vec(vars: Vec<(Cow<'static, str>, String)>) -> Self {
        if vars.is_sorted_by(|a, b| a.0 < b.0) {
            Self { vars }
        } else {
            vars.into_iter().collect()
        }
    }

    fn position(&self, name: &str) -> Result<usize, usize> {
        self.vars.binary_search_by(|(k, _)| k.as_ref().cmp(name))
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        let i = self.position(name).ok()?;
        Some(self.vars[i].1.as_str())
    }

    /// True when `name` is set.
    pub fn contains_key(&self, name: &str) -> bool {
        self.position(name).is_ok()
    }

    /// Sets `name` to `value`; returns the value it replaced.
    pub fn insert(&mut self, name: Cow<'static, str>, value: String) -> Option<String> {
        match self.position(&name) {
            Ok(i) => Some(std::mem::replace(&mut self.vars[i].1, value)),
            Err(i) => {
                self.vars.insert(i, (name, value));
                None
            }
        }
    }

    /// Unsets `name`; returns its value.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        let i = self.position(name).ok()?;
        Some(self.vars.remove(i).1)
    }

    /// The number of variables.
    pub fn len(&self) -> usize {
        self.vars.len()
    }

    /// True when no variable is set.
    pub fn is_empty(&self) -> bool {
        self.vars.is_empty()
    }

    /// `(name, value)` pairs, sorted by name.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.vars.iter().map(|(k, v)| (k.as_ref(), v.as_str()))
    }

    /// The names, sorted.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.vars.iter().map(|(k, _)| k.as_ref())
    }
}

impl Index<&str> for EnvVars {
    type Output = String;

    /// The value of `name`.
    ///
    /// # Panics
    /// When `name` is not set (as `BTreeMap` indexing does).
    fn index(&self, name: &str) -> &String {
        match self.position(name) {
            Ok(i) => &self.vars[i].1,
            Err(_) => panic!("the environment has no variable {name:?}"),
        }
    }
}

impl Extend<(Cow<'static, str>, String)> for EnvVars {
    fn extend<I: IntoIterator<Item = (Cow<'static, str>, String)>>(&mut self, vars: I) {
        for (name, value) in vars {
            self.insert(name, value);
        }
    }
}

impl FromIterator<(Cow<'static, str>, String)> for EnvVars {
    fn from_iter<I: IntoIterator<Item = (Cow<'static, str>, String)>>(vars: I) -> Self {
        let mut env = Self::new();
        env.extend(vars);
        env
    }
}

/// One stored variable as `(name, value)`.
type Var = (Cow<'static, str>, String);

impl<'a> IntoIterator for &'a EnvVars {
    type Item = (&'a str, &'a str);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, Var>, fn(&'a Var) -> (&'a str, &'a str)>;

    fn into_iter(self) -> Self::IntoIter {
        self.vars.iter().map(|(k, v)| (k.as_ref(), v.as_str()))
    }
}

impl fmt::Debug for EnvVars {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for EnvVars {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for EnvVars {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, String>::deserialize(deserializer)?;
        Ok(Self {
            vars: map.into_iter().map(|(k, v)| (Cow::Owned(k), v)).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Inserts, removals and lookups agree with a `BTreeMap`.
        #[test]
        fn agrees_with_a_btreemap(ops in proptest::collection::vec(("[a-d]{0,2}", proptest::option::of("[a-z]{0,3}")), 0..40)) {
            let mut env = EnvVars::new();
            let mut model = BTreeMap::new();
            for (name, value) in &ops {
                match value {
                    Some(v) => proptest::prop_assert_eq!(
                        env.insert(Cow::Owned(name.clone()), v.clone()),
                        model.insert(name.clone(), v.clone())
                    ),
                    None => proptest::prop_assert_eq!(env.remove(name), model.remove(name)),
                }
            }
            proptest::prop_assert!(env.iter().eq(model.iter().map(|(k, v)| (k.as_str(), v.as_str()))));
            for (name, _) in &ops {
                proptest::prop_assert_eq!(env.get(name), model.get(name).map(String::as_str));
                proptest::prop_assert_eq!(env.contains_key(name), model.contains_key(name));
            }
            let unsorted: Vec<(Cow<'static, str>, String)> =
                ops.iter().map(|(k, v)| (Cow::Owned(k.clone()), v.clone().unwrap_or_default())).collect();
            let last_wins: BTreeMap<&str, String> =
                ops.iter().map(|(k, v)| (k.as_str(), v.clone().unwrap_or_default())).collect();
            let built = EnvVars::from_vec(unsorted);
            proptest::prop_assert!(built.iter().eq(last_wins.iter().map(|(k, v)| (*k, v.as_str()))));
        }
    }

    #[test]
    fn serialises_as_an_object() {
        let env: EnvVars = [("B".into(), "2".to_owned()), ("A".into(), "1".to_owned())]
            .into_iter()
            .collect();
        let json = serde_json::to_value(&env).expect("serialises");
        assert_eq!(json, serde_json::json!({"A": "1", "B": "2"}));
        let back: EnvVars = serde_json::from_value(json).expect("deserialises");
        assert_eq!(back, env);
        assert_eq!(format!("{env:?}"), r#"{"A": "1", "B": "2"}"#);
    }

    #[test]
    #[should_panic(expected = "no variable \"X\"")]
    fn indexing_a_missing_name_panics() {
        let _ = &EnvVars::new()["X"];
    }
}
