//! The plain encoder: a SASRec-family encoder read from its weights into fixed buffers and run
//! directly, computing what `interest.onnx` computes (see `models/training/sasrec.py`) with no
//! graph analysis. Only what the last position's state needs is computed: rows from the first
//! event on (leading padding is masked out of every kept row's attention and zeroed in the
//! low-pass filter, so it changes nothing), and in the last block the last row alone.
//!
//! The streaming form (the manifest's `encoder.reach`) runs the same way over a window, and also
//! one event at a time from a [`EncoderStream`]: a new position's query attends to the keys and
//! values each block kept for the positions before it, which never change.

use super::kernels::{layer_norm, Activations, ChosenKernels, Linear, Transposed};
use super::spec::{Activation, EncoderSpec};
use super::stream::EncoderStream;
use crate::error::{Error, Result};
use crate::weights::WeightFile;

/// A layer norm's weight and bias.
#[derive(Debug)]
struct Norm {
    weight: Vec<f32>,
    bias: Vec<f32>,
}

impl Norm {
    fn take(weights: &mut WeightFile<'_>, prefix: &str, d: usize) -> Result<Norm> {
        Ok(Norm {
            weight: weights.take(&format!("{prefix}.weight"), &[d])?,
            bias: weights.take(&format!("{prefix}.bias"), &[d])?,
        })
    }
}

/// BSARec's low-pass branch of one block.
#[derive(Debug)]
struct Filter {
    /// The high frequencies' share: the learned beta, squared.
    beta_squared: Vec<f32>,
    norm: Norm,
}

/// One transformer block. The query, key and value projections are apart, so that the last
/// block projects a query for the last row only, and each head reads its keys and values in place
/// when there is one head.
#[derive(Debug)]
struct Block {
    query: Linear,
    key: Linear,
    value: Linear,
    out: Linear,
    attention_norm: Norm,
    filter: Option<Filter>,
    ffn_in: Linear,
    ffn_out: Linear,
    ffn_norm: Norm,
    /// The streaming form's attention bias by head and distance ([heads, reach]).
    rel_bias: Option<Vec<f32>>,
}

fn linear(
    weights: &mut WeightFile<'_>,
    name: &str,
    inputs: usize,
    outputs: usize,
    window: usize,
) -> Result<Linear> {
    let weight = weights.take(&format!("{name}.weight"), &[inputs, outputs])?;
    let bias = weights.take(&format!("{name}.bias"), &[outputs])?;
    Linear::new(&weight, &bias, inputs, window)
}

impl Block {
    fn take(
        weights: &mut WeightFile<'_>,
        i: usize,
        spec: &EncoderSpec,
        d: usize,
        window: usize,
    ) -> Result<Block> {
        let name = |part: &str| format!("blocks.{i}.{part}");
        let qkv = weights.take(&name("qkv.weight"), &[d, 3 * d])?;
        let qkv_bias = weights.take(&name("qkv.bias"), &[3 * d])?;
        let qkv_columns = |from: usize, to: usize| -> Vec<f32> {
            qkv.chunks_exact(3 * d)
                .flat_map(|row| &row[from..to])
                .copied()
                .collect()
        };
        let filter = match spec.low_pass {
            Some(_) => {
                let beta = weights.take(&name("filter_beta"), &[d])?;
                Some(Filter {
                    beta_squared: beta.iter().map(|b| b * b).collect(),
                    norm: Norm::take(weights, &name("ln_filter"), d)?,
                })
            }
            None => None,
        };
        let rel_bias = match spec.reach {
            Some(reach) => Some(weights.take(&name("rel_bias"), &[spec.heads, reach])?),
            None => None,
        };
        Ok(Block {
            query: Linear::new(&qkv_columns(0, d), &qkv_bias[..d], d, window)?,
            key: Linear::new(&qkv_columns(d, 2 * d), &qkv_bias[d..2 * d], d, window)?,
            value: Linear::new(&qkv_columns(2 * d, 3 * d), &qkv_bias[2 * d..], d, window)?,
            out: linear(weights, &name("out"), d, d, window)?,
            attention_norm: Norm::take(weights, &name("ln_att"), d)?,
            filter,
            ffn_in: linear(weights, &name("ffn.0"), d, spec.ffn_width, window)?,
            ffn_out: linear(weights, &name("ffn.2"), spec.ffn_width, d, window)?,
            ffn_norm: Norm::take(weights, &name("ln_ffn"), d)?,
            rel_bias,
        })
    }
}

