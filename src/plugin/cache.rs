//! The compiled modules of this process, bounded by bytes of compiled code and by count: when
//! a module is added past either bound, the least recently used module that is not active is
//! evicted first (an active one only when nothing else is left). It also remembers, for a
//! while, a module that failed to load here, so a claim does not compile it again and again.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use super::Failure;

/// How long a module that failed to load here is not tried again.
pub const REFUSAL_MEMORY: Duration = Duration::from_secs(60);

/// Compiled modules by SHA-256, with their sizes and when they were last used.
pub struct Cache<T> {
    entries: HashMap<String, Entry<T>>,
    active: HashSet<String>,
    refused: HashMap<String, (Failure, Instant)>,
    tick: u64,
    bytes: usize,
    max_bytes: usize,
    max_modules: usize,
}

struct Entry<T> {
    value: T,
    size: usize,
    used: u64,
}

impl<T: Clone> Cache<T> {
    /// An empty cache of at most `max_modules` modules and `max_bytes` bytes.
    pub fn new(max_bytes: usize, max_modules: usize) -> Cache<T> {
        Cache {
            entries: HashMap::new(),
            active: HashSet::new(),
            refused: HashMap::new(),
            tick: 0,
            bytes: 0,
            max_bytes,
            max_modules: max_modules.max(1),
        }
    }

    /// The module of `sha256`, marked as just used.
    pub fn get(&mut self, sha256: &str) -> Option<T> {
        self.tick += 1;
        let entry = self.entries.get_mut(sha256)?;
        entry.used = self.tick;
        Some(entry.value.clone())
    }

    /// Why `sha256` failed to load here, if it did within [`REFUSAL_MEMORY`].
    pub fn refusal(&mut self, sha256: &str) -> Option<Failure> {
        match self.refused.get(sha256) {
            Some((failure, at)) if at.elapsed() < REFUSAL_MEMORY => Some(failure.clone()),
            Some(_) => {
                self.refused.remove(sha256);
                None
            }
            None => None,
        }
    }

    /// Adds a module of `size` bytes and evicts past the bounds; the new module stays.
    pub fn insert(&mut self, sha256: &str, value: T, size: usize) {
        self.tick += 1;
        self.refused.remove(sha256);
        if let Some(old) = self.entries.insert(
            sha256.to_owned(),
            Entry {
                value,
                size,
                used: self.tick,
            },
        ) {
            self.bytes -= old.size;
        }
        self.bytes += size;
        self.evict(sha256);
    }

    /// Remembers that `sha256` failed to load (bounded like the modules themselves).
    pub fn refuse(&mut self, sha256: &str, failure: Failure) {
        if self.refused.len() >= self.max_modules {
            self.refused
                .retain(|_, (_, at)| at.elapsed() < REFUSAL_MEMORY);
        }
        if self.refused.len() < self.max_modules {
            self.refused
                .insert(sha256.to_owned(), (failure, Instant::now()));
        }
    }

    /// The modules some seller has active: evicted last.
    pub fn set_active(&mut self, active: HashSet<String>) {
        self.active = active;
    }

    /// Modules held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Bytes of compiled code held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    fn evict(&mut self, keep: &str) {
        while self.entries.len() > self.max_modules || self.bytes > self.max_bytes {
            let victim = self
                .entries
                .iter()
                .filter(|(sha, _)| sha.as_str() != keep)
                .min_by_key(|(sha, e)| (self.active.contains(sha.as_str()), e.used))
                .map(|(sha, _)| sha.clone());
            let Some(victim) = victim else { break };
            if let Some(gone) = self.entries.remove(&victim) {
                self.bytes -= gone.size;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::plugin::FailureReason;

    fn set(shas: &[&str]) -> HashSet<String> {
        shas.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_least_recently_used_inactive_module_goes_first() {
        let mut cache = Cache::new(1_000, 3);
        cache.insert("a", 'a', 100);
        cache.insert("b", 'b', 100);
        cache.insert("c", 'c', 100);
        cache.set_active(set(&["a"]));
        assert_eq!(cache.get("b"), Some('b'));
        cache.insert("d", 'd', 100);
        // a is active and b was used after c: c goes.
        assert_eq!(cache.get("c"), None);
        assert_eq!(cache.len(), 3);
        assert_eq!(cache.bytes(), 300);
        for sha in ["a", "b", "d"] {
            assert!(cache.get(sha).is_some(), "{sha} is kept");
        }
    }

    #[test]
    fn bytes_bound_it_too_and_active_modules_go_only_when_nothing_else_is_left() {
        let mut cache = Cache::new(250, 100);
        cache.set_active(set(&["a", "b"]));
        cache.insert("a", 1, 100);
        cache.insert("b", 2, 100);
        cache.insert("x", 3, 100);
        assert_eq!(cache.get("x"), Some(3), "the module just added stays");
        assert_eq!(cache.get("a"), None, "the older active module made room");
        assert_eq!(cache.bytes(), 200);
        // One module over the whole bound is kept alone.
        cache.insert("huge", 4, 1_000);
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.bytes(), 1_000);
    }

    #[test]
    fn a_refusal_is_remembered_and_cleared_by_a_successful_load() {
        let mut cache = Cache::new(1_000, 2);
        let failure = Failure {
            reason: FailureReason::Unavailable,
            message: "too slow to compile".into(),
            fuel_used: 0,
        };
        cache.refuse("a", failure.clone());
        assert_eq!(cache.refusal("a"), Some(failure.clone()));
        cache.insert("a", (), 10);
        assert_eq!(cache.refusal("a"), None);
        // Bounded like the modules.
        for sha in ["b", "c", "d"] {
            cache.refuse(sha, failure.clone());
        }
        assert!(cache.refused.len() <= 2);
    }
}
