r"""Turns a trained checkpoint into an edgerec bundle: the encoder as ONNX, the item table
quantised (int8 with a per-row scale, or f16), item ids, and a manifest with the metrics of what
ships (measured on the exported files, as the engine computes them) and the training provenance.

    python3 models/training/export.py --checkpoint ~/.cache/edgerec/beauty/student \
        --data ../shared/data/amazon-beauty.txt --out models/beauty --model-version beauty-student-1
"""
import argparse
import json
import os
import shutil
import tempfile

import numpy as np
import torch
from safetensors.numpy import save as save_safetensors

from bundle_writer import item_table_bytes, quantize_int8, write_bundle
from data import read, sampled_negatives
from evaluate_bundle import evaluate
from provenance import commit, hardware
from sasrec import export_onnx
from train import load_model

CI_SAMPLE_USERS = 2000  # the CI drift check ranks this many users, spread evenly over the file


def table_files(table: np.ndarray, quant: str) -> bytes:
    if quant == "int8":
        return item_table_bytes(*quantize_int8(table))
    if quant == "f16":
        return save_safetensors({"embedding": table.astype(np.float16)})
    return save_safetensors({"embedding": table.astype(np.float32)})


def command_line(script: str, args: dict) -> str:
    """The command that reproduces a run, with the home folder written as `~`."""
    home = os.path.expanduser("~")
    words = []
    for key, value in args.items():
        value = " ".join(value) if isinstance(value, list) else str(value)
        words.append(f"--{key.replace('_', '-')} {value.replace(home, '~')}")
    return f"python3 models/training/{script} " + " ".join(words)


def training_args(args: dict) -> dict:
    """The training arguments that shape the model: not the thread count or the time budget, and
    the distillation settings only when there was a teacher."""
    skip = {"threads", "max_minutes", "teacher_cache_gb"} | (set() if args.get("teacher") else {"kd_weight", "kd_temperature"})
    return {k: v for k, v in args.items() if v is not None and k not in skip}


def provenance(ckpt: dict, encoder_parameters: int) -> dict:
    """Where and how a checkpoint was made: commit, hardware, time and epochs to the best one."""
    return {"commit": commit(), "hardware": hardware(), **run_time(ckpt), "epochs": ckpt["state"]["epoch"],
            "config": ckpt["config"], "encoderParameters": encoder_parameters}


def run_time(ckpt: dict) -> dict:
    """A run's training time and best epoch, and those of the run it started from (`train.py --init`)."""
    state = ckpt["state"]
    run = {"trainingSeconds": round(state["seconds"]), "bestEpoch": state["best_epoch"]}
    if ckpt["args"].get("init"):
        start = torch.load(os.path.join(ckpt["args"]["init"], "best.pt"), map_location="cpu", weights_only=False)
        run["initialisedFrom"] = {"command": command_line("train.py", training_args(start["args"])), **run_time(start)}
    return run


WEIGHT_FILES = ["encoder.safetensors", "interest.onnx", "items.safetensors"]  # what a DP guarantee covers


def bundle_privacy(ckpt: dict) -> dict | None:
    """The manifest's `privacy` for a DP-trained checkpoint (its record, covering every bundle file
    that holds trained weights, the item table included); None for a run without DP."""
    return {**ckpt["privacy"], "covers": WEIGHT_FILES} if ckpt.get("privacy") else None


def build(model, data, out: str, quant: str, model_version: str, metrics: dict, training: dict,
          privacy: dict | None = None) -> None:
    table = model.items.weight[1:].detach().numpy()
    onnx_path = os.path.join(tempfile.mkdtemp(), "interest.onnx")
    export_onnx(model.encoder, onnx_path)
    with open(onnx_path, "rb") as f:
        onnx_bytes = f.read()
    items = [{"id": item} for item in data.items]
    write_bundle(out, files={"interest.onnx": onnx_bytes, "items.safetensors": table_files(table, quant),
                             "items.json": (json.dumps(items) + "\n").encode()},
                 model_version=model_version, dims=model.encoder.d, seq_len=model.encoder.seq_len,
                 item_count=data.n_items, metrics=metrics, training=training,
                 encoder_config=model.encoder.cfg.to_dict(), privacy=privacy)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="training folder holding best.pt")
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--model-version", required=True)
    p.add_argument("--quant", default="int8", choices=["int8", "f16", "f32"])
    p.add_argument("--sampled100-seed", type=int, help="also write sampled100.json (this seed) and report that protocol")
    p.add_argument("--compare", nargs="*", default=[], help="other training folders (name=folder) to evaluate beside it")
    a = p.parse_args()

    data = read(a.data)
    model, ckpt = load_model(a.checkpoint)
    negatives = None
    if a.sampled100_seed is not None:
        negatives = sampled_negatives(data, a.sampled100_seed)

    def measure(bundle: str) -> dict:
        out = {
            "validFullZero": evaluate(bundle, data, "valid", "full", "zero"),
            "testFullZero": evaluate(bundle, data, "test", "full", "zero"),
            "testFullRemove": evaluate(bundle, data, "test", "full", "remove"),
        }
        if negatives is not None:
            out["testSampled100"] = evaluate(bundle, data, "test", "sampled100", negatives=negatives)
        return out

    # The quantisation's cost, measured on validation only: the choice must not look at the test target.
    quant_cost = {}
    for quant in ("f32", "f16", "int8"):
        tmp = tempfile.mkdtemp()
        build(model, data, tmp, quant, a.model_version, {}, {})
        quant_cost[quant] = evaluate(tmp, data, "valid", "full", "zero")
        shutil.rmtree(tmp)
        print(f"{quant}: valid NDCG@10 {quant_cost[quant]['NDCG@10']:.4f}", flush=True)

    compared = {}
    for spec in a.compare:
        name, folder = spec.split("=", 1)
        other, other_ckpt = load_model(folder)
        tmp = tempfile.mkdtemp()
        build(other, data, tmp, a.quant, name, {}, {})
        compared[name] = {"encoderParameters": other.encoder.non_embedding_parameters(),
                          "config": other_ckpt["config"], **measure(tmp)}
        shutil.rmtree(tmp)

    training = {
        "data": os.path.basename(data.path),
        "dataSha256": data.sha256,
        "command": command_line("train.py", training_args(ckpt["args"])),
        "exportCommand": command_line("export.py", {k: v for k, v in vars(a).items() if v not in (None, [])}),
        **provenance(ckpt, model.encoder.non_embedding_parameters()),
    }
    build(model, data, a.out, a.quant, a.model_version, {}, training, bundle_privacy(ckpt))
    metrics = {"protocol": "leave-one-out; full ranking of all items unless named; validation target "
                           "for every choice, test target read once",
               "quantisationValidNDCG@10": {q: m["NDCG@10"] for q, m in quant_cost.items()},
               **measure(a.out)}
    metrics["ciSample"] = {"users": CI_SAMPLE_USERS, "stage": "test", "protocol": "full", "seen": "zero",
                           **evaluate(a.out, data, "test", "full", "zero", users=CI_SAMPLE_USERS)}
    if compared:
        metrics["compared"] = compared
    if negatives is not None:
        with open(os.path.join(a.out, "sampled100.json"), "w") as f:
            json.dump({"seed": a.sampled100_seed, "stage": "test", "negatives": negatives}, f)
    build(model, data, a.out, a.quant, a.model_version, metrics, training, bundle_privacy(ckpt))
    print(json.dumps(metrics, indent=1))


if __name__ == "__main__":
    main()
