"""One rank of test_distributed.py's two-process checks, run under torchrun: the gradient of one
step through distributed.parallel on this rank's half of a fixed batch (into OUT/grad<rank>.pt), and
the grocery trainer's fit on test_dp.py's synthetic shop (into OUT/grocery).

    python3 -m torch.distributed.run --standalone --nproc-per-node 2 -- tests/python/distributed_worker.py OUT
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "models", "training"))
sys.path.insert(0, HERE)

import torch  # noqa: E402

import distributed  # noqa: E402


def fixed_batch() -> tuple[torch.Tensor, torch.Tensor]:
    """Eight examples of a linear regression, the same in every process (and in the test)."""
    g = torch.Generator().manual_seed(0)
    return torch.randn(8, 3, generator=g), torch.randn(8, 1, generator=g)


def linear_model() -> torch.nn.Linear:
    """The model whose gradient is checked, initialised alike everywhere."""
    torch.manual_seed(0)
    return torch.nn.Linear(3, 1)


def shard_gradient(out: str) -> None:
    """The gradient of the mean squared error on this rank's rows, after DistributedDataParallel."""
    model = linear_model()
    x, y = fixed_batch()
    rows = distributed.shard(list(range(len(x))))
    step = distributed.parallel(model)  # kept until after backward: its hooks average the gradients
    torch.nn.functional.mse_loss(step(x[rows]), y[rows]).backward()
    torch.save({"rows": rows, "grads": [p.grad for p in model.parameters()]},
               os.path.join(out, f"grad{distributed.rank()}.pt"))


def grocery_args(out: str) -> argparse.Namespace:
    """train_grocery.py's arguments for a tiny run (test_dp.py's, without DP)."""
    return argparse.Namespace(
        out=out, d=16, seq_len=8, blocks=1, heads=1, ffn_mult=2, dropout=0.1, attn_dropout=0.1, filter_c=0,
        alpha=0.7, reach=0, id_dropout=0.2, lr=1e-2, repeat_decay=0.99, repeat_lr=None, batch=16, epochs=2, patience=2,
        seed=5, threads=1, max_minutes=float("inf"))


def main() -> None:
    from test_dp import synthetic_shop
    from train_grocery import fit
    out = sys.argv[1]
    torch.set_num_threads(1)
    with distributed.process_group():
        shard_gradient(out)
        fit(grocery_args(os.path.join(out, "grocery")), synthetic_shop())


if __name__ == "__main__":
    main()