/// The low-pass filter's matrix over a window of `len` positions: the orthonormal real FFT,
/// keeping the lowest `kept` frequencies, then its inverse, as one linear map ([len, len],
/// row-major), computed in f64 like the exporter's. An entry depends only on the distance between
/// its two positions (cosines are even), so `len` sums make all `len²` entries.
fn low_pass_matrix(len: usize, kept: usize) -> Vec<f32> {
    let n = len as f64;
    let by_distance: Vec<f32> = (0..len)
        .map(|distance| {
            let lag = distance as f64 * 2.0 * std::f64::consts::PI / n;
            let sum: f64 = (0..kept)
                .map(|k| {
                    // Each frequency but the constant and (for an even window) the Nyquist one
                    // stands for its mirror image too.
                    let weight = if k == 0 || 2 * k == len { 1.0 } else { 2.0 };
                    weight * (lag * k as f64).cos()
                })
                .sum();
            (sum / n) as f32
        })
        .collect();
    (0..len * len)
        .map(|i| by_distance[(i / len).abs_diff(i % len)])
        .collect()
}

/// A loaded plain encoder.
#[derive(Debug)]
pub struct PlainEncoder {
    seq_len: usize,
    dims: usize,
    heads: usize,
    epsilon: f32,
    mask: f32,
    activation: Activation,
    /// With the low-pass branch: its [L, L] matrix and its weight against the attention.
    low_pass: Option<(Vec<f32>, f32)>,
    /// The streaming form's reach: how many positions back a block attends.
    reach: Option<usize>,
    /// The position table ([L, d]), in the window form only.
    pos: Option<Vec<f32>>,
    input_norm: Norm,
    blocks: Vec<Block>,
    kernels: Activations,
    products: ChosenKernels,
}

/// One block's query, key and value projections.
#[derive(Default)]
struct Projected {
    query: Vec<f32>,
    key: Vec<f32>,
    value: Vec<f32>,
}

/// Buffers of one forward pass.
#[derive(Default)]
struct Scratch {
    head_query: Vec<f32>,
    head_key: Vec<f32>,
    head_value: Vec<f32>,
    scores: Vec<f32>,
    mixed: Vec<f32>,
    attended: Vec<f32>,
    projected: Vec<f32>,
    low: Vec<f32>,
    hidden: Vec<f32>,
    ffn: Vec<f32>,
    erf: Vec<f32>,
}

impl PlainEncoder {
    /// Reads the weights `spec` declares from `bytes` (the file `spec.weights`), each checked
    /// against its expected shape, and packs them for the matrix kernels.
    pub fn load(
        spec: &EncoderSpec,
        bytes: &[u8],
        seq_len: usize,
        dims: usize,
    ) -> Result<PlainEncoder> {
        let mut weights = WeightFile::parse(&spec.weights, bytes)?;
        let pos = match spec.reach {
            Some(_) => None,
            None => Some(weights.take("pos", &[seq_len, dims])?),
        };
        let input_norm = Norm::take(&mut weights, "ln_in", dims)?;
        let blocks = (0..spec.blocks)
            .map(|i| Block::take(&mut weights, i, spec, dims, seq_len))
            .collect::<Result<Vec<_>>>()?;
        weights.finish()?;
        Ok(PlainEncoder {
            seq_len,
            dims,
            heads: spec.heads,
            epsilon: spec.layer_norm_epsilon,
            mask: spec.mask_value,
            activation: spec.activation,
            low_pass: spec
                .low_pass
                .map(|low| (low_pass_matrix(seq_len, low.frequencies), low.alpha)),
            reach: spec.reach,
            pos,
            input_norm,
            blocks,
            kernels: Activations::native()?,
            products: ChosenKernels::default(),
        })
    }

    /// Runs the encoder on `emb`, `L × d` values row-major (left-padded with zero rows), and
    /// returns the state at the last position.
    pub fn encode(&self, emb: &[f32]) -> Result<Vec<f32>> {
        self.run_window(emb, None)
    }

