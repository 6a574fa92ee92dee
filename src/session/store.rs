//! Many shoppers' sessions under one model, for an edge isolate that serves them all: keyed by a
//! key the server issues, least recently used first out, under a cap in sessions and in bytes,
//! and dropped after an idle time, so the isolate's memory stays flat however many shoppers come.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::Session;
use crate::error::{Error, Result};

/// The longest session key, in bytes (a server-issued id needs far fewer).
pub const MAX_KEY_BYTES: usize = 128;

/// The smallest byte cap a store accepts: room for one session at its largest (its events and
/// the prices it may remember).
pub const MIN_STORE_BYTES: usize = 2 << 20;

/// A store's caps (`{ maxSessions, maxBytes, idleMinutes }` from JavaScript); any other field is
/// refused.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct StoreLimits {
    /// The most sessions kept; past it the least recently used goes. Default 10,000.
    pub max_sessions: usize,
    /// The most bytes the sessions may hold (an estimate, see [`Session::approx_bytes`]); past it
    /// the least recently used go. Default 64 MiB; at least [`MIN_STORE_BYTES`].
    pub max_bytes: usize,
    /// Minutes without a call after which a session is dropped. Default 30.
    pub idle_minutes: f64,
}

impl Default for StoreLimits {
    fn default() -> Self {
        StoreLimits {
            max_sessions: 10_000,
            max_bytes: 64 << 20,
            idle_minutes: 30.0,
        }
    }
}

impl StoreLimits {
    /// Checks every cap; the first bad one is `INVALID_ARGUMENT` naming it.
    pub fn validate(&self) -> Result<()> {
        let bad = |name, reason: String| Err(Error::InvalidArgument { name, reason });
        if !(1..=1_000_000).contains(&self.max_sessions) {
            return bad(
                "maxSessions",
                format!("must be 1 to 1,000,000, got {}", self.max_sessions),
            );
        }
        if self.max_bytes < MIN_STORE_BYTES {
            return bad(
                "maxBytes",
                format!("must be at least {MIN_STORE_BYTES}, got {}", self.max_bytes),
            );
        }
        if !(self.idle_minutes.is_finite() && self.idle_minutes > 0.0) {
            return bad(
                "idleMinutes",
                format!("must be a number above 0, got {}", self.idle_minutes),
            );
        }
        Ok(())
    }
}

/// What a store holds now, against its caps.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreStats {
    /// Sessions held.
    pub sessions: usize,
    /// Their estimated bytes, keys included.
    pub bytes: usize,
    /// The caps in force.
    pub limits: StoreLimits,
}

#[derive(Debug)]
struct Entry {
    session: Session,
    /// Its place in the use order (higher: used later).
    tick: u64,
    last_used_ms: f64,
    bytes: usize,
}

/// Sessions by key, with least-recently-used eviction under [`StoreLimits`].
#[derive(Debug)]
pub struct SessionStore {
    limits: StoreLimits,
    entries: HashMap<String, Entry>,
    /// Keys by their last use, oldest first.
    by_use: BTreeMap<u64, String>,
    next_tick: u64,
    bytes: usize,
}

impl SessionStore {
    /// An empty store under `limits` (validated).
    pub fn new(limits: StoreLimits) -> Result<SessionStore> {
        limits.validate()?;
        Ok(SessionStore {
            limits,
            entries: HashMap::new(),
            by_use: BTreeMap::new(),
            next_tick: 0,
            bytes: 0,
        })
    }

    /// Runs `call` on the session of `key` (a new, empty one if the store has none), at `now_ms`.
    /// Idle sessions are dropped first; after the call, the least recently used others go until
    /// the caps hold again. An error from `call` leaves the session as `call` left it (every
    /// session call changes nothing when it fails), and a session created for it is dropped.
    pub fn with<T>(
        &mut self,
        key: &str,
        now_ms: f64,
        call: impl FnOnce(&mut Session) -> Result<T>,
    ) -> Result<T> {
        check_key(key)?;
        self.drop_idle(now_ms);
        let tick = self.next_tick;
        self.next_tick += 1;
        let created = match self.entries.get(key) {
            Some(held) => {
                self.by_use.remove(&held.tick);
                false
            }
            None => true,
        };
        let entry = self.entries.entry(key.to_owned()).or_insert_with(|| Entry {
            session: Session::new(),
            tick,
            last_used_ms: now_ms,
            bytes: 0,
        });
        entry.tick = tick;
        entry.last_used_ms = now_ms;
        self.by_use.insert(tick, key.to_owned());
        let result = call(&mut entry.session);
        let bytes = entry_bytes(key, &entry.session);
        self.bytes = self.bytes - entry.bytes + bytes;
        entry.bytes = bytes;
        if created && result.is_err() {
            // A refused call leaves no trace, not even an empty session.
            self.remove(key);
        } else {
            self.evict_over_caps(key);
        }
        result
    }

    /// The session of `key`, if the store holds it (not counted as a use).
    pub fn get(&self, key: &str) -> Option<&Session> {
        self.entries.get(key).map(|e| &e.session)
    }

    /// Drops the session of `key`; whether there was one.
    pub fn remove(&mut self, key: &str) -> bool {
        match self.entries.remove(key) {
            Some(entry) => {
                self.by_use.remove(&entry.tick);
                self.bytes -= entry.bytes;
                true
            }
            None => false,
        }
    }

    /// What the store holds, against its caps.
    pub fn stats(&self) -> StoreStats {
        StoreStats {
            sessions: self.entries.len(),
            bytes: self.bytes,
            limits: self.limits.clone(),
        }
    }

    /// Drops every session unused for longer than the idle time.
    fn drop_idle(&mut self, now_ms: f64) {
        let idle_ms = self.limits.idle_minutes * 60_000.0;
        while let Some((_, key)) = self.by_use.first_key_value() {
            let idle = now_ms - self.entries[key].last_used_ms;
            // Only a session idle for longer than the idle time goes (not one at a NaN clock).
            if idle.partial_cmp(&idle_ms) != Some(std::cmp::Ordering::Greater) {
                break;
            }
            let key = key.clone();
            self.remove(&key);
        }
    }

    /// Drops the least recently used sessions, never `keep`, until both caps hold.
    fn evict_over_caps(&mut self, keep: &str) {
        while self.entries.len() > self.limits.max_sessions || self.bytes > self.limits.max_bytes {
            let Some(oldest) = self.by_use.values().find(|k| k.as_str() != keep).cloned() else {
                break;
            };
            self.remove(&oldest);
        }
    }
}

/// What one entry costs: its session, and its key twice (map and use order) with their slots.
fn entry_bytes(key: &str, session: &Session) -> usize {
    session.approx_bytes()
        + 2 * (key.len() + std::mem::size_of::<String>())
        + std::mem::size_of::<Entry>()
        + std::mem::size_of::<u64>()
}

/// A key must be 1 to [`MAX_KEY_BYTES`] bytes.
fn check_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(Error::InvalidArgument {
            name: "session",
            reason: format!(
                "a session key must be 1 to {MAX_KEY_BYTES} bytes, got {}",
                key.len()
            ),
        });
    }
    Ok(())
}
