"""Resumable training: `last.pt` after every epoch, `best.pt` for the best epoch on validation,
and `status.json` with the history, all in a folder outside the work tree. Under torchrun every
rank keeps the state, rank 0 alone writes the files (distributed.py)."""
import json
import os
import time

import torch

from distributed import from_main, is_main


def fresh_state() -> dict:
    """Where a run that has not started stands."""
    return {"epoch": 0, "best": -1.0, "best_epoch": 0, "history": [], "seconds": 0.0}


def resume(folder: str, model: torch.nn.Module, opt: torch.optim.Optimizer) -> dict:
    """Loads `last.pt` into the model and optimiser when there is one (rank 0's, sent to every
    rank, so that ranks on other machines resume alike); returns the run's state."""
    ckpt = from_main(lambda: last_checkpoint(folder))
    if ckpt is None:
        return fresh_state()
    model.load_state_dict(ckpt["model"])
    opt.load_state_dict(ckpt["optimizer"])
    state = ckpt["state"]
    print(f"resumed at epoch {state['epoch']} (best NDCG@10 {state['best']:.4f} at {state['best_epoch']})")
    return state


def last_checkpoint(folder: str) -> dict | None:
    """`last.pt` of the folder (made when missing), or None when the run has not started."""
    os.makedirs(folder, exist_ok=True)
    last = os.path.join(folder, "last.pt")
    return torch.load(last, map_location="cpu", weights_only=False) if os.path.exists(last) else None


def record_epoch(folder: str, state: dict, metrics: dict, loss: float, seconds: float, ckpt: dict,
                 release_last: bool = False) -> bool:
    """Adds an epoch's validation metrics to the state and writes the checkpoints (rank 0 only);
    True when the epoch is the best so far on validation NDCG@10, or with `release_last` always (the
    last epoch is the release: validation chooses nothing)."""
    state["epoch"] += 1
    state["seconds"] += seconds
    state["history"].append({"epoch": state["epoch"], "loss": loss, **{f"valid_{k}": v for k, v in metrics.items()}})
    improved = release_last or metrics["NDCG@10"] > state["best"]
    if improved:
        state["best"], state["best_epoch"] = metrics["NDCG@10"], state["epoch"]
    if is_main():
        write_checkpoints(folder, {**ckpt, "state": state}, improved)
    return improved


def write_checkpoints(folder: str, ckpt: dict, improved: bool) -> None:
    """`last.pt`, `status.json` and, when the epoch improved, `best.pt`."""
    if improved:
        torch.save(ckpt, os.path.join(folder, "best.pt"))
    torch.save(ckpt, os.path.join(folder, "last.pt"))
    with open(os.path.join(folder, "status.json"), "w") as f:
        json.dump(ckpt["state"], f, indent=1)


def end_epoch(args, state: dict, model: torch.nn.Module, opt: torch.optim.Optimizer, metrics: dict, loss: float,
              started_epoch: float, started_run: float, facts: dict, release_last: bool = False) -> bool:
    """Records and prints an epoch (`facts`: config, n_items, data_sha256 for the checkpoint);
    True when the run must stop for --max-minutes (rank 0's clock decides for every rank)."""
    ckpt = {"model": model.state_dict(), "optimizer": opt.state_dict(), "args": vars(args), **facts}
    improved = record_epoch(args.out, state, metrics, loss, time.time() - started_epoch, ckpt, release_last)
    shown = "  ".join(f"valid {k} {v:.4f}" for k, v in metrics.items() if k.endswith("@10"))
    print(f"epoch {state['epoch']:3d}  loss {loss:.4f}  {shown}  {'*' if improved else ' '}  "
          f"{time.time() - started_epoch:.0f} s", flush=True)
    if from_main(lambda: (time.time() - started_run) / 60 > args.max_minutes):
        print("stopping for --max-minutes; run the same command again to continue")
        return True
    return False
