//! The ONNX gate (issue 20): every graph edgerec ships passes it, and the hostile graphs that
//! trapped tract at `create` or at the first `recommend` (`tests/hostile/`, written by
//! `make_hostile.py`), a 32,000-node chain and price heads that cannot price the catalogue are
//! refused at load with a code, naming the node.
#![cfg(feature = "onnx")]

mod common;

use std::path::Path;
use std::time::Instant;

use common::{fixture_files, load, with_file_rehashed};

use edgerec::interest::onnx::OnnxEncoder;
use edgerec::onnx_gate::{self, LIMITS};
use edgerec::pricing::head::onnx::OnnxHead;
use edgerec::pricing::PriceResponse;
use prost::Message;
use tract_onnx::pb;

const SEQ_LEN: usize = 50;
const DIMS: usize = 64;

fn read(path: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The error an encoder load gives, which must be a refusal with INVALID_MODEL.
fn refusal(onnx: &[u8]) -> String {
    match OnnxEncoder::load(onnx, SEQ_LEN, DIMS) {
        Ok(_) => panic!("the graph was accepted"),
        Err(e) => {
            assert_eq!(e.code(), "INVALID_MODEL", "{e}");
            e.to_string()
        }
    }
}

#[test]
fn every_shipped_and_conformance_graph_passes_the_gate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut graphs = vec![];
    for dir in ["models", "tests/conformance"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let dir = entry.unwrap().path();
            for name in ["interest.onnx", "price.onnx"] {
                if dir.join(name).exists() {
                    graphs.push(dir.join(name));
                }
            }
        }
    }
    assert!(graphs.len() >= 10, "found {graphs:?}");
    for path in graphs {
        let bytes = std::fs::read(&path).unwrap();
        // A batch of one, as the encoder is fed; the price head takes any batch.
        let one: &[Option<usize>] = &[Some(1), None, None];
        let fed = if path.ends_with("interest.onnx") {
            vec![one]
        } else {
            vec![]
        };
        if let Err(e) = onnx_gate::check(&bytes, &fed, LIMITS) {
            panic!("{}: {e}", path.display());
        }
    }
}

#[test]
fn hostile_encoders_are_refused_naming_the_node() {
    let cases = [
        ("string_tensor", "data type String"),
        ("int_div_by_zero", "integer Div by 0"),
        ("int_mod_by_zero", "operator :Mod is not accepted"),
        ("slice_step_zero", "`steps` [0] must be non-zero"),
        (
            "depth_to_space_block_zero",
            "operator :DepthToSpace is not accepted",
        ),
        ("squeeze_bad_axis", "axis 7 is outside a rank of 3"),
        ("onehot_huge_depth", "operator :OneHot is not accepted"),
        ("transpose_bad_perm", "is not a permutation"),
        (
            "gather_past_the_window",
            "Gather index 1000 outside an axis of 50",
        ),
        (
            "gather_before_the_window",
            "Gather index -51 outside an axis of 50",
        ),
        (
            "gather_indices_from_input",
            "Gather indices must be a constant or an integer graph input",
        ),
    ];
    for (name, why) in cases {
        let message = refusal(&read(&format!("tests/hostile/{name}.onnx")));
        println!("{name}: {message}");
        assert!(message.contains(why), "{name}: {message}");
        assert!(
            message.contains("[node \""),
            "{name} does not name the node: {message}"
        );
    }
    let message = refusal(&read("tests/hostile/gather_with_a_second_input.onnx"));
    assert!(
        message.contains("gathers with its input \"position\""),
        "{message}"
    );
}

