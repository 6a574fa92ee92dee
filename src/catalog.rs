//! The item catalogue: item ids from `items.json` and the embedding table from
//! `items.safetensors` (int8 with a per-row scale, or f16/f32), row i being item i, with the
//! optional per-item columns: repeat weights (`repeat`) and prices (see [`PriceColumns`]).

use std::collections::HashMap;
use std::ops::RangeInclusive;

use safetensors::{Dtype, SafeTensors};
use serde::Deserialize;

use crate::error::{Error, Result};

/// One entry of `items.json`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ItemInfo {
    /// The shop's SKU.
    pub id: String,
    /// A display name, when the bundle has one.
    #[serde(default)]
    pub name: Option<String>,
    /// A display category, when the bundle has one.
    #[serde(default)]
    pub category: Option<String>,
}

/// The embedding table, as stored.
#[derive(Debug, Clone, PartialEq)]
pub enum Embeddings {
    /// int8 values, row-major `[n, d]`, and one positive scale per row: `value = q * scale`.
    Int8 { values: Vec<i8>, scales: Vec<f32> },
    /// f32 values (f16 tables are widened on load), row-major `[n, d]`.
    Float(Vec<f32>),
}

/// The catalogue's optional price columns (`list_price`, `cost`, `low_30d` f32 [n] and
/// `department` u32 [n]), as the bundle has them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceColumns {
    /// List prices, in [`PRICE_RANGE`].
    pub list_price: Option<Vec<f32>>,
    /// The merchant's costs, from 0 to the item's list price.
    pub cost: Option<Vec<f32>>,
    /// The lowest price of the last 30 days, in [`PRICE_RANGE`].
    pub low_30d: Option<Vec<f32>>,
    /// Department indices (the price head's input).
    pub department: Option<Vec<u32>>,
}

/// Items and their embeddings, ready for gathering and scoring.
#[derive(Debug, Clone)]
pub struct Catalog {
    items: Vec<ItemInfo>,
    index: HashMap<String, usize>,
    dims: usize,
    embeddings: Embeddings,
    repeat: Option<RepeatTerm>,
    prices: PriceColumns,
}

/// The repeat term's parameters: an item already among the session's events scores
/// `weights[i] · ln(1 + Σ decay^(events after each of its events))` more.
#[derive(Debug, Clone, PartialEq)]
pub struct RepeatTerm {
    /// Per-item weights w_i in [`REPEAT_RANGE`] (`repeat`).
    pub weights: Vec<f32>,
    /// What an event counts per later event, in (0, 1] (`repeat_decay`; 1: plain counts).
    pub decay: f32,
}

impl Catalog {
    /// Parses `items.json` and `items.safetensors` and checks them against the manifest's
    /// item count and width.
    pub fn load(
        items_json: &[u8],
        table: &[u8],
        item_count: usize,
        dims: usize,
    ) -> Result<Catalog> {
        let items: Vec<ItemInfo> = serde_json::from_slice(items_json)
            .map_err(|e| Error::InvalidCatalog(format!("items.json: {e}")))?;
        let tensors = SafeTensors::deserialize(table)
            .map_err(|e| Error::InvalidCatalog(format!("items.safetensors: {e}")))?;
        let embeddings = read_embeddings(&tensors, item_count, dims)?;
        let column = |name, range| read_f32_column(&tensors, name, item_count, range);
        let repeat = read_repeat_term(&tensors, item_count)?;
        let prices = PriceColumns {
            list_price: column("list_price", PRICE_RANGE)?,
            cost: column("cost", 0.0..=*PRICE_RANGE.end())?,
            low_30d: column("low_30d", PRICE_RANGE)?,
            department: read_u32_column(&tensors, "department", item_count)?,
        };
        if let (Some(list), Some(cost)) = (&prices.list_price, &prices.cost) {
            if let Some(row) = (0..item_count).find(|&row| cost[row] > list[row]) {
                return Err(bad(format!(
                    "`cost` of row {row} is {}, above its `list_price` {}",
                    cost[row], list[row]
                )));
            }
        }
        Ok(Catalog {
            repeat,
            prices,
            ..Catalog::from_parts(items, embeddings, dims)?
        })
    }

