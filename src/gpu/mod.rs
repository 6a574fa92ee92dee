//! The GPU path (cargo feature `gpu`): the int8 item table lives on the GPU; a query scores every
//! row and selects the top k there (`src/shaders/`), and only k pairs are read back. The keys are
//! the CPU's exactly (integer dot products, one f32 multiply), so the ranking is the same.
//!
//! Natively wgpu runs over Vulkan; in wasm over the browser's WebGPU. Any failure (no adapter,
//! a failed request, a lost device) is a [`GpuError`], on which the engine falls back to the CPU.

mod device;
mod path;

use wgpu::util::DeviceExt;

use crate::catalog::{Catalog, Embeddings};

pub use device::{request_device, Failure, GpuDevice};
pub use path::{GpuJob, GpuPath, GpuQuery};

/// How the engine and a pending ranking share the GPU ranker: wgpu's types are not `Send` in
/// wasm, so a plain `Rc` there; an `Arc` natively, so the engine stays `Send`.
#[cfg(target_arch = "wasm32")]
pub type Shared<T> = std::rc::Rc<T>;
/// How the engine and a pending ranking share the GPU ranker (an `Arc` natively).
#[cfg(not(target_arch = "wasm32"))]
pub type Shared<T> = std::sync::Arc<T>;

/// The largest k the GPU selects; larger requests rank on the CPU.
pub const MAX_K: usize = 256;
/// Rows one workgroup sorts; the kernels' `SORT`, prepended to them by [`shader`].
const SORT: u32 = 1024;
/// The scoring pass's uniform: four u32 and the packed query (up to 1024 dims).
const SCORE_PARAMS_BYTES: u64 = 16 + 1024;
/// Merge rounds prepared: enough for 1024 × 4⁸ rows at the smallest reduction (keep = 256).
const MAX_ROUNDS: usize = 8;

/// Why the GPU could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("GPU unavailable: {0}")]
pub struct GpuError(pub String);

/// The catalogue's int8 table on the GPU, with the pipelines that rank it.
#[derive(Debug)]
pub struct GpuRanker {
    device: wgpu::Device,
    queue: wgpu::Queue,
    rows: u32,
    words_per_row: u32,
    score: wgpu::ComputePipeline,
    merge: wgpu::ComputePipeline,
    set_aside: wgpu::Buffer,
    /// Uniforms: [0] the scoring pass, [1..] the merge rounds.
    params: Vec<wgpu::Buffer>,
    /// Ping-pong buffers of (key, row) pairs between rounds.
    pairs: [wgpu::Buffer; 2],
    score_group: wgpu::BindGroup,
    /// Round r reads `pairs[r % 2]`, writes the other, with uniform `params[r + 1]`.
    merge_groups: Vec<wgpu::BindGroup>,
    failure: Failure,
}

fn shader(device: &wgpu::Device, label: &str, kernel: &str) -> wgpu::ShaderModule {
    // The constants the kernels share with this file come first, written from here.
    let source = format!(
        "const SORT: u32 = {SORT}u;\n{}\n{}",
        include_str!("../shaders/sort.wgsl"),
        kernel
    );
    device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(label),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    })
}

fn pipeline(device: &wgpu::Device, label: &str, kernel: &str) -> wgpu::ComputePipeline {
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(label),
        layout: None,
        module: &shader(device, label, kernel),
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    })
}

/// Packs int8 values four to a little-endian u32, each row padded to whole words.
fn pack_rows(values: &[i8], dims: usize) -> Vec<u32> {
    let words = dims.div_ceil(4);
    let mut packed = vec![0u32; (values.len() / dims.max(1)) * words];
    for (row, chunk) in values.chunks_exact(dims).enumerate() {
        for (i, &v) in chunk.iter().enumerate() {
            packed[row * words + i / 4] |= u32::from(v as u8) << (8 * (i % 4));
        }
    }
    packed
}

