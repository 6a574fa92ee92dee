"""Ships a shopper-level price head (train_price_shopper.py) as the grocery bundle's price head
(issue 23): `price.onnx` and `price.safetensors` with the response to the shopper's signals, the
manifest's `priceHead.response`, and its figures under `metrics.priceHead`.

    elasticity = softplus(department_elasticity[dept] + Σ_j response_weight[j] · (signal_j − mean[j]) / std[j])
    base       = feature_weight · [interest, display, mailer, weekSin, weekCos] + feature_bias
                 + item_bias[row] + department_bias[dept]

The signals enter the elasticity only: the engine contract has no signal in the base, so when the
validation weeks chose a "base and elasticity" variant the best "elasticity only" one is shipped
(and the script says so); when today's head (price_head.py, no signals) beats every "elasticity
only" variant on validation, the script ships nothing and says to ship today's head. The model
must have been trained with `--signals list_deal_share` or another set of signals a device
computes as training did (see shopper_data.py); the manifest names them in camelCase (`dealShare`
for list_deal_share, the device's deal share).

Before writing, the script checks that the plain formula on price.safetensors (numpy), the torch
model and onnxruntime on price.onnx agree within 1e-5 on random rows, and it writes the engine's
conformance rows (`tests/conformance/price_shopper.json`) from the torch model.

    nice -n 10 python3 models/training/export_price_shopper.py --bundle models/grocery \\
        --models ~/.cache/edgerec/pricing/models.list_deal_share.pt
"""
import argparse
import json
import os
import tempfile

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from safetensors.numpy import load as load_safetensors, load_file
from torch import nn

from plain_weights import PRICE_FEATURES, RESPONSE_METADATA, add_price_head, price_form
from price_data import FEATURES
from price_head import SPLIT
from shopper_data import LIST_DEAL_SHARE, STRENGTH
from train_price_shopper import ShopperDemandModel

# The manifest's name of each signal; only signals a device computes exactly as training did.
SIGNAL_NAMES = {"interest": "interest", LIST_DEAL_SHARE: "dealShare"}
TOLERANCE = 1e-5


class ShippedPriceHead(nn.Module):
    """The engine's form of an "elasticity only" ShopperDemandModel: `features` f32 [N, 5]
    (PRICE_FEATURES), `signals` f32 [N, S] (raw, in the response's order), `item` i64 [N],
    `department` i64 [N] -> base [N], elasticity [N]."""

    def __init__(self, model: ShopperDemandModel):
        super().__init__()
        n = len(FEATURES)
        if torch.any(model.base_mask[n:] != 0) or torch.any(model.base_mask[:n] != 1):
            raise ValueError("the model's base reads shopper signals: only an 'elasticity only' model can be shipped")
        if model.response_names[0] != "interest" or list(model.features[:n]) != FEATURES:
            raise ValueError(f"unexpected model layout {model.features} / {model.response_names}")
        self.item_bias = nn.Embedding.from_pretrained(model.item_bias.weight.detach().clone())
        self.department_bias = nn.Embedding.from_pretrained(model.department_bias.weight.detach().clone())
        self.department_elasticity = nn.Embedding.from_pretrained(model.department_elasticity.weight.detach().clone())
        self.linear = nn.Linear(n, 1)
        with torch.no_grad():
            self.linear.weight.copy_(model.linear.weight[:, :n])
            self.linear.bias.copy_(model.linear.bias)
        self.register_buffer("feature_mask", torch.ones(n))
        self.register_buffer("response_mean", model.mean.detach().clone())
        self.register_buffer("response_std", model.std.detach().clone())
        self.register_buffer("response_weight", model.response.weight.detach().clone().T.contiguous())  # [S, 1]

    def forward(self, features: torch.Tensor, signals: torch.Tensor, item: torch.Tensor, department: torch.Tensor):
        base = (self.linear(features * self.feature_mask).squeeze(-1) + self.item_bias(item).squeeze(-1)
                + self.department_bias(department).squeeze(-1))
        shift = torch.matmul((signals - self.response_mean) / self.response_std, self.response_weight).squeeze(-1)
        return base, F.softplus(self.department_elasticity(department).squeeze(-1) + shift)