    /// Whether this is the streaming form, which [`PlainEncoder::encode_streamed`] and
    /// [`PlainEncoder::step`] run.
    pub fn streams(&self) -> bool {
        self.reach.is_some()
    }

    /// The streaming form: runs the encoder on a window as [`PlainEncoder::encode`] does (the
    /// same user vector) and keeps each block's keys and values for its last `reach` positions,
    /// so that [`PlainEncoder::step`] can go on from it. `None` for the window form.
    pub fn encode_streamed(&self, emb: &[f32]) -> Result<Option<EncoderStream>> {
        let Some(reach) = self.reach else {
            return Ok(None);
        };
        let mut stream = EncoderStream::new(self.blocks.len(), reach, self.dims);
        stream.user = self.run_window(emb, Some(&mut stream))?;
        Ok(Some(stream))
    }

    /// The streaming form: encodes one new event, its item row `row` (`d` values), after the
    /// positions `stream` holds, at the cost of one position per block, and returns the stream
    /// with its state as the user vector. On an error the stream is gone (encode the window again).
    pub fn step(&self, mut stream: EncoderStream, row: &[f32]) -> Result<EncoderStream> {
        let d = self.dims;
        let fits = self
            .reach
            .is_some_and(|reach| stream.fits(self.blocks.len(), reach, d));
        if row.len() != d || !fits {
            return Err(Error::Inference(format!(
                "a streamed event is {d} values into a stream this encoder made ({} blocks, reach {:?})",
                self.blocks.len(),
                self.reach
            )));
        }
        stream.kept.push(row.iter().any(|v| *v != 0.0));
        let held = stream.held();
        let keep = &stream.kept[stream.kept.len() - held..];
        let mut x = row.to_vec();
        let norm = &self.input_norm;
        layer_norm(&mut x, &norm.weight, &norm.bias, self.epsilon);
        let (mut p, mut s) = (Projected::default(), Scratch::default());
        for (block, cache) in self.blocks.iter().zip(&mut stream.blocks) {
            block.query.apply(&x, 1, &mut p.query)?;
            block.key.apply(&x, 1, &mut p.key)?;
            block.value.apply(&x, 1, &mut p.value)?;
            cache.keys.extend_from_slice(&p.key);
            cache.values.extend_from_slice(&p.value);
            let from = cache.keys.len() - held * d;
            let (keys, values) = (&cache.keys[from..], &cache.values[from..]);
            self.attend(block, keep, held - 1, 1, (&p.query, keys, values), &mut s)?;
            let h = self.attention_out(block, &x, 1, &mut s)?;
            x = self.feed_forward(block, h, 1, &mut s)?;
        }
        stream.trim();
        stream.user = finite(x)?;
        Ok(stream)
    }

    /// The state at the last position of the window `emb`; with `capture`, each block's keys and
    /// values for its last `reach` rows go there too.
    fn run_window(&self, emb: &[f32], mut capture: Option<&mut EncoderStream>) -> Result<Vec<f32>> {
        let (l, d) = (self.seq_len, self.dims);
        if emb.len() != l * d {
            return Err(Error::Inference(format!(
                "the window must be {l} x {d} values"
            )));
        }
        // A row is padding when all its values are zero; rows before the first event matter to
        // no kept row, so the pass starts there (or at 0 when the window holds no event).
        let keep: Vec<bool> = emb
            .chunks_exact(d)
            .map(|row| row.iter().any(|v| *v != 0.0))
            .collect();
        let start = keep.iter().position(|k| *k).unwrap_or(0);
        let keep = &keep[start..];
        let rows = keep.len();
        let mut x: Vec<f32> = match &self.pos {
            Some(pos) => emb[start * d..]
                .iter()
                .zip(&pos[start * d..])
                .map(|(e, p)| e + p)
                .collect(),
            None => emb[start * d..].to_vec(),
        };
        layer_norm(
            &mut x,
            &self.input_norm.weight,
            &self.input_norm.bias,
            self.epsilon,
        );
        let kept_from = rows - rows.min(self.reach.unwrap_or(0));
        // Room for every row a cache holds between trims, so that no later event reallocates it.
        let room = capture.as_deref().map_or(0, EncoderStream::most_rows);
        if let Some(stream) = capture.as_deref_mut() {
            stream.kept = Vec::with_capacity(room);
            stream.kept.extend_from_slice(&keep[kept_from..]);
        }
        let (mut p, mut scratch) = (Projected::default(), Scratch::default());
        for (i, block) in self.blocks.iter().enumerate() {
            let last = i + 1 == self.blocks.len();
            let queries = if last { 1 } else { rows };
            x = self.block(block, &x, keep, start, queries, &mut p, &mut scratch)?;
            if let Some(stream) = capture.as_deref_mut() {
                let cache = &mut stream.blocks[i];
                for (kept, from) in [(&mut cache.keys, &p.key), (&mut cache.values, &p.value)] {
                    *kept = Vec::with_capacity(room * d);
                    kept.extend_from_slice(&from[kept_from * d..]);
                }
            }
        }
        finite(x[x.len() - d..].to_vec())
    }

