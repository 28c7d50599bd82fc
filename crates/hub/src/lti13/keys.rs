//! [`KeySets`]: the LTI 1.3 platforms' public key sets, fetched from their `key_set_url`,
//! cached, and fetched again when a token names a key the cached set lacks (a key rotation),
//! at most once per [`REFETCH_GAP`] per URL.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lticontainer_core::lti13::{JwkSet, Lti13Error, PlatformConfig};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::analytics::LmsClient;

/// The least time between two fetches of one key set: a flood of tokens with made-up key ids
/// costs the platform at most one request per gap. `Lti13Error::UnknownKey`'s message states it
/// (10 s): change both together.
pub const REFETCH_GAP: Duration = Duration::from_secs(10);

/// How long a fetched key set is used before it is fetched again, so a key the platform
/// withdrew stops verifying within this time.
pub const MAX_AGE: Duration = Duration::from_secs(3600);

/// The most bytes of a key set read (Moodle's is under 1 KiB).
const MAX_KEY_SET_BYTES: usize = 256 * 1024;

/// Where key sets come from: HTTP(S) in the hub ([`LmsClient`]), a fake in tests.
#[async_trait]
pub trait KeySetSource: Send + Sync + Debug + 'static {
    /// The body of a successful GET of `url`.
    ///
    /// # Errors
    /// A one-line reason (no answer, a status other than 200, a body too large).
    async fn fetch(&self, url: &str) -> Result<Vec<u8>, String>;
}

#[async_trait]
impl KeySetSource for LmsClient {
    async fn fetch(&self, url: &str) -> Result<Vec<u8>, String> {
        match self.get(url, MAX_KEY_SET_BYTES).await? {
            (200, body) => Ok(body.to_vec()),
            (status, _) => Err(format!("the platform answered HTTP {status}")),
        }
    }
}

#[derive(Debug)]
struct Cached {
    set: Arc<JwkSet>,
    /// When `set` was fetched.
    fetched: Instant,
    /// When a fetch was last tried (successful or not).
    tried: Instant,
}

/// The platforms' key sets, by URL. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct KeySets {
    source: Arc<dyn KeySetSource>,
    /// One lock for all: fetches are rare, and a second caller waiting for a fetch under way
    /// then finds its result instead of fetching again.
    cache: Mutex<HashMap<String, Cached>>,
}

