r"""Evaluates a model that does not ship (a teacher, another student) in f32, as training's
checkpoints hold it: one training folder (its best.pt, scored by dot products as the engine
scores) or several (their ensemble, scored by the mean of their softmax distributions, which is
what `train.py --teacher` distils). Full ranking of all items, leave-one-out, validation and test
targets, seen items given score 0 or removed. A mean of probabilities is positive, so for an
ensemble score 0 puts seen items last, as removing them does.

    python3 models/training/evaluate_teacher.py --data ../shared/data/amazon-beauty.txt \
        --models ~/.cache/edgerec/beauty/teacher-bsarec ~/.cache/edgerec/beauty/student-bsarec
"""
import argparse
import json

import torch
import torch.nn.functional as F

from data import leave_one_out, left_pad, read
from metrics import full_ranks_chunked, summarize
from recmodel import RecModel
from train import load_model


@torch.no_grad()
def scores(models: list[RecModel], inputs: list[list[int]], batch: int = 1024) -> torch.Tensor:
    """[B, N]: the one model's dot products, or the ensemble's mean softmax."""
    if len(models) == 1:
        return models[0].score(inputs, batch)
    seq_len = max(m.encoder.seq_len for m in models)
    out = []
    for start in range(0, len(inputs), batch):
        ids = torch.from_numpy(left_pad(inputs[start:start + batch], seq_len))
        out.append(torch.stack([F.softmax(m.logits(m.user(ids[:, -m.encoder.seq_len:])), -1)
                                for m in models]).mean(0))
    return torch.cat(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True)
    p.add_argument("--models", nargs="+", required=True, help="training folders (their best.pt)")
    a = p.parse_args()
    split = leave_one_out(read(a.data))
    models = [load_model(folder)[0] for folder in a.models]
    report = {"models": a.models, "encoderParameters": sum(m.encoder.non_embedding_parameters() for m in models)}
    for stage, inputs, targets in (("valid", split.valid_inputs, split.valid_targets),
                                   ("test", split.test_inputs, split.test_targets)):
        for seen in ("zero", "remove"):
            ranks = full_ranks_chunked(lambda chunk: scores(models, chunk), inputs, targets, seen)
            report[f"{stage}/{seen}"] = summarize(ranks)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
