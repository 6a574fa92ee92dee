r"""Membership-inference audit of a run trained with `train.py --member-share s`: the users it
trained on (members) against the users it held out (non-members), scored by a loss-threshold
attack (Yeom et al., 2018): the lower the model's loss on a user's training sequence, the likelier
a member. Reports the attack's AUC and its true-positive rate at 1% false positives, beside the
run's test quality (full ranking, leave-one-out, of the users it trained on) and the machine.

    python3 models/training/mia_audit.py --checkpoint ~/.cache/edgerec/dp/beauty-eps4 \
        --data ../shared/data/amazon-beauty.txt --json ~/.cache/edgerec/dp/beauty-eps4/audit.json
"""
import argparse
import json

import numpy as np
import torch

from data import leave_one_out, members, read
from dp import sequence_losses
from export import cpu_model
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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="training folder of a --member-share run")
    p.add_argument("--which", default="last.pt", help="the checkpoint file audited (the last epoch: what a DP run releases)")
    p.add_argument("--data", required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", help="also write the report here")
    a = p.parse_args()
    torch.set_num_threads(a.threads)

    model, ckpt = load_model(a.checkpoint, a.which)
    args = ckpt["args"]
    if args["member_share"] >= 1:
        raise SystemExit(f"{a.checkpoint} trained on every user: there is no one held out to audit against")
    split = leave_one_out(read(a.data))
    keep = members(len(split.train), args["member_share"], args["seed"])
    loss = sequence_losses(model, split.train, model.encoder.seq_len)
    report = {
        "checkpoint": a.checkpoint, "which": a.which, "epochs": ckpt["state"]["epoch"],
        "privacy": ckpt.get("privacy"), "members": int(keep.sum()), "nonMembers": int((~keep).sum()),
        "lossThresholdAttack": attack(-loss[keep], -loss[~keep]),
        "testMembersFullZero": validate(model, split.subset(keep), "zero", "test"),
        "testMembersFullRemove": validate(model, split.subset(keep), "remove", "test"),
        "machine": cpu_model(),
    }
    print(json.dumps(report, indent=1))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