fn u32_bytes(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// The `(pairs in, keep)` of each merge round after scoring `rows`, until one group remains.
fn merge_rounds(rows: u32, keep: u32) -> Vec<(u32, u32)> {
    let mut rounds = Vec::new();
    let mut pairs = rows.div_ceil(SORT) * keep;
    while pairs > keep {
        rounds.push((pairs, pairs.div_ceil(SORT)));
        pairs = pairs.div_ceil(SORT) * keep;
    }
    rounds
}

impl GpuRanker {
    /// Uploads `catalog`'s table. Only int8 tables rank on the GPU (float sums could differ from
    /// the CPU's by rounding); a table over the device's buffer limits is refused too.
    pub fn new(gpu: GpuDevice, catalog: &Catalog) -> Result<GpuRanker, GpuError> {
        let Embeddings::Int8 { values, scales } = catalog.embeddings() else {
            return Err(GpuError("the item table is not int8".into()));
        };
        let GpuDevice {
            device,
            queue,
            failure,
        } = gpu;
        let dims = catalog.dims();
        let rows = u32::try_from(catalog.len()).map_err(|_| GpuError("too many items".into()))?;
        let words_per_row = dims.div_ceil(4) as u32;
        let table_bytes = u64::from(rows) * u64::from(words_per_row) * 4;
        let limits = device.limits();
        if table_bytes > limits.max_storage_buffer_binding_size || rows == 0 {
            return Err(GpuError(format!(
                "the item table ({table_bytes} bytes) exceeds this device's storage binding limit"
            )));
        }
        let storage = |label, contents: &[u8], usage| {
            device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents,
                usage: wgpu::BufferUsages::STORAGE | usage,
            })
        };
        let table = storage(
            "items",
            &u32_bytes(&pack_rows(values, dims)),
            wgpu::BufferUsages::empty(),
        );
        let scale_bytes: Vec<u8> = scales.iter().flat_map(|s| s.to_le_bytes()).collect();
        let scales = storage("scales", &scale_bytes, wgpu::BufferUsages::empty());
        let mask_words = rows.div_ceil(32) as usize;
        let set_aside = storage(
            "set aside",
            &vec![0u8; mask_words * 4],
            wgpu::BufferUsages::COPY_DST,
        );
        let pair_bytes = u64::from(rows.div_ceil(SORT)) * MAX_K as u64 * 8;
        let pairs = [0, 1].map(|_| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("pairs"),
                size: pair_bytes,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            })
        });
        let params: Vec<wgpu::Buffer> = (0..=MAX_ROUNDS)
            .map(|round| {
                device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("params"),
                    size: if round == 0 { SCORE_PARAMS_BYTES } else { 16 },
                    usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                })
            })
            .collect();
        let score = pipeline(
            &device,
            "score_topk",
            include_str!("../shaders/score_topk.wgsl"),
        );
        let merge = pipeline(
            &device,
            "merge_topk",
            include_str!("../shaders/merge_topk.wgsl"),
        );
        let bind = |pipeline: &wgpu::ComputePipeline, buffers: &[&wgpu::Buffer]| {
            let entries: Vec<wgpu::BindGroupEntry> = buffers
                .iter()
                .enumerate()
                .map(|(i, b)| wgpu::BindGroupEntry {
                    binding: i as u32,
                    resource: b.as_entire_binding(),
                })
                .collect();
            device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: None,
                layout: &pipeline.get_bind_group_layout(0),
                entries: &entries,
            })
        };
        let score_group = bind(
            &score,
            &[&table, &scales, &set_aside, &pairs[0], &params[0]],
        );
        let merge_groups = (0..MAX_ROUNDS)
            .map(|r| {
                bind(
                    &merge,
                    &[&pairs[r % 2], &pairs[(r + 1) % 2], &params[r + 1]],
                )
            })
            .collect();
        if let Some(error) = failure.get() {
            return Err(error);
        }
        Ok(GpuRanker {
            device,
            queue,
            rows,
            words_per_row,
            score,
            merge,
            set_aside,
            params,
            pairs,
            score_group,
            merge_groups,
            failure,
        })
    }

    /// Whether the device has failed or been lost: the engine then uses the CPU for good.
    pub fn has_failed(&self) -> bool {
        self.failure.get().is_some()
    }

    /// Destroys the device, as a driver reset or a lost GPU would (for tests of the fallback).
    pub fn lose_device(&self) {
        self.device.destroy();
    }

    /// The best `k` (≤ [`MAX_K`]) ranking keys of the user's int8 vector `query` over every row
    /// not in `set_aside`, best first, equal keys by ascending row; as `(key, row)` where the key
    /// is `f32(Σ q·e) × scale_row`, bit for bit the CPU's.
    pub async fn top_k(
        &self,
        query: &[i8],
        k: usize,
        set_aside: &[usize],
    ) -> Result<Vec<(f32, usize)>, GpuError> {
        if let Some(error) = self.failure.get() {
            return Err(error);
        }
        if k == 0 || k > MAX_K {
            return Err(GpuError(format!("k must be 1 to {MAX_K} on the GPU")));
        }
        let keep = (k as u32).next_power_of_two().max(32);
        let rounds = merge_rounds(self.rows, keep);
        if rounds.len() > MAX_ROUNDS {
            return Err(GpuError(
                "the catalogue needs more merge rounds than prepared".into(),
            ));
        }
        if !set_aside.is_empty() {
            let mut mask = vec![0u32; self.rows.div_ceil(32) as usize];
            for &row in set_aside.iter().filter(|&&r| r < self.rows as usize) {
                mask[row / 32] |= 1 << (row % 32);
            }
            self.queue
                .write_buffer(&self.set_aside, 0, &u32_bytes(&mask));
        }
        let masked = u32::from(!set_aside.is_empty());
        let mut score_params = vec![self.rows, self.words_per_row, keep, masked];
        score_params.extend(pack_rows(query, query.len().max(1)));
        score_params.resize(SCORE_PARAMS_BYTES as usize / 4, 0);
        self.queue
            .write_buffer(&self.params[0], 0, &u32_bytes(&score_params));
        let mut encoder = self.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&self.score);
            pass.set_bind_group(0, &self.score_group, &[]);
            pass.dispatch_workgroups(self.rows.div_ceil(SORT), 1, 1);
        }
        for (round, &(pairs, groups)) in rounds.iter().enumerate() {
            self.queue
                .write_buffer(&self.params[round + 1], 0, &u32_bytes(&[pairs, keep, 0, 0]));
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&self.merge);
            pass.set_bind_group(0, &self.merge_groups[round], &[]);
            pass.dispatch_workgroups(groups, 1, 1);
        }
        let result = &self.pairs[rounds.len() % 2];
        let bytes = u64::from(keep) * 8;
        let readback = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        encoder.copy_buffer_to_buffer(result, 0, &readback, 0, bytes);
        self.queue.submit([encoder.finish()]);
        let (sender, receiver) = futures_channel::oneshot::channel();
        readback.map_async(wgpu::MapMode::Read, .., move |outcome| {
            let _ = sender.send(outcome);
        });
        device::wait(&self.device);
        let mapped = receiver
            .await
            .map_err(|_| GpuError("the readback was dropped".into()))?;
        mapped.map_err(|e| GpuError(format!("reading the result back failed: {e}")))?;
        if let Some(error) = self.failure.get() {
            return Err(error);
        }
        let words: Vec<u32> = readback
            .slice(..)
            .get_mapped_range()
            .map_err(|e| GpuError(format!("reading the result back failed: {e}")))?
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        readback.unmap();
        Ok(words
            .chunks_exact(2)
            .filter(|pair| pair[1] < self.rows)
            .take(k)
            .map(|pair| (key_of_orderable(pair[0]), pair[1] as usize))
            .collect())
    }
}

/// Inverts `orderable` in `sort.wgsl`.
fn key_of_orderable(bits: u32) -> f32 {
    f32::from_bits(if bits & 0x8000_0000 != 0 {
        bits & 0x7fff_ffff
    } else {
        !bits
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orderable_keys_round_trip() {
        for key in [0.0f32, 1.5, -1.5, f32::MAX, -f32::MAX, 1e-30, -1e-30] {
            let bits = key.to_bits();
            let ordered = if bits & 0x8000_0000 != 0 {
                !bits
            } else {
                bits | 0x8000_0000
            };
            assert_eq!(key_of_orderable(ordered).to_bits(), bits);
        }
    }

    #[test]
    fn rows_pack_little_endian_and_pad() {
        assert_eq!(
            pack_rows(&[1, -1, 2, 3, 4, 5], 3),
            [0x0002_ff01, 0x0005_0403]
        );
    }

    #[test]
    fn merge_rounds_end_with_one_group() {
        assert!(merge_rounds(1000, 128).is_empty());
        assert_eq!(
            merge_rounds(1_000_000, 128),
            [(125_056, 123), (15_744, 16), (2048, 2), (256, 1)]
        );
    }
}
