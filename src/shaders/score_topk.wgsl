// Scores SORT catalogue rows per workgroup against the user vector, exactly as the CPU does for
// int8 tables (i32 dot product of int8 values, then f32(acc) * row scale), and writes the
// workgroup's best `keep` (key, row) pairs. Rows set aside (excluded or boosted: the CPU ranks
// those) are left out.

struct Params {
    rows: u32,
    words_per_row: u32,
    keep: u32,
    masked: u32,
    // The user vector, int8 packed four to a word (up to 1024 dims).
    query: array<vec4<u32>, 64>,
}

@group(0) @binding(0) var<storage, read> table: array<u32>;
@group(0) @binding(1) var<storage, read> scales: array<f32>;
@group(0) @binding(2) var<storage, read> set_aside: array<u32>;
@group(0) @binding(3) var<storage, read_write> best: array<vec2<u32>>;
@group(0) @binding(4) var<uniform> params: Params;

// The dot product of four packed int8 pairs, sign-extended, in i32.
fn dot4(a: u32, b: u32) -> i32 {
    let x = bitcast<i32>(a);
    let y = bitcast<i32>(b);
    let xs = vec4<i32>(extractBits(x, 0u, 8u), extractBits(x, 8u, 8u), extractBits(x, 16u, 8u), extractBits(x, 24u, 8u));
    let ys = vec4<i32>(extractBits(y, 0u, 8u), extractBits(y, 8u, 8u), extractBits(y, 16u, 8u), extractBits(y, 24u, 8u));
    return dot(xs, ys);
}

fn is_set_aside(row: u32) -> bool {
    return params.masked != 0u && (set_aside[row / 32u] & (1u << (row % 32u))) != 0u;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    for (var slot = lid; slot < SORT; slot = slot + THREADS) {
        let row = group.x * SORT + slot;
        keys[slot] = 0u;
        rows[slot] = EMPTY;
        if (row < params.rows && !is_set_aside(row)) {
            var acc = 0i;
            let base = row * params.words_per_row;
            for (var w = 0u; w < params.words_per_row; w = w + 1u) {
                acc = acc + dot4(table[base + w], params.query[w / 4u][w % 4u]);
            }
            keys[slot] = orderable(f32(acc) * scales[row]);
            rows[slot] = row;
        }
    }
    sort_workgroup(lid);
    for (var slot = lid; slot < params.keep; slot = slot + THREADS) {
        best[group.x * params.keep + slot] = vec2<u32>(keys[slot], rows[slot]);
    }
}
