//! What a streaming encoder (the manifest's `encoder.reach`) keeps per session so that a new event
//! costs one position per block: each block's keys and values for the last `reach` positions, and
//! the state of the newest position, the user vector. [`super::plain::PlainEncoder`] fills it
//! (from a whole window, or one event at a time) and reads it.

/// One block's keys and values for its newest positions, oldest first (`[n, d]` row-major each,
/// `n` at most the reach).
#[derive(Debug, Clone, Default)]
pub(super) struct BlockCache {
    pub(super) keys: Vec<f32>,
    pub(super) values: Vec<f32>,
}

/// A session's encoder state: every block's cache over the same positions, whether each position
/// holds an event (a zero item row is padding, masked like the window's), and the user vector.
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
            kept: Vec::with_capacity(reach),
            user: Vec::new(),
        }
    }

    /// The state of the newest position: the user vector.
    pub fn user(&self) -> &[f32] {
        &self.user
    }

    /// Positions held (at most the reach).
    pub(super) fn len(&self) -> usize {
        self.kept.len()
    }

    /// Makes room for one more position: the oldest goes once `reach` are held, from every block
    /// (no later position can attend to it).
    pub(super) fn make_room(&mut self) {
        if self.kept.len() < self.reach {
            return;
        }
        let d = self.dims;
        self.kept.remove(0);
        for cache in &mut self.blocks {
            cache.keys.drain(..d);
            cache.values.drain(..d);
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
