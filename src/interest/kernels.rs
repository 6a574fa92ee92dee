//! The arithmetic of the plain encoder on tract-linalg's kernels: matrix products on its
//! matrix-multiply micro-kernels (the wasm SIMD128 ones in the web build) and the exact GELU's erf
//! on its element-wise kernel, as tract's ONNX operators run them. Layer norm and softmax, a few
//! thousand values a block, stay plain Rust (see [`Activations::softmax_rows`] for why).

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use tract_data::internal::{format_err, DatumType, Tensor, TractError, TractResult};
use tract_linalg::element_wise::ElementWise;
use tract_linalg::mmm::{AsInputValue, FusedSpec, MMMInputValue, MatMatMul};
use tract_linalg::routines::Func;
use tract_linalg::{BinOp, MmmDispatch};

use crate::error::{Error, Result};

fn failed(e: TractError) -> Error {
    Error::Inference(format!("{e:#}"))
}

fn invalid(e: TractError) -> Error {
    Error::InvalidModel(format!("{e:#}"))
}

/// A kernel for products with `m` output rows and `k` inner terms, chosen for `n` columns.
fn kernel(m: usize, k: usize, n: usize) -> TractResult<Box<dyn MatMatMul>> {
    MmmDispatch::native()
        .preferred_kernel(DatumType::F32, Some(m), Some(k), Some(n))
        .ok_or_else(|| format_err!("no f32 matrix kernel for {m}x{k}x{n}"))
}

/// One kernel with the weights packed for it.
struct Packed {
    kernel: Box<dyn MatMatMul>,
    weights: Box<dyn MMMInputValue>,
}

impl Packed {
    fn new(weights: &Tensor, out: usize, inner: usize, rows: usize) -> TractResult<Packed> {
        let kernel = kernel(out, inner, rows)?;
        // `weights` is [inner, out]: k on axis 0, m on axis 1.
        let packed = kernel.packings()[0].0.prepare_one(weights, 0, 1)?;
        Ok(Packed {
            kernel,
            weights: packed,
        })
    }
}

/// A dense layer `y = x @ W + b`, `W` [in, out]: packed once at load for a window of rows, and
/// kept as it is for a single row (the last block's, a streamed event's), which a plain loop
/// computes faster than a packed product's set-up.
pub struct Linear {
    inputs: usize,
    outputs: usize,
    bias: Tensor,
    rows: Packed,
    weight: Vec<f32>,
}

impl std::fmt::Debug for Linear {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Linear")
            .field("inputs", &self.inputs)
            .field("outputs", &self.outputs)
            .finish_non_exhaustive()
    }
}

impl Linear {
    /// Packs `weight` ([inputs, outputs], row-major) and keeps `bias` ([outputs]); `window` is the
    /// most rows it will be applied to at once.
    pub fn new(weight: &[f32], bias: &[f32], inputs: usize, window: usize) -> Result<Linear> {
        let outputs = bias.len();
        let w = Tensor::from_shape(&[inputs, outputs], weight).map_err(invalid)?;
        Ok(Linear {
            inputs,
            outputs,
            bias: Tensor::from_shape(&[outputs], bias).map_err(invalid)?,
            rows: Packed::new(&w, outputs, inputs, window.max(2)).map_err(invalid)?,
            weight: weight.to_vec(),
        })
    }

    /// `rows` rows of `x` (row-major, `inputs` wide) through the layer, into `y` (resized).
    pub fn apply(&self, x: &[f32], rows: usize, y: &mut Vec<f32>) -> Result<()> {
        if rows == 1 {
            y.clear();
            y.extend_from_slice(self.bias.view().as_slice::<f32>().map_err(failed)?);
            vector_times(&x[..self.inputs], &self.weight, y);
            return Ok(());
        }
        let x =
            Tensor::from_shape(&[rows, self.inputs], &x[..rows * self.inputs]).map_err(failed)?;
        let mut c = Tensor::zero::<f32>(&[rows, self.outputs]).map_err(failed)?;
        run(&self.rows, &x, &self.bias, &mut c, rows).map_err(failed)?;
        y.clear();
        y.extend_from_slice(c.view().as_slice::<f32>().map_err(failed)?);
        Ok(())
    }
}