    /// One block over `x` (`keep.len()` rows from window position `start`), for its last
    /// `queries` rows: their states (the projections stay in `p`).
    // The block's inputs and its buffers, each used once: a struct of them would only rename them.
    #[allow(clippy::too_many_arguments)]
    fn block(
        &self,
        block: &Block,
        x: &[f32],
        keep: &[bool],
        start: usize,
        queries: usize,
        p: &mut Projected,
        s: &mut Scratch,
    ) -> Result<Vec<f32>> {
        let d = self.dims;
        let rows = keep.len();
        let first_query = rows - queries;
        let x_query = &x[first_query * d..];
        block.query.apply(x_query, queries, &mut p.query)?;
        block.key.apply(x, rows, &mut p.key)?;
        block.value.apply(x, rows, &mut p.value)?;
        self.attend(
            block,
            keep,
            first_query,
            queries,
            (&p.query, &p.key, &p.value),
            s,
        )?;
        let mut h = self.attention_out(block, x_query, queries, s)?;
        if let (Some(filter), Some((matrix, alpha))) = (&block.filter, &self.low_pass) {
            let filtered = self.low_pass(filter, matrix, x, keep, start, first_query, s)?;
            let beta = 1.0 - alpha;
            for (h, f) in h.iter_mut().zip(&filtered) {
                *h = alpha * f + beta * *h;
            }
        }
        self.feed_forward(block, h, queries, s)
    }

    /// The attention's output `s.attended` for the `queries` rows `x_query`, projected, added to
    /// them and layer-normed.
    fn attention_out(
        &self,
        block: &Block,
        x_query: &[f32],
        queries: usize,
        s: &mut Scratch,
    ) -> Result<Vec<f32>> {
        block.out.apply(&s.attended, queries, &mut s.projected)?;
        let mut h: Vec<f32> = x_query
            .iter()
            .zip(&s.projected)
            .map(|(a, b)| a + b)
            .collect();
        let norm = &block.attention_norm;
        layer_norm(&mut h, &norm.weight, &norm.bias, self.epsilon);
        Ok(h)
    }

    /// The feed-forward layer over `queries` rows `h`, added to them and layer-normed.
    fn feed_forward(
        &self,
        block: &Block,
        mut h: Vec<f32>,
        queries: usize,
        s: &mut Scratch,
    ) -> Result<Vec<f32>> {
        block.ffn_in.apply(&h, queries, &mut s.hidden)?;
        match self.activation {
            Activation::Gelu => self.kernels.gelu(&mut s.hidden, &mut s.erf)?,
            Activation::Relu => s.hidden.iter_mut().for_each(|v| *v = v.max(0.0)),
        }
        block.ffn_out.apply(&s.hidden, queries, &mut s.ffn)?;
        for (h, f) in h.iter_mut().zip(&s.ffn) {
            *h += f;
        }
        let norm = &block.ffn_norm;
        layer_norm(&mut h, &norm.weight, &norm.bias, self.epsilon);
        Ok(h)
    }