def export_onnx(head: ShippedPriceHead, response: dict) -> bytes:
    """`price.onnx` of the head, with the response's signal names and prior in its metadata."""
    s = head.response_weight.shape[0]
    example = (torch.zeros(2, len(FEATURES)), torch.zeros(2, s), torch.zeros(2, dtype=torch.long),
               torch.zeros(2, dtype=torch.long))
    path = os.path.join(tempfile.mkdtemp(), "price.onnx")
    names = ("features", "signals", "item", "department", "base", "elasticity")
    torch.onnx.export(head, example, path, input_names=list(names[:4]), output_names=list(names[4:]),
                      dynamic_axes={name: {0: "n"} for name in names}, opset_version=17, dynamo=False)
    graph = onnx.load(path)
    graph.metadata_props.add(key=RESPONSE_METADATA, value=json.dumps(response))
    onnx.checker.check_model(graph)
    return graph.SerializeToString()


def plain(tensors: dict, entry: dict, features: np.ndarray, signals: np.ndarray, item: np.ndarray,
          department: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The engine's formula on price.safetensors and the manifest entry, in numpy (float64)."""
    t = {k: v.astype(np.float64) for k, v in tensors.items()}
    r = entry["response"]
    base = features.astype(np.float64) @ t["feature_weight"] + t["feature_bias"][0] + t["item_bias"][item] \
        + t["department_bias"][department]
    z = (signals.astype(np.float64) - np.asarray(r["mean"])) / np.asarray(r["std"])
    x = t["department_elasticity"][department] + z @ t["response_weight"]
    return base, np.logaddexp(0.0, x)


def random_rows(n: int, n_items: int, n_departments: int, mean: np.ndarray, std: np.ndarray, seed: int):
    """Rows spread over the inputs' ranges: interest around its mean, display and mailer 0/1, the
    sine and cosine of a week of the year (1-53, as the engine computes them), signals within three
    standard deviations (deal share within [0, 1]). Returns the weeks last."""
    rng = np.random.default_rng(seed)
    interest = rng.normal(mean[0], 2 * std[0], n)
    week = rng.integers(1, 54, n)
    angle = 2 * np.pi * (week - 1) / 52
    features = np.column_stack([interest, rng.integers(0, 2, n), rng.integers(0, 2, n), np.sin(angle), np.cos(angle)])
    signals = np.column_stack([interest] + [np.clip(rng.normal(mean[j], 1.5 * std[j], n), 0, 1)
                                            for j in range(1, len(mean))])
    return (features.astype(np.float32), signals.astype(np.float32), rng.integers(0, n_items, n).astype(np.int64),
            rng.integers(0, n_departments, n).astype(np.int64), week)


def check(model: ShopperDemandModel, onnx_bytes: bytes, weights: bytes, entry: dict, rows: int, seed: int) -> dict:
    """Fails unless numpy on the plain form, the torch model and onnxruntime agree within TOLERANCE."""
    import onnxruntime as ort

    tensors = load_safetensors(weights)
    mean, std = np.asarray(entry["response"]["mean"]), np.asarray(entry["response"]["std"])
    features, signals, item, department, _ = random_rows(rows, len(tensors["item_bias"]),
                                                         len(tensors["department_bias"]), mean, std, seed)
    with torch.no_grad():
        # the training model reads [features, signals without interest] and picks interest itself
        full = torch.from_numpy(np.column_stack([features, signals[:, 1:]]))
        t_base, t_el = (x.numpy() for x in model(full, torch.from_numpy(item), torch.from_numpy(department)))
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    o_base, o_el = session.run(["base", "elasticity"], {"features": features, "signals": signals, "item": item,
                                                        "department": department})
    p_base, p_el = plain(tensors, entry, features, signals, item, department)
    gaps = {"numpyVsTorch": max(np.abs(p_base - t_base).max(), np.abs(p_el - t_el).max()),
            "onnxruntimeVsTorch": max(np.abs(o_base - t_base).max(), np.abs(o_el - t_el).max()),
            "numpyVsOnnxruntime": max(np.abs(p_base - o_base).max(), np.abs(p_el - o_el).max())}
    gaps = {k: float(v) for k, v in gaps.items()}
    print(f"agreement on {rows} random rows (largest absolute difference): {gaps}", flush=True)
    if not all(np.isfinite(v) and v <= TOLERANCE for v in gaps.values()):
        raise SystemExit(f"the plain form, torch and onnxruntime disagree by more than {TOLERANCE}: {gaps}")
    return {"rows": rows, "tolerance": TOLERANCE, "largestDifference": gaps}


def conformance(model: ShopperDemandModel, entry: dict, item_department: np.ndarray, rows: int, seed: int) -> dict:
    """`rows` rows of the torch model for the engine's test: row, its department in the bundle's
    catalogue (items.safetensors), raw inputs, outputs."""
    mean, std = np.asarray(entry["response"]["mean"]), np.asarray(entry["response"]["std"])
    features, signals, item, _, week = random_rows(rows, len(item_department), entry["departments"], mean, std, seed)
    department = item_department[item].astype(np.int64)
    signals[0, 1:], signals[1, 1:] = mean[1:], 0.0  # the population mean, and a shopper who never bought a deal
    with torch.no_grad():
        full = torch.from_numpy(np.column_stack([features, signals[:, 1:]]))
        base, el = (x.numpy() for x in model(full, torch.from_numpy(item), torch.from_numpy(department)))
    return {
        "what": "the shipped price head (models/grocery) from the torch model: base and elasticity for raw inputs; "
                "each row's department is its catalogue department; features in priceHead.features order, "
                "signals in priceHead.response.signals order, weekSin and weekCos those of `week` (the first row's "
                "deal share is the fit weeks' mean, "
                "the second's 0)",
        "features": PRICE_FEATURES, "signals": entry["response"]["signals"], "tolerance": TOLERANCE,
        "rows": [{"row": int(item[i]), "department": int(department[i]), "week": int(week[i]),
                  "features": features[i].tolist(),
                  "signals": signals[i].tolist(), "base": float(base[i]), "elasticity": float(el[i])}
                 for i in range(rows)],
    }


GROCERY_BUNDLE = "models/grocery"
GROCERY_CONFORMANCE = "tests/conformance/price_shopper.json"


def conformance_path(bundle: str, given: str | None) -> str:
    """The conformance rows' file: the one given, else the grocery bundle's own; refuses to
    overwrite the grocery bundle's rows with another bundle's."""
    if given:
        return given
    if os.path.realpath(bundle) != os.path.realpath(GROCERY_BUNDLE):
        raise SystemExit(f"--bundle {bundle}: give --conformance too ({GROCERY_CONFORMANCE} holds "
                         f"{GROCERY_BUNDLE}'s rows, which the conformance tests check that bundle against)")
    return GROCERY_CONFORMANCE


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", default=GROCERY_BUNDLE)
    p.add_argument("--models", default=os.path.expanduser("~/.cache/edgerec/pricing/models.list_deal_share.pt"),
                   help="train_price_shopper.py's models file (its figures: shopper_model<same suffix>.json beside it)")
    p.add_argument("--conformance", help=f"where the conformance rows go (default {GROCERY_CONFORMANCE}, which "
                                         f"holds {GROCERY_BUNDLE}'s rows: another bundle must name its own)")
    p.add_argument("--check-rows", type=int, default=4000)
    p.add_argument("--conformance-rows", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    a.conformance = conformance_path(a.bundle, a.conformance)
    torch.set_num_threads(1)
    saved = torch.load(a.models, weights_only=False)
    figures_path = os.path.join(os.path.dirname(a.models),
                                "shopper_model" + os.path.basename(a.models)[len("models"):-len(".pt")] + ".json")
    with open(figures_path) as f:
        figures = json.load(f)
    signals = saved["signals"]
    if any(s not in SIGNAL_NAMES for s in signals):
        raise SystemExit(f"{a.models} reads {signals}: only {sorted(set(SIGNAL_NAMES) - {'interest'})} have a device "
                         "analogue computed exactly as in training")
    validation = saved["validationLogLoss"]
    only = {name: c for name, c in saved["candidates"].items() if not c["shopper_base"]}
    shipped = min(only, key=lambda name: validation[name])
    if validation[shipped] >= validation["today"]:
        raise SystemExit(f"on the validation weeks today's head ({validation['today']:.6f}) beats every shopper-level "
                         f"head the engine can read (best: {shipped!r}, {validation[shipped]:.6f}): ship "
                         "price_head.py's head on this bundle instead")
    if shipped != saved["chosen"]:
        print(f"validation chose {saved['chosen']!r}, which reads the signals in the base too; the engine contract "
              f"has them in the elasticity only, so shipping the best of those: {shipped!r}", flush=True)
    model = ShopperDemandModel(saved["n_items"], saved["n_departments"], saved["mean"], saved["std"], False, signals)
    model.load_state_dict(only[shipped]["state"])
    model.eval()

    response_names = ["interest"] + signals
    response = {"signals": [SIGNAL_NAMES[s] for s in response_names],
                "dealSharePrior": saved["signalPriors"][LIST_DEAL_SHARE], "pseudoLines": int(STRENGTH) if float(STRENGTH).is_integer() else STRENGTH}
    onnx_bytes = export_onnx(ShippedPriceHead(model), response)
    weights, entry = price_form(onnx_bytes)
    agreement = check(model, onnx_bytes, weights, entry, a.check_rows, a.seed)

    departments = list(figures["elasticityByDepartmentAtMeanShopper"])
    held_out = figures["heldOut"]
    metrics = {
        "protocol": figures["protocol"].replace("(read once)", "(read for each signal set tried: docs/pricing.md)"),
        "model": "shopper-level: elasticity = softplus(e_dept + v · z), z the standardised [interest, deal share]; "
                 "the signals in the elasticity only",
        "shipped": shipped, "chosenOnValidation": saved["chosen"],
        "validationLogLoss": validation,
        "heldOutExamples": figures["heldOutExamples"], "heldOutHouseholds": figures["heldOutHouseholds"],
        "heldOut": held_out["shopper"] if shipped == saved["chosen"] else None,
        "todayHeadHeldOut": held_out["today"],
        "heldOutIntervals": figures["heldOutIntervals"], "bootstrapResamples": figures["bootstrapResamples"],
        "featureWeights": dict(zip(PRICE_FEATURES, model.linear.weight.detach().numpy()[0, :len(FEATURES)].tolist())),
        "responseWeights": dict(zip(response["signals"], model.response.weight.detach().numpy()[0].tolist())),
        "elasticityByDepartmentAtMeanShopper": dict(zip(departments, F.softplus(
            model.department_elasticity.weight.detach()[:, 0]).numpy().tolist())),
        "perShopperElasticity": figures["perShopperElasticity"],
        "agreement": agreement,
    }
    with open(os.path.join(a.bundle, "manifest.json")) as f:
        manifest = json.load(f)
    if "simulator" in manifest["metrics"].get("priceHead", {}):
        metrics["simulator"] = manifest["metrics"]["priceHead"]["simulator"]  # price_head.py's, still the docs'
    provenance = {
        "data": manifest["training"]["data"], "dataSha256": figures["dataSha256"],
        "split": SPLIT,
        "command": figures["command"],
        "exportCommand": f"python3 models/training/export_price_shopper.py --bundle {a.bundle} --models "
                         + a.models.replace(os.path.expanduser("~"), "~")
                         + ("" if a.conformance == GROCERY_CONFORMANCE else f" --conformance {a.conformance}"),
        "commit": figures["commit"], "hardware": figures["machine"], "trainingSeconds": figures["seconds"],
    }
    manifest = add_price_head(a.bundle, onnx_bytes, metrics, provenance)
    os.makedirs(os.path.dirname(a.conformance), exist_ok=True)
    with open(a.conformance, "w") as f:
        item_department = load_file(os.path.join(a.bundle, "items.safetensors"))["department"]
        json.dump(conformance(model, entry, item_department, a.conformance_rows, a.seed + 1), f, indent=1)
        f.write("\n")
    print(f"{a.bundle}: priceHead {json.dumps(manifest['priceHead'])}")
    print(f"{a.conformance}: {a.conformance_rows} rows")


if __name__ == "__main__":
    main()
