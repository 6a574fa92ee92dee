//! What a streaming encoder (the manifest's `encoder.reach`) keeps per session so that a new event
//! costs one position per block: each block's keys and values for the last `reach` positions, and
//! the state of the newest position, the user vector. [`super::plain::PlainEncoder`] fills it
//! (from a whole window, or one event at a time) and reads it.

/// One block's keys and values for its newest positions, oldest first (`[n, d]` row-major each):
/// the last `reach` rows are the ones held; older rows wait to be dropped together (see
/// [`EncoderStream::trim`]).
#[derive(Debug, Clone, Default)]
pub(super) struct BlockCache {
    pub(super) keys: Vec<f32>,
    pub(super) values: Vec<f32>,
}

/// A session's encoder state: every block's cache over the same positions, whether each position
/// holds an event (a zero item row is padding, masked like the window's; one per cached row), and
/// the user vector.
#[derive(Debug, Clone)]
pub struct EncoderStream {
    reach: usize,
    dims: usize,
    pub(super) blocks: Vec<BlockCache>,
    pub(super) kept: Vec<bool>,
    pub(super) user: Vec<f32>,
}

impl EncoderStream {
    /// An empty stream for `blocks` blocks of width `dims` reaching `reach` positions back.
    pub(super) fn new(blocks: usize, reach: usize, dims: usize) -> EncoderStream {
        EncoderStream {
            reach,
            dims,
            blocks: vec![BlockCache::default(); blocks],
            kept: Vec::new(),
            user: Vec::new(),
        }
    }

    /// The most rows a block's cache holds (just before [`EncoderStream::trim`] drops the old
    /// ones): the reach and a quarter of it.
    pub(super) fn most_rows(&self) -> usize {
        self.reach + (self.reach / 4).max(1)
    }

    /// Whether the stream was made by an encoder of `blocks` blocks, `dims` wide, reaching `reach`.
    pub(super) fn fits(&self, blocks: usize, reach: usize, dims: usize) -> bool {
        (self.blocks.len(), self.reach, self.dims) == (blocks, reach, dims)
    }

    /// The state of the newest position: the user vector.
    pub fn user(&self) -> &[f32] {
        &self.user
    }

    /// Positions held: the newest `reach` of those cached (no later position attends further).
    pub(super) fn held(&self) -> usize {
        self.kept.len().min(self.reach)
    }

    /// Drops the rows past the reach once a quarter of the reach has gathered, so that the rows
    /// held move once per that many events rather than with every event, and a block's cache
    /// holds at most [`EncoderStream::most_rows`].
    pub(super) fn trim(&mut self) {
        let cached = self.kept.len();
        if cached < self.most_rows() {
            return;
        }
        let old = cached - self.reach;
        self.kept.drain(..old);
        for cache in &mut self.blocks {
            cache.keys.drain(..old * self.dims);
            cache.values.drain(..old * self.dims);
        }
    }

    /// An estimate of the heap bytes held: what a session store counts.
    pub fn approx_bytes(&self) -> usize {
        let caches: usize = self
            .blocks
            .iter()
            .map(|c| (c.keys.capacity() + c.values.capacity()) * 4)
            .sum();
        std::mem::size_of::<EncoderStream>()
            + self.blocks.capacity() * std::mem::size_of::<BlockCache>()
            + caches
            + self.kept.capacity()
            + self.user.capacity() * 4
    }
}
