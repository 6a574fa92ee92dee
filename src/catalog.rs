//! The item catalogue: item ids from `items.json` and the embedding table from
//! `items.safetensors` (int8 with a per-row scale, or f16/f32), row i being item i, with the
//! optional per-item columns: repeat weights (`repeat`) and prices (see [`PriceColumns`]).

use std::collections::HashMap;

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
    /// List prices, positive.
    pub list_price: Option<Vec<f32>>,
    /// The merchant's costs, not negative.
    pub cost: Option<Vec<f32>>,
    /// The lowest price of the last 30 days, positive.
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
    /// Per-item weights w_i ≥ 0 (`repeat`).
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
        let column = |name, check: fn(f32) -> bool, rule| {
            read_f32_column(&tensors, name, item_count, check, rule)
        };
        let repeat = read_repeat_term(&tensors, item_count)?;
        let prices = PriceColumns {
            list_price: column("list_price", |p| p > 0.0, "finite and positive")?,
            cost: column("cost", |c| c >= 0.0, "finite and not negative")?,
            low_30d: column("low_30d", |p| p > 0.0, "finite and positive")?,
            department: read_u32_column(&tensors, "department", item_count)?,
        };
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
            if scales.iter().any(|s| !s.is_finite() || *s <= 0.0) {
                return Err(bad("every `scale` must be finite and positive".into()));
            }
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

/// An optional f32 [n] column whose every value is finite and passes `check`.
fn read_f32_column(
    tensors: &SafeTensors<'_>,
    name: &str,
    n: usize,
    check: fn(f32) -> bool,
    rule: &str,
) -> Result<Option<Vec<f32>>> {
    let Ok(column) = tensors.tensor(name) else {
        return Ok(None);
    };
    if column.dtype() != Dtype::F32 || column.shape() != [n] {
        return Err(bad(format!("`{name}` must be f32 [{n}]")));
    }
    let values = f32_values(column.data());
    if values.iter().any(|&v| !v.is_finite() || !check(v)) {
        return Err(bad(format!("every `{name}` value must be {rule}")));
    }
    Ok(Some(values))
}

/// The optional `repeat` column [n] and its optional `repeat_decay` [1] (default 1).
fn read_repeat_term(tensors: &SafeTensors<'_>, n: usize) -> Result<Option<RepeatTerm>> {
    let weights = read_f32_column(
        tensors,
        "repeat",
        n,
        |w| w >= 0.0,
        "finite and not negative",
    )?;
    let decay = read_f32_column(
        tensors,
        "repeat_decay",
        1,
        |d| d > 0.0 && d <= 1.0,
        "in (0, 1]",
    )?;
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
    if values.iter().any(|v| !v.is_finite()) {
        return Err(bad("`embedding` holds a non-finite value".into()));
    }
    Ok(Embeddings::Float(values))
}

fn f32_values(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}
