//! The model: a verified bundle's catalogue, interest encoder and pricing (the merchant's
//! settings and the price head), loaded once and never changed. Any number of shoppers'
//! [sessions](crate::session::Session) read it.

use crate::bundle::{BundleFiles, Manifest, VerifiedBundle, ITEM_LIST, ITEM_TABLE};
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::interest::stream::EncoderStream;
use crate::interest::InterestModel;
use crate::pricing::{PriceHead, Pricing, PricingSettings};

/// A loaded bundle with the merchant's pricing settings; immutable, shared by every session.
#[derive(Debug)]
pub struct Model {
    manifest: Manifest,
    catalog: Catalog,
    encoder: InterestModel,
    pricing: Pricing,
}

impl Model {
    /// Validates `settings`, verifies the bundle (the signature when keys are pinned:
    /// `public_keys` is none (`None`), one (`Some(&key)`) or several (a slice), any of which may
    /// sign; the expiry, against the system clock; each file's size and sha256), and loads the
    /// catalogue, the encoder and the price head.
    pub fn load<'k>(
        files: BundleFiles,
        public_keys: impl IntoIterator<Item = &'k [u8; 32]>,
        settings: PricingSettings,
    ) -> Result<Model> {
        settings.validate()?;
        let keys: Vec<[u8; 32]> = public_keys.into_iter().copied().collect();
        let bundle = VerifiedBundle::verify(files, &keys, crate::clock::now_ms())?;
        let manifest = bundle.manifest.clone();
        let catalog = Catalog::load(
            bundle.file(ITEM_LIST)?,
            bundle.file(ITEM_TABLE)?,
            manifest.item_count,
            manifest.dims,
        )?;
        let encoder = InterestModel::load(&bundle)?;
        let head = PriceHead::load(&bundle, catalog.prices().department.as_deref())?;
        Ok(Model {
            manifest,
            catalog,
            encoder,
            pricing: Pricing::new(settings, head)?,
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

    /// The merchant's settings and the price head.
    pub fn pricing(&self) -> &Pricing {
        &self.pricing
    }

    /// The user vector for the item rows of the newest events (at most `seqLen`, oldest first):
    /// the encoder's input is their table rows, left-padded with zero rows.
    pub fn encode(&self, rows: &[usize]) -> Result<Vec<f32>> {
        self.encoder.encode(&self.window(rows))
    }

    /// Whether the encoder streams: a session's new event costs one position, not the window.
    pub fn streams(&self) -> bool {
        self.encoder.streaming().is_some()
    }

    /// With a streaming encoder (`encoder.reach` in the plain form), the state [`Model::encode`]
    /// computes for `rows`, kept so that [`Model::step`] can add events to it; `None` when the
    /// encoder re-encodes the window for every change.
    pub fn encode_streamed(&self, rows: &[usize]) -> Result<Option<EncoderStream>> {
        match self.encoder.streaming() {
            Some(encoder) => encoder.encode_streamed(&self.window(rows)),
            None => Ok(None),
        }
    }

    /// Adds the event of item row `row` to a stream from [`Model::encode_streamed`]: its user
    /// vector becomes [`Model::encode`]'s for the rows with `row` appended. On an error the stream
    /// is gone.
    pub fn step(&self, stream: EncoderStream, row: usize) -> Result<EncoderStream> {
        let encoder = self.encoder.streaming().ok_or_else(|| {
            Error::Inference(
                "this bundle's encoder re-encodes the window: it does not stream".into(),
            )
        })?;
        let mut emb = vec![0f32; self.manifest.dims];
        self.catalog.write_row(row, &mut emb);
        encoder.step(stream, &emb)
    }

    /// The encoder's input for the item rows of the newest events (at most `seqLen`, oldest
    /// first): their table rows, left-padded with zero rows.
    fn window(&self, rows: &[usize]) -> Vec<f32> {
        let (l, d) = (self.manifest.seq_len, self.manifest.dims);
        let rows = &rows[rows.len().saturating_sub(l)..];
        let mut emb = vec![0f32; l * d];
        let first = l - rows.len();
        for (slot, &row) in rows.iter().enumerate() {
            let at = (first + slot) * d;
            self.catalog.write_row(row, &mut emb[at..at + d]);
        }
        emb
    }
}
