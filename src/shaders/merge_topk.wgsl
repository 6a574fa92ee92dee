// One merge round of the top-k: each workgroup sorts SORT of the (key, row) pairs the previous
// round kept and keeps the best `keep`, until one workgroup's best `keep` is the answer.

struct Params {
    pairs: u32,
    keep: u32,
    unused0: u32,
    unused1: u32,
}

@group(0) @binding(0) var<storage, read> pairs_in: array<vec2<u32>>;
@group(0) @binding(1) var<storage, read_write> pairs_out: array<vec2<u32>>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    for (var slot = lid; slot < SORT; slot = slot + THREADS) {
        let index = group.x * SORT + slot;
        var pair = vec2<u32>(0u, EMPTY);
        if (index < params.pairs) {
            pair = pairs_in[index];
        }
        keys[slot] = pair.x;
        rows[slot] = pair.y;
    }
    sort_workgroup(lid);
    for (var slot = lid; slot < params.keep; slot = slot + THREADS) {
        pairs_out[group.x * params.keep + slot] = vec2<u32>(keys[slot], rows[slot]);
    }
}
