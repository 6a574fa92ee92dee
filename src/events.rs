//! Shopper events: the raw form a caller passes, validation into a resolved form, and the
//! session window of the last L events that feeds the interest model.

use std::collections::VecDeque;

use serde::Deserialize;

use crate::catalog::Catalog;
use crate::error::{Error, Result};

/// At most this many events are accepted in one call (`observe`, `recommend({ events })`).
pub const MAX_EVENTS_PER_CALL: usize = 1_000;

/// How many events a session holds: the interest model reads the last `seqLen` of them, the
/// repeat term counts them all.
pub const SESSION_HISTORY: usize = 1_000;

/// How far in the future (milliseconds) a timestamp may lie, to absorb clock skew.
pub const MAX_FUTURE_SKEW_MS: f64 = 5.0 * 60.0 * 1000.0;

/// The longest item id accepted, in bytes.
pub const MAX_ITEM_ID_BYTES: usize = 256;

/// What the shopper did with an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// Looked at the item's page.
    View,
    /// Put the item in the cart.
    Cart,
    /// Bought the item.
    Purchase,
}

impl EventKind {
    fn parse(name: &str) -> Option<Self> {
        match name {
            "view" => Some(EventKind::View),
            "cart" => Some(EventKind::Cart),
            "purchase" => Some(EventKind::Purchase),
            _ => None,
        }
    }
}

/// An event as a caller passes it, before validation: every field may be missing or wrong.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RawEvent {
    /// `"view"`, `"cart"` or `"purchase"`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The item's id: the shop's SKU, as listed in the bundle's `items.json`.
    pub item: Option<String>,
    /// When it happened, in milliseconds since the Unix epoch (as `Date.now()` gives).
    pub ts: Option<f64>,
    /// The price the shopper saw, if the shop knows it; finite and not negative.
    pub price: Option<f64>,
}

/// A validated event whose item is resolved to its row in the catalogue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Event {
    /// What the shopper did.
    pub kind: EventKind,
    /// The item's row in the catalogue.
    pub item: usize,
    /// Milliseconds since the Unix epoch.
    pub ts: f64,
    /// The price seen, when known.
    pub price: Option<f64>,
}

impl RawEvent {
    /// Validates the event at position `index` of its batch against the catalogue and the clock.
    ///
    /// The rule for items: an event about an item the catalogue does not hold is rejected with
    /// [`Error::UnknownItem`], like any other bad event, so a batch never half-applies.
    pub fn validate(&self, index: usize, catalog: &Catalog, now_ms: f64) -> Result<Event> {
        let invalid = |reason: String| Error::InvalidEvent { index, reason };
        let kind_name = self.kind.as_deref().ok_or_else(|| {
            invalid("missing `type` (one of \"view\", \"cart\", \"purchase\")".into())
        })?;
        let kind = EventKind::parse(kind_name).ok_or_else(|| {
            invalid(format!(
                "unknown type {kind_name:?}; expected \"view\", \"cart\" or \"purchase\""
            ))
        })?;
        let item_id = self
            .item
            .as_deref()
            .ok_or_else(|| invalid("missing `item`".into()))?;
        if item_id.is_empty() || item_id.len() > MAX_ITEM_ID_BYTES {
            return Err(invalid(format!(
                "`item` must be 1 to {MAX_ITEM_ID_BYTES} bytes long"
            )));
        }
        let ts = self
            .ts
            .ok_or_else(|| invalid("missing `ts` (milliseconds since the epoch)".into()))?;
        if !ts.is_finite() || ts < 0.0 {
            return Err(invalid(format!(
                "`ts` must be a finite, non-negative number of milliseconds, got {ts}"
            )));
        }
        if ts > now_ms + MAX_FUTURE_SKEW_MS {
            return Err(invalid(format!(
                "`ts` {ts} lies {:.0} s in the future; at most {:.0} s of clock skew is accepted",
                (ts - now_ms) / 1000.0,
                MAX_FUTURE_SKEW_MS / 1000.0
            )));
        }
        if let Some(price) = self.price {
            if !price.is_finite() || price < 0.0 {
                return Err(invalid(format!(
                    "`price` must be a finite, non-negative number, got {price}"
                )));
            }
        }
        let item = catalog
            .index_of(item_id)
            .ok_or_else(|| Error::unknown_item(item_id, format!("event {index}")))?;
        Ok(Event {
            kind,
            item,
            ts,
            price: self.price,
        })
    }
}

/// Refuses a call that carries `count` events, more than [`MAX_EVENTS_PER_CALL`].
pub fn check_event_count(count: usize) -> Result<()> {
    if count > MAX_EVENTS_PER_CALL {
        return Err(Error::TooManyEvents {
            count,
            max: MAX_EVENTS_PER_CALL,
        });
    }
    Ok(())
}

/// Validates a whole batch: all of it is accepted, or none of it.
pub fn validate_batch(raw: &[RawEvent], catalog: &Catalog, now_ms: f64) -> Result<Vec<Event>> {
    check_event_count(raw.len())?;
    raw.iter()
        .enumerate()
        .map(|(i, e)| e.validate(i, catalog, now_ms))
        .collect()
}

/// The last `capacity` events in time order: the interest model reads the newest of them, the
/// repeat term counts them all.
#[derive(Debug, Clone)]
pub struct SessionWindow {
    capacity: usize,
    events: VecDeque<Event>,
}

impl SessionWindow {
    /// An empty window holding at most `capacity` events.
    pub fn new(capacity: usize) -> Self {
        // Grown as events come, not reserved: most of an edge store's sessions hold a few events.
        SessionWindow {
            capacity,
            events: VecDeque::new(),
        }
    }

    /// Adds validated events. Events are kept in timestamp order (a late-arriving event takes
    /// its place by time; equal timestamps keep arrival order); the oldest fall out past capacity.
    pub fn extend(&mut self, events: &[Event]) {
        for event in events {
            let at = self.events.partition_point(|held| held.ts <= event.ts);
            self.events.insert(at, *event);
        }
        while self.events.len() > self.capacity {
            self.events.pop_front();
        }
    }

    /// The held events, oldest first.
    pub fn events(&self) -> impl ExactSizeIterator<Item = &Event> {
        self.events.iter()
    }

    /// How many events are held.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether no event is held.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// An estimate of the heap bytes held: the slots reserved for events.
    pub fn approx_bytes(&self) -> usize {
        self.events.capacity() * std::mem::size_of::<Event>()
    }

    /// Drops every held event.
    pub fn clear(&mut self) {
        self.events.clear();
    }

    /// A copy without the event at `index` (oldest first); an index past the end removes nothing.
    pub fn without(&self, index: usize) -> SessionWindow {
        let mut copy = self.clone();
        copy.events.remove(index);
        copy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(item: usize, ts: f64) -> Event {
        Event {
            kind: EventKind::View,
            item,
            ts,
            price: None,
        }
    }

    #[test]
    fn the_window_keeps_the_latest_events_in_time_order() {
        let mut window = SessionWindow::new(3);
        window.extend(&[event(1, 10.0), event(2, 30.0)]);
        window.extend(&[event(3, 20.0), event(4, 30.0), event(5, 5.0)]);
        let items: Vec<usize> = window.events().map(|e| e.item).collect();
        assert_eq!(
            items,
            [3, 2, 4],
            "late events take their place by time; equal times keep arrival order"
        );
        window.clear();
        assert!(window.is_empty());
    }
}
