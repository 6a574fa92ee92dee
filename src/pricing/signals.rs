//! What a shopper's own events on this device say about their price response: the share of
//! their purchases before this week paid below the list price (their deal share), shrunk towards
//! the population's share as the price head was trained (`models/training/offers.py`,
//! `shopper_features`). Nothing else about the shopper is read.

use serde::Serialize;

use super::{to_cents, PriceResponse};
use crate::events::{Event, EventKind};

const DAY_MS: f64 = 86_400_000.0;

/// The shopper's signals as the price head reads them, with the counts they come from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShopperSignals {
    /// Purchases with a known price before this week.
    pub purchases: u32,
    /// Of those, the ones paid below the item's list price.
    pub discounted: u32,
    /// (discounted + pseudoLines × prior) / (purchases + pseudoLines): a shopper with no
    /// purchases gets the population's share.
    pub deal_share: f32,
}

impl ShopperSignals {
    /// The signals of a shopper whose `events` are known, at `now_ms`: only purchases with a
    /// price, made before the week of `now_ms` began, count (the head was trained on the weeks
    /// before each purchase). `list` is the catalogue's list price column.
    pub fn from_events<'a>(
        events: impl Iterator<Item = &'a Event>,
        list: &[f32],
        response: &PriceResponse,
        now_ms: f64,
    ) -> ShopperSignals {
        let week_start = week_start_ms(now_ms);
        let (mut purchases, mut discounted) = (0u32, 0u32);
        for event in events.filter(|e| e.kind == EventKind::Purchase && e.ts < week_start) {
            let (Some(paid), Some(list)) = (
                event.price.and_then(to_cents),
                to_cents(f64::from(list[event.item])),
            ) else {
                continue;
            };
            purchases += 1;
            discounted += u32::from(paid < list);
        }
        ShopperSignals::with_counts(purchases, discounted, response)
    }

    /// The signals of a shopper the device knows nothing about: the population's deal share.
    pub fn unknown(response: &PriceResponse) -> ShopperSignals {
        ShopperSignals::with_counts(0, 0, response)
    }

    fn with_counts(purchases: u32, discounted: u32, response: &PriceResponse) -> ShopperSignals {
        let strength = f64::from(response.pseudo_lines);
        let prior = f64::from(response.deal_share_prior);
        let share = if purchases == 0 {
            prior
        } else {
            (f64::from(discounted) + strength * prior) / (f64::from(purchases) + strength)
        };
        ShopperSignals {
            purchases,
            discounted,
            deal_share: share as f32,
        }
    }
}

/// The start of the week (Monday 00:00 UTC) holding `now_ms`; times before 1970 and odd values
/// give a start no later than `now_ms` itself.
pub fn week_start_ms(now_ms: f64) -> f64 {
    // 1 January 1970 was a Thursday: Monday 29 December 1969 is day -3.
    let days = (now_ms / DAY_MS).floor();
    let monday = ((days + 3.0) / 7.0).floor() * 7.0 - 3.0;
    (monday * DAY_MS).min(now_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response() -> PriceResponse {
        PriceResponse {
            signals: vec![crate::pricing::Feature::DealShare],
            mean: vec![0.5],
            std: vec![0.1],
            deal_share_prior: 0.5,
            pseudo_lines: 20.0,
        }
    }

    fn purchase(item: usize, price: f64, ts: f64) -> Event {
        Event {
            kind: EventKind::Purchase,
            item,
            ts,
            price: Some(price),
        }
    }

    #[test]
    fn weeks_start_on_monday_midnight_utc() {
        let monday_2017_01_02 = 1_483_315_200_000.0;
        assert_eq!(week_start_ms(monday_2017_01_02), monday_2017_01_02);
        assert_eq!(
            week_start_ms(monday_2017_01_02 + 6.9 * DAY_MS),
            monday_2017_01_02
        );
        assert_eq!(
            week_start_ms(monday_2017_01_02 - 1.0),
            monday_2017_01_02 - 7.0 * DAY_MS
        );
        assert_eq!(
            week_start_ms(0.0),
            -3.0 * DAY_MS,
            "1970 began on a Thursday"
        );
        assert!(week_start_ms(f64::NAN).is_nan());
    }

    #[test]
    fn only_priced_purchases_before_this_week_count_shrunk_towards_the_prior() {
        let now = 1_483_315_200_000.0 + DAY_MS; // a Tuesday
        let earlier = now - 3.0 * DAY_MS; // the week before
        let list = [2.0, 3.0];
        let events = [
            purchase(0, 1.5, earlier),
            purchase(1, 3.0, earlier),
            purchase(0, 1.0, now - 1.0), // this week: not counted
            Event {
                kind: EventKind::View,
                item: 1,
                ts: earlier,
                price: Some(1.0),
            },
            Event {
                kind: EventKind::Purchase,
                item: 1,
                ts: earlier,
                price: None,
            },
        ];
        let s = ShopperSignals::from_events(events.iter(), &list, &response(), now);
        assert_eq!((s.purchases, s.discounted), (2, 1));
        assert!((s.deal_share - (1.0 + 10.0) / 22.0).abs() < 1e-6);
        assert_eq!(ShopperSignals::unknown(&response()).deal_share, 0.5);
    }
}
