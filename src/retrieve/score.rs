//! Exact scoring of a user vector against catalogue rows. Int8 tables are scored in integers
//! (the user vector quantised to int8, i32 accumulation) so every backend ranks identically.

use super::dot::WideQuery;
use crate::catalog::Embeddings;

/// A user vector prepared for scoring against one table.
#[derive(Debug, Clone)]
pub enum UserQuery {
    /// The user vector quantised to int8 with `value = q * scale`, and widened for scoring.
    Int8 {
        values: Vec<i8>,
        scale: f32,
        wide: WideQuery,
    },
    /// The user vector as is, for float tables.
    Float(Vec<f32>),
}

impl UserQuery {
    /// Prepares `user` for the table's storage: symmetric int8 quantisation with
    /// `scale = max|u| / 127`, rounding half to even (an all-zero vector gets scale 1).
    pub fn new(user: &[f32], table: &Embeddings) -> UserQuery {
        match table {
            Embeddings::Int8 { .. } => {
                let max = user.iter().fold(0f32, |m, v| m.max(v.abs()));
                let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
                let values: Vec<i8> = user
                    .iter()
                    .map(|v| (v / scale).round_ties_even().clamp(-127.0, 127.0) as i8)
                    .collect();
                let wide = WideQuery::new(&values);
                UserQuery::Int8 {
                    values,
                    scale,
                    wide,
                }
            }
            Embeddings::Float(_) => UserQuery::Float(user.to_vec()),
        }
    }

    /// The ranking key of `row`: for int8, `f32(Σ q_u·q_i) · scale_i` (the user's scale, common
    /// to every row, is left out); for float, the f32 dot product summed in index order.
    pub fn key(&self, table: &Embeddings, row: usize) -> f32 {
        match (self, table) {
            (
                UserQuery::Int8 {
                    values: u, wide, ..
                },
                Embeddings::Int8 { values, scales },
            ) => {
                let d = u.len();
                wide.dot(&values[row * d..(row + 1) * d]) as f32 * scales[row]
            }
            (UserQuery::Float(u), Embeddings::Float(values)) => {
                let d = u.len();
                u.iter()
                    .zip(&values[row * d..(row + 1) * d])
                    .map(|(a, b)| a * b)
                    .sum()
            }
            _ => unreachable!("a UserQuery is always built for the table it scores"),
        }
    }

    /// The ranking key of a score, for adding a score-unit amount to a key.
    pub fn key_of_score(&self, score: f32) -> f32 {
        match self {
            UserQuery::Int8 { scale, .. } => score / scale,
            UserQuery::Float(_) => score,
        }
    }

    /// Turns a ranking key back into the approximate dot product `u · e_i`.
    pub fn score(&self, key: f32) -> f32 {
        match self {
            UserQuery::Int8 { scale, .. } => key * scale,
            UserQuery::Float(_) => key,
        }
    }
}
