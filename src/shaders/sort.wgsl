// Shared by the top-k kernels (prepended to each, after `SORT`, which src/gpu/mod.rs writes from
// its own constant): a bitonic sort of SORT (key, row) pairs in
// workgroup memory, best first. Keys are f32 ranking keys mapped to u32 so that unsigned order is
// Rust's f32::total_cmp order; equal keys rank by ascending row. An empty slot is (0, EMPTY).

const THREADS: u32 = 256u;
const EMPTY: u32 = 0xffffffffu;

var<workgroup> keys: array<u32, SORT>;
var<workgroup> rows: array<u32, SORT>;

// The pair's ranking key: f32 bits mapped to an unsigned order equal to total_cmp's.
fn orderable(key: f32) -> u32 {
    let bits = bitcast<u32>(key);
    return select(bits | 0x80000000u, ~bits, (bits & 0x80000000u) != 0u);
}

fn ranks_before(a: u32, b: u32) -> bool {
    return keys[a] > keys[b] || (keys[a] == keys[b] && rows[a] < rows[b]);
}

// Sorts keys/rows best first; every thread of the workgroup must call it.
fn sort_workgroup(lid: u32) {
    workgroupBarrier();
    for (var size = 2u; size <= SORT; size = size << 1u) {
        for (var stride = size >> 1u; stride > 0u; stride = stride >> 1u) {
            for (var t = lid; t < SORT / 2u; t = t + THREADS) {
                let i = (t / stride) * 2u * stride + (t % stride);
                let j = i + stride;
                let best_first = (i & size) == 0u;
                if (ranks_before(i, j) != best_first) {
                    let key = keys[i];
                    let row = rows[i];
                    keys[i] = keys[j];
                    rows[i] = rows[j];
                    keys[j] = key;
                    rows[j] = row;
                }
            }
            workgroupBarrier();
        }
    }
}
