//! [`LaunchParams`]: the parameters of a verified launch, looked up by name.

use std::fmt;

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::byte_order::{prefix_key, sort_keyed};
use crate::form::FormParams;

/// The parameters of a launch by name: every parameter except the `oauth_*` ones, the last
/// value winning for a name sent twice, iterated in byte order of the names.
///
/// It keeps the decoded form as it is (one text buffer) plus a sorted index into it, so
/// building it from a launch copies one buffer instead of allocating a string per parameter.
/// It serialises as a JSON object.
///
/// # Example
/// ```
/// use lticontainer_core::launch::LaunchParams;
/// let params: LaunchParams =
///     [("b", "1"), ("oauth_nonce", "n"), ("custom_x", "1"), ("custom_x", "2")].into_iter().collect();
/// assert_eq!(params.get("custom_x"), Some("2"));
/// assert_eq!(params.get("oauth_nonce"), None);
/// assert_eq!(params.iter().collect::<Vec<_>>(), [("b", "1"), ("custom_x", "2")]);
/// assert_eq!(params.with_prefix("custom_").count(), 1);
/// ```
#[derive(Clone, Default)]
pub struct LaunchParams {
    pairs: FormParams,
    /// Indices into `pairs` with the sort key of their names, sorted by name: one per name
    /// (its last value), no `oauth_*`. Lookups compare keys and read a name only on a tie.
    by_name: Vec<(u128, usize)>,
}

impl LaunchParams {
    /// Indexes `pairs` (taken as they are, in sending order).
    pub fn from_form(pairs: FormParams) -> Self {
        let mut keyed: Vec<(u128, usize)> = pairs
            .iter()
            .enumerate()
            .filter(|(_, (name, _))| !name.starts_with("oauth_"))
            .map(|(i, (name, _))| (prefix_key(name.as_bytes()), i))
            .collect();
        // Equal names sort by descending index, so the first of each run is the last sent.
        sort_keyed(&mut keyed, |a, b| {
            name_at(&pairs, a).cmp(name_at(&pairs, b)).then(b.cmp(&a))
        });
        keyed.dedup_by(|later, kept| {
            later.0 == kept.0 && name_at(&pairs, later.1) == name_at(&pairs, kept.1)
        });
        Self {
            pairs,
            by_name: keyed,
        }
    }

    /// The value of the parameter `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        let key = prefix_key(name.as_bytes());
        let i = self
            .by_name
            .binary_search_by(|&(k, i)| k.cmp(&key).then_with(|| name_at(&self.pairs, i).cmp(name)))
            .ok()?;
        Some(self.pair(i).1)
    }

    /// True when the launch carries the parameter `name`.
    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The number of distinct parameter names.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// True when there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// The `(name, value)` pairs, sorted by name.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&str, &str)> + ExactSizeIterator + '_ {
        (0..self.by_name.len()).map(|i| self.pair(i))
    }

    /// The names, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.iter().map(|(name, _)| name)
    }

    /// The `(name, value)` pairs whose name starts with `prefix`, sorted by name.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> {
        // A key below the prefix's means a name below it, one above means a name above it
        // (keys never contradict byte order); only equal keys need the names.
        let key = prefix_key(prefix.as_bytes());
        let first = self
            .by_name
            .partition_point(|&(k, i)| k < key || (k == key && name_at(&self.pairs, i) < prefix));
        (first..self.by_name.len())
            .map(|i| self.pair(i))
            .take_while(move |(name, _)| name.starts_with(prefix))
    }

    /// The `i`-th pair in name order.
    fn pair(&self, i: usize) -> (&str, &str) {
        self.pairs
            .get(self.by_name[i].1)
            .unwrap_or_else(|| unreachable!("the index holds only positions of `pairs`"))
    }
}

/// The name of the pair at `index` of `pairs`.
fn name_at(pairs: &FormParams, index: usize) -> &str {
    pairs.get(index).map_or("", |(name, _)| name)
}

impl From<FormParams> for LaunchParams {
    fn from(pairs: FormParams) -> Self {
        Self::from_form(pairs)
    }
}

impl From<&FormParams> for LaunchParams {
    fn from(pairs: &FormParams) -> Self {
        Self::from_form(pairs.clone())
    }
}

impl<K: AsRef<str>, V: AsRef<str>> From<&[(K, V)]> for LaunchParams {
    fn from(pairs: &[(K, V)]) -> Self {
        Self::from_form(pairs.into())
    }
}

impl<K: AsRef<str>, V: AsRef<str>> From<&Vec<(K, V)>> for LaunchParams {
    fn from(pairs: &Vec<(K, V)>) -> Self {
        Self::from(pairs.as_slice())
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> From<&[(K, V); N]> for LaunchParams {
    fn from(pairs: &[(K, V); N]) -> Self {
        Self::from(pairs.as_slice())
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for LaunchParams {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        Self::from_form(pairs.into_iter().collect())
    }
}

impl PartialEq for LaunchParams {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for LaunchParams {}

impl fmt::Debug for LaunchParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for LaunchParams {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (name, value) in self.iter() {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    proptest::proptest! {
        /// Lookups, iteration and prefixes agree with a `BTreeMap` filled in sending order.
        #[test]
        fn agrees_with_a_btreemap(pairs in proptest::collection::vec(("(custom_|oauth_|c)?[a-c]{0,2}", "[a-z]{0,3}"), 0..24)) {
            let params: LaunchParams = pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            let model: BTreeMap<&str, &str> = pairs
                .iter()
                .filter(|(n, _)| !n.starts_with("oauth_"))
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            proptest::prop_assert!(params.iter().eq(model.iter().map(|(n, v)| (*n, *v))));
            proptest::prop_assert_eq!(params.len(), model.len());
            for (name, _) in &pairs {
                proptest::prop_assert_eq!(params.get(name), model.get(name.as_str()).copied());
            }
            proptest::prop_assert_eq!(params.get("zz"), None);
            for prefix in ["custom_", "c", "", "custom_a"] {
                let want: Vec<_> = model.iter().filter(|(n, _)| n.starts_with(prefix)).map(|(n, v)| (*n, *v)).collect();
                proptest::prop_assert_eq!(params.with_prefix(prefix).collect::<Vec<_>>(), want);
            }
        }
    }

    #[test]
    fn serialises_as_an_object_and_compares_by_content() {
        let a: LaunchParams = [("b", "2"), ("a", "1"), ("a", "3")].into_iter().collect();
        let b: LaunchParams = [("a", "3"), ("b", "2")].into_iter().collect();
        assert_eq!(a, b);
        assert_eq!(
            serde_json::to_value(&a).unwrap(),
            serde_json::json!({"a": "3", "b": "2"})
        );
        assert_eq!(format!("{a:?}"), r#"{"a": "3", "b": "2"}"#);
        assert!(a.contains_key("b") && !a.contains_key("c"));
        assert_eq!(a.keys().collect::<Vec<_>>(), ["a", "b"]);
    }
}