    /// Causal attention of the last `queries` rows (their `query` projections) over every kept
    /// row (`key`, `value`: one per `keep`) in reach, head by head, into `s.attended`
    /// ([queries, d]).
    fn attend(
        &self,
        block: &Block,
        keep: &[bool],
        first_query: usize,
        queries: usize,
        (query, key, value): (&[f32], &[f32], &[f32]),
        s: &mut Scratch,
    ) -> Result<()> {
        let (d, rows) = (self.dims, keep.len());
        let head = d / self.heads;
        let scale = (1.0 / (head as f64).sqrt()) as f32;
        s.attended.clear();
        s.attended.resize(queries * d, 0.0);
        for h in 0..self.heads {
            let span = h * head..(h + 1) * head;
            let query = columns(query, d, span.clone(), &mut s.head_query);
            let key = columns(key, d, span.clone(), &mut s.head_key);
            self.products.matmul(
                query,
                key,
                queries,
                head,
                rows,
                Transposed::B,
                &mut s.scores,
            )?;
            for (qi, row) in s.scores.chunks_exact_mut(rows).enumerate() {
                let at = first_query + qi;
                for (j, score) in row.iter_mut().enumerate() {
                    let in_reach = j <= at && self.reach.is_none_or(|reach| at - j < reach);
                    let causal = if in_reach { 0.0 } else { self.mask };
                    let padding = if keep[j] { 0.0 } else { self.mask };
                    let relative = match (&block.rel_bias, self.reach) {
                        (Some(bias), Some(reach)) if in_reach => bias[h * reach + at - j],
                        _ => 0.0,
                    };
                    *score = *score * scale + ((causal + padding) + relative);
                }
            }
            // A masked score is at most the mask value plus the largest score: its weight is 0.
            self.kernels
                .softmax_rows(&mut s.scores, rows, self.mask / 2.0);
            let value = columns(value, d, span.clone(), &mut s.head_value);
            self.products.matmul(
                &s.scores,
                value,
                queries,
                rows,
                head,
                Transposed::No,
                &mut s.mixed,
            )?;
            for (out, mixed) in s
                .attended
                .chunks_exact_mut(d)
                .zip(s.mixed.chunks_exact(head))
            {
                out[span.clone()].copy_from_slice(mixed);
            }
        }
        Ok(())
    }

    /// The low-pass branch for the rows from `first_query` on: `norm(x + low + beta² (x - low))`,
    /// `low` the filter over the kept rows.
    // The block's inputs and its scratch, each used once: a struct of them would only rename them.
    #[allow(clippy::too_many_arguments)]
    fn low_pass(
        &self,
        filter: &Filter,
        matrix: &[f32],
        x: &[f32],
        keep: &[bool],
        start: usize,
        first_query: usize,
        s: &mut Scratch,
    ) -> Result<Vec<f32>> {
        let (d, l, rows) = (self.dims, self.seq_len, keep.len());
        let queries = rows - first_query;
        let kept: Vec<f32> = x
            .chunks_exact(d)
            .zip(keep)
            .flat_map(|(row, k)| row.iter().map(move |v| if *k { *v } else { 0.0 }))
            .collect();
        // The filter's rows for the queried positions, over the positions from `start` on.
        let part: Vec<f32> = (start + first_query..l)
            .flat_map(|t| matrix[t * l + start..(t + 1) * l].iter().copied())
            .collect();
        self.products
            .matmul(&part, &kept, queries, rows, d, Transposed::No, &mut s.low)?;
        let mut out: Vec<f32> = x[first_query * d..]
            .chunks_exact(d)
            .zip(s.low.chunks_exact(d))
            .flat_map(|(x, low)| {
                x.iter()
                    .zip(low)
                    .zip(&filter.beta_squared)
                    .map(|((x, low), b)| x + (low + b * (x - low)))
            })
            .collect();
        layer_norm(
            &mut out,
            &filter.norm.weight,
            &filter.norm.bias,
            self.epsilon,
        );
        Ok(out)
    }
}

/// `user`, unless a value of it is not finite.
fn finite(user: Vec<f32>) -> Result<Vec<f32>> {
    if user.iter().any(|v| !v.is_finite()) {
        return Err(Error::Inference("the user vector is not finite".into()));
    }
    Ok(user)
}

/// Columns `span` of a row-major matrix `width` wide, as a row-major matrix of their own: the
/// matrix itself when the span is all of it (one head), else a copy in `out`.
fn columns<'a>(
    m: &'a [f32],
    width: usize,
    span: std::ops::Range<usize>,
    out: &'a mut Vec<f32>,
) -> &'a [f32] {
    if span.len() == width {
        return m;
    }
    out.clear();
    out.extend(m.chunks_exact(width).flat_map(|row| &row[span.clone()]));
    out
}
