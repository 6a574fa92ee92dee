//! One shopper's session: their events, the user vector last encoded for them, and the prices
//! quoted to them. Every call reads the shared [`Model`]; nothing here is seen by another session.
//! [`store`] keeps many sessions under a cap in sessions and bytes, with an idle expiry.

pub mod encoding;
pub mod store;

use crate::error::{Error, Result};
use crate::events::{validate_batch, Event, RawEvent, SessionWindow, SESSION_HISTORY};
use crate::explain::{explain, Reason};
use crate::model::Model;
use crate::pricing::{
    quote_items, ItemToQuote, PriceMemory, Quote, QuoteCall, QuoteOptions, MAX_QUOTE_ITEMS,
};
use crate::ranking::{RankingPlan, RecommendRequest, Recommendation};
use crate::retrieve::{repeat_boosts, Scorer};
use encoding::Encoding;

/// One shopper: events (the last [`SESSION_HISTORY`]), the encoder's last answer (or its state,
/// with a streaming encoder), and the price each item was first quoted at.
#[derive(Debug, Clone)]
pub struct Session {
    window: SessionWindow,
    encoding: Encoding,
    prices: PriceMemory,
}

impl Default for Session {
    fn default() -> Self {
        Session::new()
    }
}

impl Session {
    /// An empty session.
    pub fn new() -> Session {
        Session {
            window: SessionWindow::new(SESSION_HISTORY),
            encoding: Encoding::Unknown,
            prices: PriceMemory::default(),
        }
    }

    /// A session holding `events` (validated like [`Session::observe`]): for a caller that keeps
    /// a shopper's events itself and sends them with each request.
    pub fn from_events(model: &Model, events: &[RawEvent], now_ms: f64) -> Result<Session> {
        let mut session = Session::new();
        session.observe(model, events, now_ms)?;
        Ok(session)
    }

    /// Adds events: all of them, or, if any is invalid, none. With a streaming encoder whose state
    /// the session holds (from its first user vector on), events that come after every one held
    /// are encoded now, at the cost of one position each (see `encoding` for when not).
    pub fn observe(&mut self, model: &Model, events: &[RawEvent], now_ms: f64) -> Result<()> {
        let events = validate_batch(events, model.catalog(), now_ms)?;
        let appended = appends_in_order(&self.window, &events);
        self.window.extend(&events);
        self.encoding.observed(model, &events, appended);
        Ok(())
    }

    /// Whether the session holds a streaming encoder's current state: its next user vector is
    /// read, not encoded (see `encoding` for when the window is encoded again).
    pub fn is_streaming(&self) -> bool {
        self.encoding.is_streaming()
    }

    /// The events held, oldest first.
    pub fn events(&self) -> impl ExactSizeIterator<Item = &Event> {
        self.window.events()
    }

    /// Wipes the events, the last user vector and the prices quoted.
    pub fn forget(&mut self) {
        *self = Session::new();
    }

    /// The user vector for the session's events. The encoder reads only the newest `seqLen`
    /// items, so its last answer is reused while those are the same (a `quote` right after a
    /// `recommend`, or an unchanged session). An empty session gives the vector of an
    /// all-padding input.
    pub fn user_vector(&mut self, model: &Model) -> Result<Vec<f32>> {
        self.encoding.user_vector(&self.window, model)
    }

    /// Checks and encodes a request: what either backend needs to rank it. The encoder runs only
    /// for a request that passes its checks.
    pub fn plan(&mut self, model: &Model, request: &RecommendRequest) -> Result<RankingPlan> {
        RankingPlan::new(model, request, &self.window, || {
            self.encoding.user_vector(&self.window, model)
        })
    }

    /// The top-k items for the session, ranked on the CPU.
    pub fn recommend(
        &mut self,
        model: &Model,
        request: &RecommendRequest,
    ) -> Result<Vec<Recommendation>> {
        let plan = self.plan(model, request)?;
        let ranked = plan.rank_on_cpu(model);
        plan.recommendations(model, ranked)
    }

