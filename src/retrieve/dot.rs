//! The int8 dot product every CPU score is made of, exact in i32: the user's query widened to i16
//! once, then per row wasm SIMD128 where the wasm is built with it (the release and the tests
//! are), SSE2 on x86-64 (every x86-64 CPU has it), and a plain loop elsewhere. All three return
//! the same integer (exact for any width the engine accepts: 1024 × 128 × 128 < 2³¹).

/// A query widened once to i16 and padded to whole 16-lane chunks: the per-row work then widens
/// only the row's bytes.
#[derive(Debug, Clone)]
pub struct WideQuery {
    lanes: Vec<i16>,
}

impl WideQuery {
    /// Widens `query`.
    pub fn new(query: &[i8]) -> WideQuery {
        let mut lanes: Vec<i16> = query.iter().map(|&v| i16::from(v)).collect();
        lanes.resize(query.len().div_ceil(16) * 16, 0);
        WideQuery { lanes }
    }

    /// `Σ query[i]·row[i]` over `row` (as long as the query, or shorter).
    #[inline]
    pub fn dot(&self, row: &[i8]) -> i32 {
        let whole = row.len() - row.len() % 16;
        let tail: i32 = row[whole..]
            .iter()
            .zip(&self.lanes[whole..])
            .map(|(&x, &q)| i32::from(x) * i32::from(q))
            .sum();
        wide_dot(&row[..whole], &self.lanes[..whole]) + tail
    }
}

/// Dot product of int8 `row` with i16 `query` lanes, both a multiple of 16 long.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn wide_dot(row: &[i8], query: &[i16]) -> i32 {
    use core::arch::wasm32::*;
    let mut acc = i32x4_splat(0);
    for (x, q) in row.chunks_exact(16).zip(query.chunks_exact(16)) {
        // SAFETY: `x` is 16 bytes, `q` 16 lanes (32 bytes); v128_load allows unaligned addresses.
        let (x, q0, q1) = unsafe {
            (
                v128_load(x.as_ptr().cast::<v128>()),
                v128_load(q.as_ptr().cast::<v128>()),
                v128_load(q.as_ptr().add(8).cast::<v128>()),
            )
        };
        let low = i32x4_dot_i16x8(i16x8_extend_low_i8x16(x), q0);
        let high = i32x4_dot_i16x8(i16x8_extend_high_i8x16(x), q1);
        acc = i32x4_add(acc, i32x4_add(low, high));
    }
    i32x4_extract_lane::<0>(acc)
        + i32x4_extract_lane::<1>(acc)
        + i32x4_extract_lane::<2>(acc)
        + i32x4_extract_lane::<3>(acc)
}

/// Dot product of int8 `row` with i16 `query` lanes, both a multiple of 16 long.
#[cfg(target_arch = "x86_64")]
fn wide_dot(row: &[i8], query: &[i16]) -> i32 {
    use core::arch::x86_64::*;
    // SAFETY: SSE2 is part of the x86-64 baseline; every load reads exactly 16 bytes inside its
    // chunk, unaligned-safe.
    unsafe {
        let mut acc = _mm_setzero_si128();
        for (x, q) in row.chunks_exact(16).zip(query.chunks_exact(16)) {
            let x = _mm_loadu_si128(x.as_ptr().cast::<__m128i>());
            let q0 = _mm_loadu_si128(q.as_ptr().cast::<__m128i>());
            let q1 = _mm_loadu_si128(q.as_ptr().add(8).cast::<__m128i>());
            let low = _mm_srai_epi16::<8>(_mm_unpacklo_epi8(x, x));
            let high = _mm_srai_epi16::<8>(_mm_unpackhi_epi8(x, x));
            acc = _mm_add_epi32(acc, _mm_madd_epi16(low, q0));
            acc = _mm_add_epi32(acc, _mm_madd_epi16(high, q1));
        }
        let mut lanes = [0i32; 4];
        _mm_storeu_si128(lanes.as_mut_ptr().cast::<__m128i>(), acc);
        lanes.iter().sum()
    }
}

/// Dot product of int8 `row` with i16 `query` lanes, both a multiple of 16 long.
#[cfg(not(any(
    all(target_arch = "wasm32", target_feature = "simd128"),
    target_arch = "x86_64"
)))]
fn wide_dot(row: &[i8], query: &[i16]) -> i32 {
    row.iter()
        .zip(query)
        .map(|(&x, &q)| i32::from(x) * i32::from(q))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference: the plain sum of products.
    fn scalar_dot(a: &[i8], b: &[i8]) -> i32 {
        a.iter()
            .zip(b)
            .map(|(&x, &y)| i32::from(x) * i32::from(y))
            .sum()
    }

    /// A fixed pseudo-random byte stream covering the whole i8 range, extremes included.
    fn bytes(seed: u64, n: usize) -> Vec<i8> {
        let mut state = seed;
        (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> 56) as u8 as i8
            })
            .collect()
    }

    #[test]
    fn simd_and_scalar_agree_for_every_width() {
        for n in [0, 1, 13, 15, 16, 17, 31, 64, 100, 1024] {
            let (a, b) = (bytes(n as u64 + 3, n), bytes(n as u64 + 11, n));
            assert_eq!(WideQuery::new(&a).dot(&b), scalar_dot(&a, &b), "width {n}");
        }
        let extremes = vec![-128i8; 64];
        assert_eq!(WideQuery::new(&extremes).dot(&extremes), 64 * 128 * 128);
    }

    #[test]
    fn extremes_do_not_overflow() {
        let a = vec![-128i8; 1024];
        assert_eq!(WideQuery::new(&a).dot(&a), 1024 * 128 * 128);
        let b = vec![127i8; 1024];
        assert_eq!(WideQuery::new(&a).dot(&b), -1024 * 128 * 127);
    }
}