fn run(packed: &Packed, x: &Tensor, bias: &Tensor, c: &mut Tensor, rows: usize) -> TractResult<()> {
    let mmm = &packed.kernel;
    // x is [rows, inputs]: k on axis 1, n on axis 0.
    let b = mmm.packings()[0].1.prepare_one(x, 1, 0)?;
    let outputs = bias.len();
    // SAFETY: the packed operands were prepared by this kernel's packing 0 for an
    // [outputs x inputs] by [inputs x rows] product, and `c` is [rows, outputs], its m axis 1
    // and n axis 0; the bias holds one value per output.
    unsafe {
        let store = mmm.c_view(Some(1), Some(0)).wrap(&c.view_mut());
        mmm.run(
            outputs,
            rows,
            &[
                FusedSpec::AddMatMul {
                    a: AsInputValue::Borrowed(&*packed.weights),
                    b: AsInputValue::Borrowed(&*b),
                    packing: 0,
                },
                FusedSpec::BinPerRow(bias.view(), BinOp::Add),
                FusedSpec::Store(store),
            ],
        )
    }
}

/// How the right-hand operand of [`matmul`] is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transposed {
    /// `b` is [k, n].
    No,
    /// `b` is [n, k] (attention scores: the keys, row by row).
    B,
}

/// The matrix kernel chosen for each shape of product the encoder has run, so that a kernel is
/// chosen once per shape rather than once per product (at most a few per window length). Behind a
/// lock, not a `RefCell`, so that a loaded model stays `Sync`: one model, shared between threads.
#[derive(Default)]
pub struct ChosenKernels(RwLock<HashMap<Shape, Arc<dyn MatMatMul>>>);

/// A product's shape: `(m, k, n)`.
type Shape = (usize, usize, usize);

impl ChosenKernels {
    fn get(&self, m: usize, k: usize, n: usize) -> TractResult<Arc<dyn MatMatMul>> {
        // A poisoned lock still holds whole entries: each is inserted in one step.
        let known = self.0.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(kernel) = known.get(&(m, k, n)) {
            return Ok(kernel.clone());
        }
        drop(known);
        let chosen: Arc<dyn MatMatMul> = Arc::from(kernel(m, k, n)?);
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((m, k, n), chosen.clone());
        Ok(chosen)
    }

    /// `c = a @ b` for row-major `a` [m, k] and `b` (see [`Transposed`]), both given per call
    /// (attention scores and mixing, the low-pass filter), into `c` (resized to [m, n]). A single
    /// row (`m` 1: the last block's query, a streamed event's) is a plain loop.
    // A BLAS-style signature: the operands, their shape and layout, the output.
    #[allow(clippy::too_many_arguments)]
    pub fn matmul(
        &self,
        a: &[f32],
        b: &[f32],
        m: usize,
        k: usize,
        n: usize,
        layout: Transposed,
        c: &mut Vec<f32>,
    ) -> Result<()> {
        if m == 1 {
            c.clear();
            match layout {
                Transposed::No => {
                    c.resize(n, 0.0);
                    vector_times(&a[..k], &b[..k * n], c);
                }
                Transposed::B => c.extend(
                    b[..k * n]
                        .chunks_exact(k)
                        .map(|row| row.iter().zip(a).map(|(x, y)| x * y).sum::<f32>()),
                ),
            }
            return Ok(());
        }
        let mut product = || -> TractResult<()> {
            let mmm = self.get(m, k, n)?;
            let (pa, pb) = &mmm.packings()[0];
            let a = pa.prepare_one(&Tensor::from_shape(&[m, k], &a[..m * k])?, 1, 0)?;
            let b = match layout {
                Transposed::No => {
                    pb.prepare_one(&Tensor::from_shape(&[k, n], &b[..k * n])?, 0, 1)?
                }
                Transposed::B => {
                    pb.prepare_one(&Tensor::from_shape(&[n, k], &b[..k * n])?, 1, 0)?
                }
            };
            let mut out = Tensor::zero::<f32>(&[m, n])?;
            // SAFETY: both operands were packed by this kernel's packing 0 for an [m x k] by [k x n]
            // product, and `out` is [m, n] with m on axis 0 and n on axis 1.
            unsafe {
                let store = mmm.c_view(Some(0), Some(1)).wrap(&out.view_mut());
                mmm.run(
                    m,
                    n,
                    &[
                        FusedSpec::AddMatMul {
                            a: AsInputValue::Borrowed(&*a),
                            b: AsInputValue::Borrowed(&*b),
                            packing: 0,
                        },
                        FusedSpec::Store(store),
                    ],
                )?;
            }
            c.clear();
            c.extend_from_slice(out.view().as_slice::<f32>()?);
            Ok(())
        };
        product().map_err(failed)
    }
}

