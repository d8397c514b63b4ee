//! governor's DashMap state store with an exact count of tracked clients, so
//! the hard cap costs one atomic load per request instead of `DashMap::len`
//! (which locks every shard).

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use governor::nanos::Nanos;
use governor::state::keyed::{DashMapStateStore, ShrinkableKeyedStateStore};
use governor::state::{InMemoryState, NotKeyed, StateStore};

#[derive(Debug, Default)]
pub(super) struct Tracked {
    map: DashMapStateStore<IpAddr>,
    len: AtomicUsize,
}

impl Tracked {
    #[inline]
    pub(super) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    #[inline]
    pub(super) fn contains(&self, key: &IpAddr) -> bool {
        self.map.contains_key(key)
    }

    pub(super) fn capacity(&self) -> usize {
        self.map.capacity()
    }
}

/// The store handed to governor; [`Tracked`] is shared with the limiter
/// wrapper so it can read the count and look keys up.
#[derive(Debug)]
pub(super) struct CountingStore(pub(super) Arc<Tracked>);

impl StateStore for CountingStore {
    type Key = IpAddr;

    #[inline]
    fn measure_and_replace<T, F, E>(&self, key: &IpAddr, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let tracked = &*self.0;
        if let Some(state) = tracked.map.get(key) {
            return state.measure_and_replace(&NotKeyed::NonKey, f);
        }
        let mut inserted = false;
        let state = tracked.map.entry(*key).or_insert_with(|| {
            inserted = true;
            InMemoryState::default()
        });
        if inserted {
            tracked.len.fetch_add(1, Ordering::Relaxed);
        }
        state.measure_and_replace(&NotKeyed::NonKey, f)
    }
}

impl ShrinkableKeyedStateStore<IpAddr> for CountingStore {
    fn retain_recent(&self, drop_below: Nanos) {
        let tracked = &*self.0;
        ShrinkableKeyedStateStore::retain_recent(&tracked.map, drop_below);
        tracked.len.store(tracked.map.len(), Ordering::Relaxed);
    }

    fn shrink_to_fit(&self) {
        self.0.map.shrink_to_fit();
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn is_empty(&self) -> bool {
        self.0.len() == 0
    }
}
