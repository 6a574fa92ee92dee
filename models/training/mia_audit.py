r"""Membership-inference audit of a run trained with `--member-share s` (`train.py` or
`train_grocery.py`): the users it trained on (members) against the users it held out
(non-members), scored by a loss-threshold attack (Yeom et al., 2018): the lower the model's loss on
a user's training sequence (a household's training windows), the likelier a member. Reports the
attack's AUC and its true-positive rate at 1% false positives, beside the run's test quality on
the users it trained on (Beauty: full ranking, leave-one-out; grocery: the test weeks) and the
machine.

    python3 models/training/mia_audit.py --checkpoint ~/.cache/edgerec/dp/beauty-eps4 \
        --data ../shared/data/amazon-beauty.txt --json ~/.cache/edgerec/dp/beauty-eps4/audit.json
    python3 models/training/mia_audit.py --checkpoint ~/.cache/edgerec/dp/grocery-eps4 \
        --json ~/.cache/edgerec/dp/grocery-eps4/audit.json
"""
import argparse
import json
import os

import numpy as np
import torch

from data import leave_one_out, members, read
from dp import sequence_losses
from provenance import hardware
from train import load_model, validate


def attack(member_scores: np.ndarray, other_scores: np.ndarray, fpr: float = 0.01) -> dict:
    """AUC and TPR at `fpr` of the rule "member when score > threshold" (ties count half in the AUC)."""
    scores = np.concatenate([member_scores, other_scores])
    ranks = np.empty(len(scores))
    order = np.argsort(scores, kind="stable")
    ranks[order] = np.arange(1, len(scores) + 1)
    for value in np.unique(scores):  # average ranks of ties
        tied = scores == value
        if tied.sum() > 1:
            ranks[tied] = ranks[tied].mean()
    m, n = len(member_scores), len(other_scores)
    auc = (ranks[:m].sum() - m * (m + 1) / 2) / (m * n)
    threshold = np.quantile(other_scores, 1 - fpr, method="higher")
    return {"auc": float(auc), f"tprAt{fpr:g}Fpr": float((member_scores > threshold).mean())}


def audit_sequences(folder: str, which: str, data: str | None) -> dict:
    """The audit of a `train.py` run: users' mean loss on their training sequences; quality on the
    members' leave-one-out test targets."""
    if data is None:
        raise SystemExit("--data: the data file the train.py run read")
    model, ckpt = load_model(folder, which)
    split = leave_one_out(read(data))
    keep = members(len(split.train), ckpt["args"]["member_share"], ckpt["args"]["seed"])
    loss = sequence_losses(model, split.train, model.encoder.seq_len)
    return {
        "epochs": ckpt["state"]["epoch"], "privacy": ckpt.get("privacy"),
        "members": int(keep.sum()), "nonMembers": int((~keep).sum()),
        "lossThresholdAttack": attack(-loss[keep], -loss[~keep]),
        "testMembersFullZero": validate(model, split.subset(keep), "zero", "test"),
        "testMembersFullRemove": validate(model, split.subset(keep), "remove", "test"),
    }


def audit_grocery(folder: str, which: str) -> dict:
    """The audit of a `train_grocery.py` run: households' loss on all their training windows;
    quality on the member households' test weeks (docs/quality.md's grocery protocol, the model's
    own repeat weights), beside popularity and recent-first buy-it-again on the same households."""
    from evaluate_grocery import baseline_scores, recent_decay
    from grocery import Stage
    from metrics import set_metrics
    from train_grocery import household_losses, load_model as load_grocery

    model, ckpt, shop = load_grocery(folder, which)
    keep = members(len(shop.train), ckpt["args"]["member_share"], ckpt["args"]["seed"])
    loss = household_losses(model, shop.train)
    scored = ~np.isnan(loss)
    trained = {s.household for s, k in zip(shop.train, keep) if k}
    rows = [i for i, h in enumerate(shop.test.households) if h in trained]
    test = Stage([shop.test.households[i] for i in rows], [shop.test.inputs[i] for i in rows],
                 [shop.test.targets[i] for i in rows])
    baselines = baseline_scores(test, shop.n_items, recent_decay(shop.valid, shop.n_items))
    return {
        "epochs": ckpt["state"]["epoch"], "privacy": ckpt.get("privacy"),
        "members": int((keep & scored).sum()), "nonMembers": int((~keep & scored).sum()),
        "lossThresholdAttack": attack(-loss[keep & scored], -loss[~keep & scored]),
        "testWeeksMembers": {"households": len(rows), "model": set_metrics(model.score(test.inputs), test.targets),
                             **{name: set_metrics(s, test.targets) for name, s in baselines.items()}},
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="training folder of a --member-share run")
    p.add_argument("--which", default="last.pt", help="the checkpoint file audited (the last epoch: what a DP run releases)")
    p.add_argument("--data", help="the data file of a train.py run (a train_grocery.py run reads its own)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", help="also write the report here")
    a = p.parse_args()
    torch.set_num_threads(a.threads)

    ckpt = torch.load(os.path.join(a.checkpoint, a.which), map_location="cpu", weights_only=False)
    if ckpt["args"]["member_share"] >= 1:
        raise SystemExit(f"{a.checkpoint} trained on every user: there is no one held out to audit against")
    grocery_run = "horizon_days" in ckpt["args"]
    report = {"checkpoint": a.checkpoint, "which": a.which,
              **(audit_grocery(a.checkpoint, a.which) if grocery_run else audit_sequences(a.checkpoint, a.which, a.data)),
              "machine": hardware()}
    print(json.dumps(report, indent=1))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