impl KeySets {
    /// Key sets fetched through `source`.
    pub fn new(source: Arc<dyn KeySetSource>) -> Self {
        Self {
            source,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The key set of `platform` that should hold `kid`: the cached one when it does and is
    /// younger than [`MAX_AGE`]; otherwise fetched again, unless the last fetch was less than
    /// [`REFETCH_GAP`] ago (then the cached set, which lets the verifier refuse the unknown key).
    ///
    /// # Errors
    /// [`Lti13Error::KeySet`] when the set must be fetched, cannot be, and none is cached
    /// (a failed refetch keeps using the cached set, with a warning).
    pub async fn for_kid(
        &self,
        platform: &PlatformConfig,
        kid: &str,
    ) -> Result<Arc<JwkSet>, Lti13Error> {
        let url = &platform.key_set_url;
        let mut cache = self.cache.lock().await;
        if let Some(c) = cache.get(url) {
            let fresh = c.fetched.elapsed() < MAX_AGE;
            if (fresh && c.set.find(kid).is_some()) || c.tried.elapsed() < REFETCH_GAP {
                return Ok(Arc::clone(&c.set));
            }
        }
        let fetched = self
            .source
            .fetch(url)
            .await
            .and_then(|body| JwkSet::parse(&body).map_err(|e| format!("not a JWK set: {e}")));
        match fetched {
            Ok(set) => {
                tracing::info!(issuer = %platform.issuer, %url, keys = set.keys.len(), "LTI 1.3: fetched the platform's key set");
                let set = Arc::new(set);
                cache.insert(
                    url.clone(),
                    Cached {
                        set: Arc::clone(&set),
                        fetched: Instant::now(),
                        tried: Instant::now(),
                    },
                );
                Ok(set)
            }
            Err(reason) => match cache.get_mut(url) {
                Some(c) => {
                    tracing::warn!(issuer = %platform.issuer, %url, %reason, "LTI 1.3: the platform's key set cannot be fetched again; using the cached one");
                    c.tried = Instant::now();
                    Ok(Arc::clone(&c.set))
                }
                None => Err(Lti13Error::KeySet {
                    issuer: platform.issuer.clone(),
                    url: url.clone(),
                    reason,
                }),
            },
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Mutex as StdMutex;

    use lticontainer_core::lti13::PlatformSigner;

    use super::*;

    #[derive(Debug, Default)]
    struct FakeSource {
        sets: StdMutex<Vec<Result<Vec<u8>, String>>>,
        fetches: StdMutex<usize>,
    }

    impl FakeSource {
        fn serving(&self, set: Result<JwkSet, String>) {
            let body = set.map(|s| serde_json::to_vec(&s).unwrap());
            self.sets.lock().unwrap().push(body);
        }
        fn fetches(&self) -> usize {
            *self.fetches.lock().unwrap()
        }
    }

    #[async_trait]
    impl KeySetSource for FakeSource {
        async fn fetch(&self, _url: &str) -> Result<Vec<u8>, String> {
            *self.fetches.lock().unwrap() += 1;
            self.sets
                .lock()
                .unwrap()
                .last()
                .cloned()
                .unwrap_or(Err("none".into()))
        }
    }

    fn platform() -> PlatformConfig {
        PlatformConfig::moodle("https://m", "c")
    }

    #[tokio::test(start_paused = true)]
    async fn a_set_is_cached_and_fetched_again_for_a_new_kid_after_the_gap() {
        let source = Arc::new(FakeSource::default());
        let old = PlatformSigner::test_platform();
        source.serving(Ok(JwkSet::new(vec![old.jwk()])));
        let sets = KeySets::new(source.clone());
        assert!(
            sets.for_kid(&platform(), old.kid())
                .await
                .unwrap()
                .find(old.kid())
                .is_some()
        );
        sets.for_kid(&platform(), old.kid()).await.unwrap();
        assert_eq!(source.fetches(), 1, "a known kid is served from the cache");

        let new = PlatformSigner::test_other();
        source.serving(Ok(JwkSet::new(vec![old.jwk(), new.jwk()])));
        let set = sets.for_kid(&platform(), new.kid()).await.unwrap();
        assert!(
            set.find(new.kid()).is_none(),
            "within the gap the cached set is kept"
        );
        assert_eq!(source.fetches(), 1);

        tokio::time::advance(REFETCH_GAP).await;
        let set = sets.for_kid(&platform(), new.kid()).await.unwrap();
        assert!(
            set.find(new.kid()).is_some(),
            "a rotated key is found after a refetch"
        );
        assert_eq!(source.fetches(), 2);
        sets.for_kid(&platform(), "made-up").await.unwrap();
        assert_eq!(
            source.fetches(),
            2,
            "made-up kids do not refetch within the gap"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_unreachable_platform_is_an_error_until_a_set_is_cached() {
        let source = Arc::new(FakeSource::default());
        source.serving(Err("connection refused".into()));
        let sets = KeySets::new(source.clone());
        let e = sets.for_kid(&platform(), "k").await.unwrap_err();
        assert!(
            matches!(e, Lti13Error::KeySet { .. }) && e.status() == 503,
            "{e}"
        );
        assert!(e.to_string().contains("connection refused"), "{e}");

        let signer = PlatformSigner::test_platform();
        source.serving(Ok(JwkSet::new(vec![signer.jwk()])));
        sets.for_kid(&platform(), signer.kid()).await.unwrap();
        source.serving(Err("down".into()));
        tokio::time::advance(MAX_AGE).await;
        let set = sets.for_kid(&platform(), signer.kid()).await.unwrap();
        assert!(
            set.find(signer.kid()).is_some(),
            "a failed refetch keeps the cached set"
        );
        assert_eq!(source.fetches(), 3);
        sets.for_kid(&platform(), signer.kid()).await.unwrap();
        assert_eq!(source.fetches(), 3, "and waits a gap before trying again");
    }

    #[tokio::test]
    async fn a_body_that_is_no_key_set_is_an_error() {
        let source = Arc::new(FakeSource::default());
        source.sets.lock().unwrap().push(Ok(b"<html>".to_vec()));
        let e = KeySets::new(source)
            .for_kid(&platform(), "k")
            .await
            .unwrap_err();
        assert!(e.to_string().contains("not a JWK set"), "{e}");
    }
}