    /// The top-k items for the session, ranked on the GPU path when it is in use and suits the
    /// request, else on the CPU: the same list either way.
    #[cfg(feature = "gpu")]
    pub async fn recommend_on_gpu(
        &mut self,
        model: &Model,
        gpu: &mut crate::gpu::GpuPath,
        request: &RecommendRequest,
    ) -> Result<Vec<Recommendation>> {
        let plan = self.plan(model, request)?;
        match plan.gpu_job(model, gpu) {
            Some(job) => {
                let answer = job.run().await;
                plan.complete_on_gpu(model, gpu, answer)
            }
            None => plan.recommendations(model, plan.rank_on_cpu(model)),
        }
    }

    /// Why each of `items` would be recommended: the events whose absence lowers its score most
    /// (as `recommend` with `explain` gives them). Leaves the session's cached vector as it is.
    pub fn explain(&self, model: &Model, items: &[String]) -> Result<Vec<Vec<Reason>>> {
        let rows = item_rows(model, items, "explain")?;
        explain(model, &self.window, &rows)
    }

    /// Prices for `items` (1 to [`MAX_QUOTE_ITEMS`] catalogue ids), personalised for the session
    /// inside the merchant's guardrails. An item keeps its first price for the rest of the
    /// session. A bundle that cannot quote is refused before the encoder runs.
    pub fn quote(
        &mut self,
        model: &Model,
        items: &[String],
        options: &QuoteOptions,
        now_ms: f64,
    ) -> Result<Vec<Quote>> {
        let n = items.len();
        if n == 0 || n > MAX_QUOTE_ITEMS {
            return Err(Error::InvalidArgument {
                name: "items",
                reason: format!("must list 1 to {MAX_QUOTE_ITEMS} items, got {n}"),
            });
        }
        let objective = options.objective()?;
        let budget_share = options.budget_share()?;
        let rows = item_rows(model, items, "quote")?;
        model.pricing().check_available(model.catalog())?;
        let user = self.user_vector(model)?;
        let boosts = repeat_boosts(model.catalog(), self.window.events().map(|e| e.item));
        let scorer = Scorer::new(model.catalog(), &user, &boosts);
        let to_quote: Vec<ItemToQuote<'_>> = items
            .iter()
            .zip(&rows)
            .map(|(id, &row)| ItemToQuote {
                id,
                row,
                interest: scorer.score(scorer.key(row)),
            })
            .collect();
        quote_items(
            model.pricing(),
            model.catalog(),
            &mut self.prices,
            self.window.events(),
            &QuoteCall {
                items: &to_quote,
                objective,
                budget_share,
                now_ms,
                explain: options.explain,
            },
        )
    }

    /// An estimate of the heap bytes the session holds (events, cached vector, prices): what a
    /// [`store::SessionStore`] counts against its byte cap.
    pub fn approx_bytes(&self) -> usize {
        std::mem::size_of::<Session>()
            + self.window.approx_bytes()
            + self.encoding.approx_bytes()
            + self.prices.approx_bytes()
    }
}

/// Whether `events`, added to `window`, all land after every event it holds, in their order
/// (the window keeps events by timestamp, a later equal one after an earlier).
fn appends_in_order(window: &SessionWindow, events: &[Event]) -> bool {
    let newest = window.events().last().map_or(f64::NEG_INFINITY, |e| e.ts);
    std::iter::once(newest)
        .chain(events.iter().map(|e| e.ts))
        .is_sorted_by(|a, b| a <= b)
}

/// The catalogue rows of `items`, in order; an id the catalogue lacks is `UNKNOWN_ITEM`.
fn item_rows(model: &Model, items: &[String], context: &str) -> Result<Vec<usize>> {
    items
        .iter()
        .map(|id| {
            model
                .catalog()
                .index_of(id)
                .ok_or_else(|| Error::unknown_item(id, context))
        })
        .collect()
}
