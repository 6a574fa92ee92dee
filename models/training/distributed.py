"""Training on several processes, on one machine or many, under `torchrun`: one process per rank,
DistributedDataParallel averaging the gradients, gloo for CPU tensors and NCCL for CUDA tensors.

Every rank shuffles an epoch's batches alike (the same seed) and trains on every world_size-th of
them, the same number of steps on each; a step's batch over all ranks is --batch. Rank 0
validates and sends the figures to every rank, so that all stop at the same epoch; it alone
writes checkpoints and prints. Without torchrun (no WORLD_SIZE in the environment) there is one
process and everything here leaves a run as it was.

    torchrun --standalone --nproc-per-node 2 -- models/training/train.py ...
"""
import contextlib
import os
import sys
from typing import Callable, Iterator, TypeVar

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

T = TypeVar("T")


def world_size() -> int:
    """How many processes train together (torchrun's WORLD_SIZE; 1 without torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    """This process's index among them (torchrun's RANK; 0 without torchrun)."""
    return int(os.environ.get("RANK", "0"))


def is_main() -> bool:
    """Whether this process is rank 0: the one that validates, writes checkpoints and prints."""
    return rank() == 0


def one_process_only(option: str) -> None:
    """Stops a run of several processes with a clear message: `option` trains in one process only."""
    if world_size() > 1:
        raise SystemExit(f"{option} trains in one process only (DP-SGD's sampling and accounting assume one "
                         f"process); run it without torchrun")


@contextlib.contextmanager
def process_group() -> Iterator[None]:
    """Joins the process group torchrun describes (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE) for
    the block, with gloo for CPU tensors and NCCL for CUDA ones where there is a GPU; ranks other
    than 0 print nothing (their stdout goes to /dev/null, stderr stays). One process: nothing."""
    if world_size() == 1:
        yield
        return
    dist.init_process_group(backend="cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo")
    if not is_main():
        sys.stdout = open(os.devnull, "w")
    try:
        yield
        # Every rank done before any tears down its connections: a peer closing first can abort a
        # rank still in gloo's teardown ("terminate called without an active exception").
        dist.barrier()
    finally:
        dist.destroy_process_group()


def per_rank_batch(batch: int) -> int:
    """The batch of one rank such that a step's batch over all ranks is `batch`."""
    if batch % world_size():
        raise SystemExit(f"--batch {batch} must be a multiple of the {world_size()} processes")
    return batch // world_size()


def shard(batches: list[T]) -> list[T]:
    """This rank's share of an epoch's batches (the same list on every rank): every world_size-th
    from its rank on, len(batches) // world_size of them on every rank, so that all take the same
    number of steps (the fewer than world_size batches left over sit this epoch out)."""
    steps = len(batches) // world_size()
    return batches[rank()::world_size()][:steps]


def rank_seed(seed: int) -> int:
    """A torch seed of this rank's own, so that dropout differs across ranks; `seed` on rank 0."""
    return seed + 1_000_003 * rank()


def parallel(model: torch.nn.Module) -> torch.nn.Module:
    """What training calls: the model in DistributedDataParallel (its forward's gradients averaged
    over the ranks) under torchrun, the model itself in one process."""
    return DistributedDataParallel(model) if world_size() > 1 else model


def from_main(compute: Callable[[], T]) -> T:
    """`compute()` run on rank 0 and its result sent to every rank: one figure or decision that all
    ranks act on (validation, stopping)."""
    if world_size() == 1:
        return compute()
    box = [compute() if is_main() else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def sum_over_ranks(*values: float) -> list[float]:
    """Each value summed over the ranks (an epoch's loss total and its count, say)."""
    if world_size() == 1:
        return list(values)
    total = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(total)
    return total.tolist()
