//! S3 Bucket Keys (docs/aws-behaviour.md §2): one bucket-level key per (requester,
//! bucket, KMS key), fetched from KMS and kept for a lifetime; per-object keys
//! are derived from it locally. GETs decrypt a Bucket Key once per requester per
//! lifetime. Concurrent misses share one KMS call.

use crate::clock::Clock;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

/// A cached plaintext key with the time it was fetched.
#[derive(Clone)]
pub struct Cached {
    /// The Bucket Key in plaintext.
    pub plaintext: [u8; 32],
    /// The Bucket Key as KMS encrypted it.
    pub blob: Arc<Vec<u8>>,
    fetched: Duration,
}

/// A lifetime-bounded cache in which concurrent misses for one entry wait for a single fetch.
pub struct LifetimeCache<K> {
    lifetime: Duration,
    clock: Clock,
    slots: Mutex<HashMap<K, Arc<tokio::sync::Mutex<Option<Cached>>>>>,
}

impl<K: Hash + Eq + Clone> LifetimeCache<K> {
    /// An empty cache.
    pub fn new(lifetime: Duration, clock: Clock) -> Self {
        LifetimeCache {
            lifetime,
            clock,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The fresh entry for `key`, or the result of `fetch` stored as the new entry.
    pub async fn get_or_fetch<E, F, Fut>(&self, key: K, fetch: F) -> Result<Cached, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<([u8; 32], Vec<u8>), E>>,
    {
        let slot = self.slots.lock().entry(key).or_default().clone();
        let mut guard = slot.lock().await;
        let now = self.clock.now();
        if let Some(c) = guard.as_ref()
            && now.saturating_sub(c.fetched) < self.lifetime
        {
            return Ok(c.clone());
        }
        let (plaintext, blob) = fetch().await?;
        let c = Cached {
            plaintext,
            blob: Arc::new(blob),
            fetched: self.clock.now(),
        };
        *guard = Some(c.clone());
        Ok(c)
    }
}

/// Key of the PUT-side cache: (requester, bucket, KMS key ARN).
pub type GenKey = (String, String, String);
/// Key of the GET-side cache: (requester, encrypted Bucket Key).
pub type DecKey = (String, Arc<Vec<u8>>);

/// Both sides of S3's Bucket Key state.
pub struct BucketKeys {
    /// Bucket Keys used to encrypt new objects.
    pub generate: LifetimeCache<GenKey>,
    /// Bucket Keys decrypted to read objects.
    pub decrypt: LifetimeCache<DecKey>,
    /// The requester each access key counts as (its role), where it is not itself.
    identities: HashMap<String, String>,
}

impl BucketKeys {
    /// Empty caches with one lifetime; `identities` maps access keys to the requester
    /// they are cached as (docs/aws-behaviour.md §2: sessions of one role are one).
    pub fn new(lifetime: Duration, clock: Clock, identities: HashMap<String, String>) -> Self {
        BucketKeys {
            generate: LifetimeCache::new(lifetime, clock.clone()),
            decrypt: LifetimeCache::new(lifetime, clock),
            identities,
        }
    }

    /// The requester a request signed with `access_key` is, for Bucket Keys.
    pub fn requester<'a>(&'a self, access_key: &'a str) -> &'a str {
        self.identities
            .get(access_key)
            .map_or(access_key, String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn fetches_once_per_lifetime_and_once_under_concurrency() {
        let clock = Clock::manual();
        let cache = Arc::new(LifetimeCache::<u8>::new(
            Duration::from_secs(300),
            clock.clone(),
        ));
        let fetches = Arc::new(AtomicU32::new(0));
        let mut tasks = Vec::new();
        for _ in 0..32 {
            let (cache, fetches) = (cache.clone(), fetches.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_fetch(1, || async {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        tokio::task::yield_now().await;
                        Ok::<_, ()>(([7; 32], vec![1]))
                    })
                    .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap().plaintext, [7; 32]);
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        clock.advance(Duration::from_secs(299));
        cache
            .get_or_fetch(1, || async { Err::<([u8; 32], Vec<u8>), ()>(()) })
            .await
            .unwrap();
        clock.advance(Duration::from_secs(1));
        assert!(
            cache
                .get_or_fetch(1, || async { Err::<([u8; 32], Vec<u8>), ()>(()) })
                .await
                .is_err()
        );
    }
}