/// `emb` → `count` Adds of a constant → the last position: the shape of the graph that took
/// 14.8 s to load in wasm at 32,000 nodes.
fn add_chain(count: usize) -> Vec<u8> {
    let one = pb::TensorProto {
        data_type: pb::tensor_proto::DataType::Float as i32,
        float_data: vec![1.0],
        name: "one".into(),
        ..Default::default()
    };
    let last = pb::TensorProto {
        data_type: pb::tensor_proto::DataType::Int64 as i32,
        int64_data: vec![-1],
        name: "last".into(),
        ..Default::default()
    };
    let node = |op: &str, inputs: [&str; 2], output: String, attribute| pb::NodeProto {
        op_type: op.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.clone()],
        name: output,
        attribute,
        ..Default::default()
    };
    let mut nodes = vec![];
    let mut previous = "emb".to_string();
    for i in 0..count {
        nodes.push(node("Add", [&previous, "one"], format!("add{i}"), vec![]));
        previous = format!("add{i}");
    }
    let axis = pb::AttributeProto {
        name: "axis".into(),
        i: 1,
        r#type: pb::attribute_proto::AttributeType::Int as i32,
        ..Default::default()
    };
    nodes.push(node(
        "Gather",
        [&previous, "last"],
        "user".into(),
        vec![axis],
    ));
    let value = |name: &str, dims: &[i64]| pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: pb::tensor_proto::DataType::Float as i32,
                shape: Some(pb::TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|&d| pb::tensor_shape_proto::Dimension {
                            value: Some(pb::tensor_shape_proto::dimension::Value::DimValue(d)),
                            ..Default::default()
                        })
                        .collect(),
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    };
    pb::ModelProto {
        ir_version: 8,
        opset_import: vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: 17,
        }],
        graph: Some(pb::GraphProto {
            node: nodes,
            initializer: vec![one, last],
            input: vec![value("emb", &[1, SEQ_LEN as i64, DIMS as i64])],
            output: vec![value("user", &[1, DIMS as i64])],
            name: "chain".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

#[test]
fn a_short_chain_loads_and_a_long_one_is_refused_in_milliseconds() {
    OnnxEncoder::load(&add_chain(100), SEQ_LEN, DIMS).expect("a 100-node chain is a valid encoder");
    let chain = add_chain(32_000);
    let start = Instant::now();
    let message = refusal(&chain);
    let took = start.elapsed();
    println!(
        "32,000-node chain ({} bytes) refused in {took:?}: {message}",
        chain.len()
    );
    assert!(message.contains("32001 nodes"), "{message}");
    // Decoding and counting take milliseconds; the bound leaves room for a loaded debug build.
    assert!(took.as_secs_f64() < 2.0, "took {took:?}");
}

#[test]
fn the_onnx_price_head_refuses_a_catalogue_it_cannot_price() {
    let onnx = read("models/grocery/price.onnx");
    let manifest: serde_json::Value =
        serde_json::from_slice(&read("models/grocery/manifest.json")).unwrap();
    let response: Option<PriceResponse> =
        serde_json::from_value(manifest["priceHead"]["response"].clone()).unwrap();
    let response = response.as_ref();
    let items = 4000;
    let mut departments = vec![3u32; items];
    OnnxHead::load(&onnx, items, Some(&departments), response).expect("the grocery head loads");
    departments[17] = 14;
    let e = OnnxHead::load(&onnx, items, Some(&departments), response).unwrap_err();
    assert_eq!(e.code(), "INVALID_CATALOG", "{e}");
    assert!(
        e.to_string()
            .contains("row 17 is 14, outside the price head's 14 departments"),
        "{e}"
    );
    let e = OnnxHead::load(&onnx, items + 1, None, response).unwrap_err();
    assert_eq!(e.code(), "INVALID_MODEL", "{e}");
    assert!(
        e.to_string().contains("4000 rows; the catalogue has 4001"),
        "{e}"
    );
}

#[test]
fn a_bundle_with_a_hostile_encoder_is_refused_at_create() {
    for entry in
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile")).unwrap()
    {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "onnx") {
            let files = with_file_rehashed(
                fixture_files(),
                "interest.onnx",
                std::fs::read(&path).unwrap(),
            );
            let err = load(files).unwrap_err();
            assert_eq!(err.code(), "INVALID_MODEL", "{}: {err}", path.display());
        }
    }
}