    /// Builds a catalogue from parsed parts, checking ids and shapes.
    pub fn from_parts(
        items: Vec<ItemInfo>,
        embeddings: Embeddings,
        dims: usize,
    ) -> Result<Catalog> {
        let n = items.len();
        let rows = match &embeddings {
            Embeddings::Int8 { values, scales } => {
                if scales.len() * dims != values.len() {
                    return Err(Error::InvalidCatalog(
                        "`scale` has a different row count from `embedding`".into(),
                    ));
                }
                scales.len()
            }
            Embeddings::Float(values) => values.len() / dims.max(1),
        };
        if dims == 0 || rows != n {
            return Err(Error::InvalidCatalog(format!(
                "items.json lists {n} items but the table has {rows} rows"
            )));
        }
        let mut index = HashMap::with_capacity(n);
        for (i, item) in items.iter().enumerate() {
            if item.id.is_empty() {
                return Err(Error::InvalidCatalog(format!("item {i} has an empty id")));
            }
            if index.insert(item.id.clone(), i).is_some() {
                return Err(Error::InvalidCatalog(format!(
                    "item id {:?} appears twice",
                    item.id
                )));
            }
        }
        Ok(Catalog {
            items,
            index,
            dims,
            embeddings,
            repeat: None,
            prices: PriceColumns::default(),
        })
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the catalogue is empty (a loaded bundle never is).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Embedding width d.
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// The row of an item id, if the catalogue holds it.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// The item at a row.
    pub fn item(&self, row: usize) -> &ItemInfo {
        &self.items[row]
    }

    /// The stored embedding table.
    pub fn embeddings(&self) -> &Embeddings {
        &self.embeddings
    }

    /// The repeat term, when the bundle has the optional `repeat` column.
    pub fn repeat_term(&self) -> Option<&RepeatTerm> {
        self.repeat.as_ref()
    }

    /// The price columns the bundle has.
    pub fn prices(&self) -> &PriceColumns {
        &self.prices
    }

    /// Writes the dequantised embedding of `row` into `out` (length d).
    pub fn write_row(&self, row: usize, out: &mut [f32]) {
        let span = row * self.dims..(row + 1) * self.dims;
        match &self.embeddings {
            Embeddings::Int8 { values, scales } => {
                let scale = scales[row];
                for (o, &q) in out.iter_mut().zip(&values[span]) {
                    *o = f32::from(q) * scale;
                }
            }
            Embeddings::Float(values) => out.copy_from_slice(&values[span]),
        }
    }
}

fn bad(what: String) -> Error {
    Error::InvalidCatalog(format!("items.safetensors: {what}"))
}

fn read_embeddings(tensors: &SafeTensors<'_>, n: usize, d: usize) -> Result<Embeddings> {
    let embedding = tensors
        .tensor("embedding")
        .map_err(|_| bad("no `embedding` tensor".into()))?;
    if embedding.shape() != [n, d] {
        return Err(bad(format!(
            "`embedding` has shape {:?}; the manifest says [{n}, {d}]",
            embedding.shape()
        )));
    }
    match embedding.dtype() {
        Dtype::I8 => {
            let values = embedding.data().iter().map(|&b| b as i8).collect();
            let scale = tensors
                .tensor("scale")
                .map_err(|_| bad("an int8 `embedding` needs a `scale` tensor".into()))?;
            if scale.dtype() != Dtype::F32 || scale.shape() != [n] {
                return Err(bad(format!("`scale` must be f32 [{n}]")));
            }
            let scales = f32_values(scale.data());
            in_range("scale", &scales, f32::MIN_POSITIVE..=MAX_EMBEDDING / 127.0)?;
            Ok(Embeddings::Int8 { values, scales })
        }
        Dtype::F16 => finite(
            embedding
                .data()
                .chunks_exact(2)
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
        ),
        Dtype::F32 => finite(f32_values(embedding.data())),
        other => Err(bad(format!(
            "`embedding` has dtype {other:?}; expected I8, F16 or F32"
        ))),
    }
}

/// Prices (`list_price`, `low_30d`, and the upper end of `cost`) a catalogue may hold, in the
/// shop's currency: at least a cent, and at most what the guardrails price cent by cent.
pub const PRICE_RANGE: RangeInclusive<f32> = 0.01..=100_000.0;
/// Repeat weights a catalogue may hold: a window's repeat boost stays a finite score.
pub const REPEAT_RANGE: RangeInclusive<f32> = 0.0..=1_000.0;
/// The largest magnitude of an embedding value (a float table's values, an int8 table's
/// `127 × scale`), so that scores stay finite.
pub const MAX_EMBEDDING: f32 = 1_000.0;

/// An optional f32 [n] column whose every value is finite and in `range`; the first that is
/// not is named with its row.
fn read_f32_column(
    tensors: &SafeTensors<'_>,
    name: &str,
    n: usize,
    range: RangeInclusive<f32>,
) -> Result<Option<Vec<f32>>> {
    let Ok(column) = tensors.tensor(name) else {
        return Ok(None);
    };
    if column.dtype() != Dtype::F32 || column.shape() != [n] {
        return Err(bad(format!("`{name}` must be f32 [{n}]")));
    }
    let values = f32_values(column.data());
    in_range(name, &values, range)?;
    Ok(Some(values))
}

/// Refuses the first value of `column` outside `range` (NaN included), naming its row.
fn in_range(name: &str, values: &[f32], range: RangeInclusive<f32>) -> Result<()> {
    match values.iter().position(|v| !range.contains(v)) {
        Some(row) => Err(bad(format!(
            "`{name}` of row {row} is {}; it must be finite and in {} to {}",
            values[row],
            range.start(),
            range.end()
        ))),
        None => Ok(()),
    }
}

/// The optional `repeat` column [n] and its optional `repeat_decay` [1] (default 1).
fn read_repeat_term(tensors: &SafeTensors<'_>, n: usize) -> Result<Option<RepeatTerm>> {
    let weights = read_f32_column(tensors, "repeat", n, REPEAT_RANGE)?;
    let decay = read_f32_column(tensors, "repeat_decay", 1, f32::MIN_POSITIVE..=1.0)?;
    match (weights, decay) {
        (Some(weights), decay) => Ok(Some(RepeatTerm {
            weights,
            decay: decay.map_or(1.0, |d| d[0]),
        })),
        (None, Some(_)) => Err(bad("`repeat_decay` needs a `repeat` column".into())),
        (None, None) => Ok(None),
    }
}

/// An optional u32 [n] column.
fn read_u32_column(tensors: &SafeTensors<'_>, name: &str, n: usize) -> Result<Option<Vec<u32>>> {
    let Ok(column) = tensors.tensor(name) else {
        return Ok(None);
    };
    if column.dtype() != Dtype::U32 || column.shape() != [n] {
        return Err(bad(format!("`{name}` must be u32 [{n}]")));
    }
    Ok(Some(
        column
            .data()
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    ))
}

fn finite(values: Vec<f32>) -> Result<Embeddings> {
    if let Some(at) = values
        .iter()
        .position(|v| !v.is_finite() || v.abs() > MAX_EMBEDDING)
    {
        return Err(bad(format!(
            "`embedding` value {at} is {}; values must be finite and at most {MAX_EMBEDDING} in magnitude",
            values[at]
        )));
    }
    Ok(Embeddings::Float(values))
}

fn f32_values(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}
