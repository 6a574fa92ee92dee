//! A session's user vector, kept between calls so that an unchanged session is not encoded again.
//! With the window form the last answer is kept with the rows it came from; with the streaming
//! form (`encoder.reach`) the encoder's state is kept and each new event costs one position. The
//! window is encoded again, in full, when a stream cannot go on: the first user vector of a
//! session (until then `observe` only keeps events), an event older than the newest one held (it
//! lands among the held events, not after them), more new events at once than half the window (a
//! full encode costs less than that many steps), or an encoder error on the way.
//!
//! An item whose table row is all zeros counts as padding, as in the window: a position whose whole
//! reach holds only such items differs between the two (the window pass lets it attend further
//! back, the stream does not); no shipped bundle has such a row.

use crate::error::Result;
use crate::events::{Event, SessionWindow};
use crate::interest::stream::EncoderStream;
use crate::model::Model;

/// What is kept of a session's encoding.
#[derive(Debug, Clone, Default)]
pub(super) enum Encoding {
    /// Nothing: the next call encodes the window.
    #[default]
    Unknown,
    /// The window form's last user vector and the item rows it was encoded from.
    Window { rows: Vec<usize>, user: Vec<f32> },
    /// The streaming form's state, current with the session's events.
    Stream(EncoderStream),
}

impl Encoding {
    /// The user vector for the newest `seqLen` events of `window`: the one kept when it is still
    /// theirs, else encoded (and kept).
    pub(super) fn user_vector(
        &mut self,
        window: &SessionWindow,
        model: &Model,
    ) -> Result<Vec<f32>> {
        if let Encoding::Stream(stream) = self {
            return Ok(stream.user().to_vec());
        }
        let used = window.len().min(model.manifest().seq_len);
        let rows: Vec<usize> = window
            .events()
            .skip(window.len() - used)
            .map(|e| e.item)
            .collect();
        if let Encoding::Window { rows: held, user } = self {
            if *held == rows {
                return Ok(user.clone());
            }
        }
        if let Some(stream) = model.encode_streamed(&rows)? {
            let user = stream.user().to_vec();
            *self = Encoding::Stream(stream);
            return Ok(user);
        }
        let user = model.encode(&rows)?;
        *self = Encoding::Window {
            rows,
            user: user.clone(),
        };
        Ok(user)
    }

    /// After `events` joined the session's window: a stream takes them one position each when
    /// they all came after every event held, in order (`appended`), and are at most
    /// [`most_streamed`] of them; otherwise it is dropped and the next call encodes the window.
    /// The window form's kept answer stays: `user_vector` checks its rows.
    pub(super) fn observed(&mut self, model: &Model, events: &[Event], appended: bool) {
        let stream = match std::mem::take(self) {
            Encoding::Stream(stream) => stream,
            kept => {
                *self = kept;
                return;
            }
        };
        if !appended || events.len() > most_streamed(model) {
            return;
        }
        let mut stream = stream;
        for event in events {
            match model.step(stream, event.item) {
                Ok(next) => stream = next,
                // The events stay; the next call encodes the window and reports the error.
                Err(_) => return,
            }
        }
        *self = Encoding::Stream(stream);
    }

    /// Whether a stream is current: the next call reads its state without encoding.
    pub(super) fn is_streaming(&self) -> bool {
        matches!(self, Encoding::Stream(_))
    }

    /// An estimate of the heap bytes held.
    pub(super) fn approx_bytes(&self) -> usize {
        match self {
            Encoding::Unknown => 0,
            Encoding::Window { rows, user } => {
                rows.capacity() * std::mem::size_of::<usize>() + user.capacity() * 4
            }
            Encoding::Stream(stream) => stream.approx_bytes(),
        }
    }
}

/// The most new events one `observe` streams: half the window (each costs a position per block;
/// the window's full encode, about 20 positions' time in wasm, is cheaper past that).
pub fn most_streamed(model: &Model) -> usize {
    (model.manifest().seq_len / 2).max(1)
}
