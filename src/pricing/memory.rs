//! One session's quoted prices (an item keeps its first price for the rest of the session) and
//! its promotion account.

use std::collections::{HashMap, VecDeque};

use super::{PromotionAccount, Quote, QuoteExplanation};

/// The most items one session remembers a price for; past it, the item priced first is
/// forgotten first (and would be priced afresh if quoted again).
pub const MAX_PRICES_PER_SESSION: usize = 1_000;

/// The prices quoted in one session, by catalogue row, at most [`MAX_PRICES_PER_SESSION`], and
/// what its promotion budget allows and its offers committed (kept when old prices are
/// forgotten, so a budget is never spent twice).
#[derive(Debug, Clone, Default)]
pub struct PriceMemory {
    quoted: HashMap<usize, Quote>,
    order: VecDeque<usize>,
    /// The session's promotion account.
    pub account: PromotionAccount,
}

impl PriceMemory {
    /// The quote given earlier in this session for `row`, if any.
    pub fn get(&self, row: usize) -> Option<&Quote> {
        self.quoted.get(&row)
    }

    /// Remembers the first quote of `row`, forgetting the oldest past the cap.
    pub fn remember(&mut self, row: usize, quote: Quote) {
        if self.quoted.insert(row, quote).is_none() {
            self.order.push_back(row);
        }
        while self.order.len() > MAX_PRICES_PER_SESSION {
            if let Some(old) = self.order.pop_front() {
                self.quoted.remove(&old);
            }
        }
    }

    /// How many prices are remembered.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether no price is remembered.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Forgets every price and the promotion account.
    pub fn clear(&mut self) {
        self.quoted.clear();
        self.order.clear();
        self.account = PromotionAccount::default();
    }

    /// An estimate of the heap bytes held: each entry's quote, explanation and strings, and the
    /// map's and queue's slots.
    pub fn approx_bytes(&self) -> usize {
        let per_entry = std::mem::size_of::<(usize, Quote)>()
            + std::mem::size_of::<QuoteExplanation>()
            + 2 * std::mem::size_of::<usize>();
        self.quoted
            .values()
            .map(|q| {
                per_entry
                    + q.item.len()
                    + q.disclosure.as_ref().map_or(0, String::len)
                    + q.explanation.as_ref().map_or(0, |e| e.price_endings.len())
            })
            .sum()
    }
}
