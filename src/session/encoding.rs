//! A session's user vector, kept between calls so that an unchanged session is not encoded again.
//! With the window form the last answer is kept with the rows it came from; with the streaming
//! form (`encoder.reach`) the encoder's state is kept and each new event costs one position. The
//! window is encoded again, in full, when a stream cannot go on: the first call of a session, an
//! event older than one held (it lands inside the window), more new events at once than the
//! window holds, or an encoder error on the way.

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
        let used = window.len().min(model.manifest().seq_len);
        let rows: Vec<usize> = window
            .events()
            .skip(window.len() - used)
            .map(|e| e.item)
            .collect();
        match self {
            Encoding::Stream(stream) => return Ok(stream.user().to_vec()),
            Encoding::Window { rows: held, user } if *held == rows => return Ok(user.clone()),
            _ => {}
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
    /// they all came after every event held, in order (`appended`), and are no more than the
    /// window holds; otherwise it is dropped and the next call encodes the window.
    pub(super) fn observed(&mut self, model: &Model, events: &[Event], appended: bool) {
        let Encoding::Stream(stream) = std::mem::take(self) else {
            return;
        };
        if !appended || events.len() > model.manifest().seq_len {
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
