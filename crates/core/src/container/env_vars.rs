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
/// The spawn plan builds the whole environment (some forty variables) already in name order,
/// so it is kept as built: the names in a sorted vector (lookups are a binary search) and all
/// values one after another in a single string, which saves a tree and an allocation per
/// variable on every launch. It serialises as a JSON object.
///
/// # Example
/// ```
/// use lticontainer_core::container::EnvVars;
/// let mut env = EnvVars::new();
/// env.insert("NB_USER".into(), "alice".into());
/// env.insert("HOME".into(), "/home/alice".into());
/// assert_eq!(&env["NB_USER"], "alice");
/// assert_eq!(env.keys().collect::<Vec<_>>(), ["HOME", "NB_USER"]);
/// assert_eq!(env.insert("NB_USER".into(), "bob".into()).as_deref(), Some("alice"));
/// ```
#[derive(Clone, Default)]
pub struct EnvVars {
    /// The values, one after another (a replaced or removed value stays as unused bytes).
    text: String,
    /// Sorted by name, names unique; the value is `text[start..end]`.
    vars: Vec<Var>,
}

/// One variable: its name and where its value lies in [`EnvVars::text`].
type Var = (Cow<'static, str>, usize, usize);

impl EnvVars {
    /// An empty environment.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty environment with room for `vars` variables whose values total `text` bytes.
    pub(crate) fn with_capacity(vars: usize, text: usize) -> Self {
        Self {
            text: String::with_capacity(text),
            vars: Vec::with_capacity(vars),
        }
    }

    /// Sets `name` to the value `write` appends to the string it is given. Made for building an
    /// environment in name order: when `name` sorts after every name so far, the value is
    /// written in place; otherwise it is set as [`EnvVars::insert`] sets it.
    pub(crate) fn push_with(&mut self, name: Cow<'static, str>, write: impl FnOnce(&mut String)) {
        if self
            .vars
            .last()
            .is_none_or(|(last, _, _)| last.as_ref() < name.as_ref())
        {
            let start = self.text.len();
            write(&mut self.text);
            self.vars.push((name, start, self.text.len()));
        } else {
            let mut value = String::new();
            write(&mut value);
            self.insert(name, value);
        }
    }

    fn position(&self, name: &str) -> Result<usize, usize> {
        self.vars.binary_search_by(|(k, _, _)| k.as_ref().cmp(name))
    }

    fn value(&self, var: &Var) -> &str {
        &self.text[var.1..var.2]
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        let i = self.position(name).ok()?;
        Some(self.value(&self.vars[i]))
    }

    /// True when `name` is set.
    pub fn contains_key(&self, name: &str) -> bool {
        self.position(name).is_ok()
    }

    /// Sets `name` to `value`; returns the value it replaced.
    pub fn insert(&mut self, name: Cow<'static, str>, value: String) -> Option<String> {
        let start = self.text.len();
        self.text.push_str(&value);
        let end = self.text.len();
        match self.position(&name) {
            Ok(i) => {
                let old = self.value(&self.vars[i]).to_owned();
                self.vars[i] = (name, start, end);
                Some(old)
            }
            Err(i) => {
                self.vars.insert(i, (name, start, end));
                None
            }
        }
    }

    /// Unsets `name`; returns its value.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        let i = self.position(name).ok()?;
        let var = self.vars.remove(i);
        Some(self.value(&var).to_owned())
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
        self.vars
            .iter()
            .map(|var| (var.0.as_ref(), self.value(var)))
    }

    /// The names, sorted.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.vars.iter().map(|(k, _, _)| k.as_ref())
    }
}

impl Index<&str> for EnvVars {
    type Output = str;

    /// The value of `name`.
    ///
    /// # Panics
    /// When `name` is not set (as `BTreeMap` indexing does).
    fn index(&self, name: &str) -> &str {
        match self.get(name) {
            Some(value) => value,
            None => panic!("the environment has no variable {name:?}"),
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

impl<'a> IntoIterator for &'a EnvVars {
    type Item = (&'a str, &'a str);
    type IntoIter = Box<dyn ExactSizeIterator<Item = (&'a str, &'a str)> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl PartialEq for EnvVars {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for EnvVars {}

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
        let mut env = Self::with_capacity(map.len(), map.values().map(String::len).sum());
        for (name, value) in map {
            env.push_with(Cow::Owned(name), |text| text.push_str(&value));
        }
        Ok(env)
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
            let mut pushed = EnvVars::new();
            for (k, v) in &ops {
                pushed.push_with(Cow::Owned(k.clone()), |text| text.push_str(v.as_deref().unwrap_or_default()));
            }
            let last_wins: BTreeMap<&str, &str> =
                ops.iter().map(|(k, v)| (k.as_str(), v.as_deref().unwrap_or_default())).collect();
            proptest::prop_assert!(pushed.iter().eq(last_wins.iter().map(|(k, v)| (*k, *v))));
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
        let _ = EnvVars::new()["X"].len();
    }
}