impl std::fmt::Debug for ChosenKernels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChosenKernels").finish_non_exhaustive()
    }
}

/// tract-linalg's element-wise kernels that the encoder runs, looked up once, and the softmax.
pub struct Activations {
    erf: Box<dyn ElementWise<f32>>,
}

impl std::fmt::Debug for Activations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Activations").finish_non_exhaustive()
    }
}

impl Activations {
    /// The kernels this machine runs best.
    pub fn native() -> Result<Activations> {
        let found = || -> TractResult<Activations> {
            Ok(Activations {
                erf: Func::Erf.ew_f32()?,
            })
        };
        found().map_err(invalid)
    }

    /// The exact GELU, `x * (erf(x / sqrt 2) + 1) / 2`, in place, in the exported graph's order.
    pub fn gelu(&self, x: &mut [f32], scratch: &mut Vec<f32>) -> Result<()> {
        scratch.clear();
        scratch.extend(x.iter().map(|v| v / std::f32::consts::SQRT_2));
        self.erf.run(scratch).map_err(failed)?;
        for (v, e) in x.iter_mut().zip(scratch.iter()) {
            *v = *v * (e + 1.0) * 0.5;
        }
        Ok(())
    }

    /// Softmax over each `len`-wide row of `rows`, in place. In a row whose largest entry is
    /// above `floor`, entries at or below it (masked scores, whose weight underflows to zero)
    /// are set to zero without an exponential.
    /// Plain Rust: tract-linalg's exp-sum kernel sums a row's lanes in an order that depends on
    /// the row's length and place in memory, and the same window must always score the same (an
    /// explanation's effect is an exact difference of two scores).
    pub fn softmax_rows(&self, rows: &mut [f32], len: usize, floor: f32) {
        for row in rows.chunks_mut(len) {
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let floor = if max > floor {
                floor
            } else {
                f32::NEG_INFINITY
            };
            let mut sum = 0.0;
            for v in row.iter_mut() {
                *v = if *v <= floor { 0.0 } else { (*v - max).exp() };
                sum += *v;
            }
            let inverse = sum.recip();
            for v in row.iter_mut() {
                *v *= inverse;
            }
        }
    }
}

/// `y += x @ w` for a row `x` [k] and a row-major `w` [k, y.len()]: one scaled row of `w` added
/// per input, `LANES` outputs at a time held in registers (a loop the compiler vectorises); each
/// output sums its terms in input order.
fn vector_times(x: &[f32], w: &[f32], y: &mut [f32]) {
    const LANES: usize = 32;
    let n = y.len();
    let mut blocks = y.chunks_exact_mut(LANES);
    for (b, out) in (&mut blocks).enumerate() {
        let mut acc = [0f32; LANES];
        acc.copy_from_slice(out);
        for (xi, row) in x.iter().zip(w.chunks_exact(n)) {
            for (a, wo) in acc.iter_mut().zip(&row[b * LANES..(b + 1) * LANES]) {
                *a += xi * wo;
            }
        }
        out.copy_from_slice(&acc);
    }
    let rest = blocks.into_remainder();
    let from = n - rest.len();
    for (xi, row) in x.iter().zip(w.chunks_exact(n)) {
        for (yo, wo) in rest.iter_mut().zip(&row[from..]) {
            *yo += xi * wo;
        }
    }
}

/// Layer norm over each `width`-wide row in place: `(x - mean) / sqrt(var + eps) * w + b`, the
/// variance biased (over the row), as ONNX's LayerNormalization computes it.
pub fn layer_norm(rows: &mut [f32], weight: &[f32], bias: &[f32], eps: f32) {
    let width = weight.len();
    for row in rows.chunks_mut(width) {
        let mean = row.iter().sum::<f32>() / width as f32;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / width as f32;
        let inv = 1.0 / (var + eps).sqrt();
        for ((v, w), b) in row.iter_mut().zip(weight).zip(bias) {
            *v = (*v - mean) * inv * w + b;
        }
    }
}
