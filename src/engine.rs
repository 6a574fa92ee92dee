//! The engine: a verified bundle's catalogue and encoder, plus the shopper's session, behind
//! the calls a shop makes (`observe`, `recommend`, `forget`).

use serde::{Deserialize, Serialize};

use crate::bundle::{BundleFiles, Manifest, VerifiedBundle, INTEREST_MODEL, ITEM_LIST, ITEM_TABLE};
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::events::{validate_batch, Event, RawEvent, SessionWindow};
use crate::interest::InterestModel;
use crate::retrieve::{repeat_boosts, top_k, Pool};

/// How many results `recommend` returns when the caller does not say.
pub const DEFAULT_K: usize = 10;

/// What `recommend` is asked.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RecommendRequest {
    /// How many items to return: 1 to the catalogue's size. Default [`DEFAULT_K`].
    pub k: usize,
    /// Item ids never to return (ids the catalogue lacks are ignored: they cannot be returned anyway).
    pub exclude: Vec<String>,
    /// Rank only these item ids (e.g. server-sent candidates); every id must be in the catalogue.
    pub candidates: Option<Vec<String>>,
    /// Rank for these events instead of the engine's session, which is left untouched (edge use).
    /// Not read by serde: the wasm boundary fills it event by event, so that a malformed event is
    /// reported with its index.
    #[serde(skip)]
    pub events: Option<Vec<RawEvent>>,
}

impl Default for RecommendRequest {
    fn default() -> Self {
        RecommendRequest {
            k: DEFAULT_K,
            exclude: Vec::new(),
            candidates: None,
            events: None,
        }
    }
}

/// One recommended item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    /// The item's id (the shop's SKU).
    pub item: String,
    /// Its score, approximately the dot product of the user and item vectors; higher is better.
    pub score: f32,
}

/// A loaded bundle and one shopper's session.
#[derive(Debug)]
pub struct Engine {
    manifest: Manifest,
    catalog: Catalog,
    model: InterestModel,
    session: SessionWindow,
}

impl Engine {
    /// Verifies the bundle (signature when `public_key` is pinned, then each file's size and
    /// sha256), then loads the catalogue and optimises the encoder.
    pub fn load(files: BundleFiles, public_key: Option<&[u8; 32]>) -> Result<Engine> {
        let bundle = VerifiedBundle::verify(files, public_key)?;
        let manifest = bundle.manifest.clone();
        let catalog = Catalog::load(
            bundle.file(ITEM_LIST)?,
            bundle.file(ITEM_TABLE)?,
            manifest.item_count,
            manifest.dims,
        )?;
        let model = InterestModel::load(
            bundle.file(INTEREST_MODEL)?,
            manifest.seq_len,
            manifest.dims,
        )?;
        let session = SessionWindow::new(manifest.seq_len);
        Ok(Engine {
            manifest,
            catalog,
            model,
            session,
        })
    }

    /// The bundle's manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The bundle's catalogue.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Events in the session window, oldest first.
    pub fn session(&self) -> impl ExactSizeIterator<Item = &Event> {
        self.session.events()
    }

    /// Adds events to the session: all of them, or, if any is invalid, none.
    pub fn observe(&mut self, events: &[RawEvent], now_ms: f64) -> Result<()> {
        let events = validate_batch(events, &self.catalog, now_ms)?;
        self.session.extend(&events);
        Ok(())
    }

    /// Wipes the session.
    pub fn forget(&mut self) {
        self.session.clear();
    }

    /// The user vector for `events` (validated like `observe`) or, when `None`, for the session.
    /// An empty history gives the encoder's vector for an all-padding input.
    pub fn user_vector(&mut self, events: Option<&[RawEvent]>, now_ms: f64) -> Result<Vec<f32>> {
        let window = self.window(events, now_ms)?;
        self.encode(&window)
    }

    /// The window of `events` (validated like `observe`) or, when `None`, the session's.
    fn window(&self, events: Option<&[RawEvent]>, now_ms: f64) -> Result<SessionWindow> {
        Ok(match events {
            Some(raw) => {
                let mut window = SessionWindow::new(self.manifest.seq_len);
                window.extend(&validate_batch(raw, &self.catalog, now_ms)?);
                window
            }
            None => self.session.clone(),
        })
    }

    /// The top-k items for the session, or for `request.events` when given.
    pub fn recommend(
        &mut self,
        request: &RecommendRequest,
        now_ms: f64,
    ) -> Result<Vec<Recommendation>> {
        let n = self.catalog.len();
        if request.k == 0 || request.k > n {
            return Err(Error::InvalidArgument {
                name: "k",
                reason: format!("must be 1 to {n} (the catalogue's size), got {}", request.k),
            });
        }
        let candidates = request
            .candidates
            .as_deref()
            .map(|ids| self.candidate_rows(ids))
            .transpose()?;
        let mut excluded = vec![false; n];
        for row in request
            .exclude
            .iter()
            .filter_map(|id| self.catalog.index_of(id))
        {
            excluded[row] = true;
        }
        let window = self.window(request.events.as_deref(), now_ms)?;
        let user = self.encode(&window)?;
        let boosts = repeat_boosts(&self.catalog, window.events().map(|e| e.item));
        let pool = candidates.as_deref().map_or(Pool::All, Pool::Candidates);
        Ok(
            top_k(&self.catalog, &user, request.k, pool, &excluded, &boosts)
                .into_iter()
                .map(|s| Recommendation {
                    item: self.catalog.item(s.item).id.clone(),
                    score: s.score,
                })
                .collect(),
        )
    }

    fn candidate_rows(&self, ids: &[String]) -> Result<Vec<usize>> {
        if ids.is_empty() {
            return Err(Error::InvalidArgument {
                name: "candidates",
                reason: "must not be empty when given".into(),
            });
        }
        let mut seen = vec![false; self.catalog.len()];
        let mut rows = Vec::with_capacity(ids.len());
        for id in ids {
            let row = self
                .catalog
                .index_of(id)
                .ok_or_else(|| Error::UnknownItem {
                    item: id.clone(),
                    context: "candidates".into(),
                })?;
            if !std::mem::replace(&mut seen[row], true) {
                rows.push(row);
            }
        }
        Ok(rows)
    }

    fn encode(&mut self, window: &SessionWindow) -> Result<Vec<f32>> {
        let (l, d) = (self.manifest.seq_len, self.manifest.dims);
        let mut emb = vec![0f32; l * d];
        let first = l - window.len();
        for (slot, event) in window.events().enumerate() {
            let at = (first + slot) * d;
            self.catalog.write_row(event.item, &mut emb[at..at + d]);
        }
        self.model.encode(&emb)
    }
}
