"""Trains a sequential recommender on a leave-one-out split: softmax cross-entropy over all items,
every prefix of a training sequence as an example, dropout, early stopping on the validation
target. With --teacher, the loss adds distillation from the teacher's scores over all items; given
several folders, the teacher is their ensemble (the mean of their softmax distributions). With
--init, the run starts from another run's best model instead of a random one (a trained student
fine-tuned by distillation, say).

With --dp-epsilon, training is user-level differentially private (DP-SGD, see dp.py): one sample is
one user's whole training sequence, the noise is fitted to the planned --epochs, every epoch runs
(no early stopping) and the release is the last epoch (best.pt is rewritten every epoch), so
validation, shown for monitoring, chooses nothing and spends no budget. With --member-share s,
only a random share s of the users (by --seed) is trained on, the rest held out for the
membership-inference audit (mia_audit.py).

Under torchrun (distributed.py), each process trains on its share of every step's --batch, with
the gradients averaged; --dp-epsilon runs in one process only.

Resumable: every epoch writes `last.pt` into --out, and the best epoch on validation `best.pt`;
--max-minutes stops cleanly between epochs so a later run with the same command continues.

    python3 models/training/train.py --data ../shared/data/amazon-beauty.txt --out ~/.cache/edgerec/beauty/student
    torchrun --standalone --nproc-per-node 2 -- models/training/train.py --threads 1 ...   # two processes
"""
import argparse
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

import distributed
from checkpoints import end_epoch, resume
from data import leave_one_out, left_pad, length_batches, members, prefixes, read
from metrics import full_ranks_chunked, summarize
from recmodel import RecModel
from sasrec import EncoderConfig, streaming_window


def add_encoder_arguments(p: argparse.ArgumentParser, dropout: float) -> None:
    """The encoder's shape and dropout (defaults: the student)."""
    p.add_argument("--d", type=int, default=64)
    p.add_argument("--seq-len", type=int, help="the window in events (default 50; with --reach, blocks * (reach - 1) + 1)")
    p.add_argument("--blocks", type=int, default=2)
    p.add_argument("--heads", type=int, default=1)
    p.add_argument("--ffn-mult", type=int, default=4)
    p.add_argument("--dropout", type=float, default=dropout)
    p.add_argument("--attn-dropout", type=float, default=dropout)
    p.add_argument("--filter-c", type=int, default=0, help="BSARec's frequency branch: keep c // 2 + 1 frequencies (0: none)")
    p.add_argument("--alpha", type=float, default=0.7, help="the frequency branch's weight against the attention's")
    p.add_argument("--reach", type=int, default=0,
                   help="the streaming form (sasrec.py): each block attends this many positions back, relative "
                        "positions instead of a position table (0: the window form)")


def resolve_window(args: argparse.Namespace) -> argparse.Namespace:
    """Fills in --seq-len: the streaming form's window when --reach is given, else 50."""
    if args.reach:
        window = streaming_window(args.blocks, args.reach)
        if args.seq_len not in (None, window):
            raise SystemExit(f"--reach {args.reach} with {args.blocks} blocks reads {window} events; drop --seq-len")
        args.seq_len = window
    elif args.seq_len is None:
        args.seq_len = 50
    return args


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """Seed, threads and the time budget of a resumable run."""
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--max-minutes", type=float, default=float("inf"), help="stop after the epoch that passes this")


def add_privacy_arguments(p: argparse.ArgumentParser) -> None:
    """User-level DP-SGD (dp.py) and the membership audit's split of the users."""
    p.add_argument("--dp-epsilon", type=float, help="train with user-level DP-SGD to this ε (see dp.py)")
    p.add_argument("--dp-delta", type=float, default=1e-6, help="the δ of the DP guarantee; must be below 1 / users")
    p.add_argument("--dp-max-grad-norm", type=float, default=1.0, help="each user's gradient is clipped to this L2 norm")
    p.add_argument("--member-share", type=float, default=1.0, help="train on this random share of the users only")


def privacy_budget(args: argparse.Namespace) -> dict:
    """PrivateTraining's budget arguments from the command line: ε, δ, clipping norm, expected
    batch of users and planned epochs."""
    return {"epsilon": args.dp_epsilon, "delta": args.dp_delta, "max_grad_norm": args.dp_max_grad_norm,
            "batch": args.batch, "epochs": args.epochs}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True, help="checkpoint folder (outside the work tree)")
    add_encoder_arguments(p, dropout=0.5)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--patience", type=int, default=10, help="epochs without a better validation NDCG@10")
    p.add_argument("--teacher", nargs="+", help="folders of trained models (their best.pt) whose ensemble is the teacher")
    p.add_argument("--kd-weight", type=float, default=0.5, help="weight of the distillation term")
    p.add_argument("--kd-temperature", type=float, default=2.0)
    p.add_argument("--init", help="a training folder of the same shape whose best.pt the run starts from "
                                   "(instead of a random initialisation)")
    add_privacy_arguments(p)
    p.add_argument("--teacher-cache-gb", type=float, default=4.0,
                   help="keep the teacher's distributions for every training prefix (f16) when they fit in this")
    add_run_arguments(p)
    return resolve_window(p.parse_args())


def config_of(args: argparse.Namespace) -> EncoderConfig:
    """The encoder's config from a run's arguments (those of a checkpoint written before the streaming
    form have no --reach: the window form)."""
    return EncoderConfig(d=args.d, seq_len=args.seq_len, blocks=args.blocks, heads=args.heads,
                         ffn_mult=args.ffn_mult, dropout=args.dropout, attn_dropout=args.attn_dropout,
                         filter_c=args.filter_c, alpha=args.alpha, reach=getattr(args, "reach", 0))


def load_model(folder: str, which: str = "best.pt") -> tuple[RecModel, dict]:
    """A trained model and its checkpoint (config, history, …)."""
    ckpt = torch.load(os.path.join(folder, which), map_location="cpu", weights_only=False)
    model = RecModel(ckpt["n_items"], EncoderConfig(**ckpt["config"]))
    model.load_state_dict(ckpt["model"])
    return model.eval(), ckpt


@torch.no_grad()
def teacher_distribution(teachers: list[RecModel], ids: torch.Tensor, temperature: float) -> torch.Tensor:
    """The ensemble's distribution over all items [B, N]: the mean of each model's softmax at the temperature."""
    return torch.stack([F.softmax(t.logits(t.user(ids)) / temperature, dim=-1) for t in teachers]).mean(0)


class Teacher:
    """The ensemble's distribution for each training example, at the temperature. Teachers run
    without dropout, so each example's distribution is fixed: it is computed once and kept (f16)
    when all of them fit in `cache_gb`, else computed for each batch."""

    def __init__(self, models: list[RecModel], padded: np.ndarray, lengths: np.ndarray, n_items: int,
                 temperature: float, cache_gb: float):
        self.models, self.padded, self.lengths, self.temperature = models, padded, lengths, temperature
        self.cache = None
        if len(padded) * n_items * 2 <= cache_gb * 2**30:
            cache = torch.empty(len(padded), n_items, dtype=torch.float16)
            order = np.argsort(lengths, kind="stable")
            for start in range(0, len(order), 1024):
                idx = order[start:start + 1024]
                cache[torch.from_numpy(idx)] = self.compute(idx).half()
            self.cache = cache

    def compute(self, idx: np.ndarray) -> torch.Tensor:
        ids = torch.from_numpy(self.padded[idx][:, self.padded.shape[1] - self.lengths[idx].max():])
        return teacher_distribution(self.models, ids, self.temperature)

    def __call__(self, idx: np.ndarray) -> torch.Tensor:
        return self.cache[torch.from_numpy(idx)].float() if self.cache is not None else self.compute(idx)


def start_from(model: RecModel, folder: str, config: EncoderConfig) -> None:
    """Loads a trained model of the same shape (its best.pt; dropout may differ) into `model` (`--init`)."""
    start, ckpt = load_model(folder)
    regularisation = ("dropout", "attn_dropout")
    theirs, ours = ({k: v for k, v in c.items() if k not in regularisation} for c in (ckpt["config"], config.to_dict()))
    if theirs != ours or ckpt["n_items"] != model.items.num_embeddings - 1:
        raise SystemExit(f"--init {folder}: its model has another shape ({ckpt['config']}, {ckpt['n_items']} items)")
    model.load_state_dict(start.state_dict())


def validate(model: RecModel, split, policy: str = "zero", stage: str = "valid") -> dict:
    """Full-ranking HR/NDCG@5/10/20 of a split's validation (or test) targets."""
    inputs, targets = (split.valid_inputs, split.valid_targets) if stage == "valid" else (split.test_inputs, split.test_targets)
    return summarize(full_ranks_chunked(model.score, inputs, targets, policy))


def training_split(data, args: argparse.Namespace):
    """The leave-one-out split of the users trained on (all, or the --member-share of them)."""
    split = leave_one_out(data)
    return split if args.member_share >= 1 else split.subset(members(len(split.train), args.member_share, args.seed))


def train_private(args: argparse.Namespace, data, split) -> None:
    """User-level DP-SGD for the planned --epochs from a fresh start; each epoch's checkpoint
    carries the guarantee of the steps so far (`privacy`)."""
    if args.teacher or args.init:
        raise SystemExit("--dp-epsilon trains from scratch on the data alone: no --teacher or --init")
    from dp import PrivateTraining, SequenceGrads, fresh_run, run_epochs, secret_randomness
    torch.manual_seed(args.seed)  # the initialisation; dropout, the sampling and the noise are secret (dp.py)
    model = RecModel(data.n_items, config_of(args))
    secret_randomness()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    state = fresh_run(args.out, model, opt)
    private = PrivateTraining(model, opt, len(split.train), SequenceGrads(model, split.train, args.seq_len),
                              **privacy_budget(args))
    run_epochs(args, model, private, state,
               {"config": config_of(args).to_dict(), "n_items": data.n_items, "data_sha256": data.sha256},
               lambda: validate(model, split), f"{data.path}: {len(split.train)} users trained on, {data.n_items} items")


def train(args: argparse.Namespace, data, split) -> None:
    """Trains until early stopping, --epochs or --max-minutes (one process, or this rank's share under torchrun)."""
    inputs, targets = prefixes(split.train, args.seq_len)
    torch.manual_seed(args.seed)  # the initialisation (rank 0's under torchrun: DistributedDataParallel sends it)
    model = RecModel(data.n_items, config_of(args))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    teachers = [load_model(folder)[0] for folder in args.teacher or []]
    state = resume(args.out, model, opt)
    if args.init and state["epoch"] == 0:
        start_from(model, args.init, config_of(args))
    step = distributed.parallel(model)
    batch = distributed.per_rank_batch(args.batch)
    torch.manual_seed(distributed.rank_seed(args.seed + state["epoch"]))
    rng = np.random.default_rng(args.seed + state["epoch"])
    padded = left_pad(inputs, args.seq_len)
    lengths = np.array([len(x) for x in inputs])
    targets_t = torch.from_numpy(targets)
    teacher = Teacher(teachers, padded, lengths, data.n_items, args.kd_temperature, args.teacher_cache_gb) if teachers else None
    print(f"{data.path}: {len(data.users)} users, {data.n_items} items, {len(inputs)} training prefixes; "
          f"encoder parameters {model.encoder.non_embedding_parameters():,}; {distributed.world_size()} process(es)")

    started = time.time()
    while state["epoch"] < args.epochs and state["epoch"] - state["best_epoch"] < args.patience:
        t0 = time.time()
        model.train()
        total, count = 0.0, 0
        for idx in distributed.shard(length_batches(lengths, batch, rng)):
            ids = torch.from_numpy(padded[idx][:, args.seq_len - lengths[idx].max():])
            logits = step(ids)
            loss = F.cross_entropy(logits, targets_t[idx])
            if teacher:
                kd = F.kl_div(F.log_softmax(logits / args.kd_temperature, dim=-1), teacher(idx), reduction="batchmean")
                loss = (1 - args.kd_weight) * loss + args.kd_weight * args.kd_temperature**2 * kd
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, count = total + loss.item() * len(idx), count + len(idx)
        total, count = distributed.sum_over_ranks(total, count)
        facts = {"config": config_of(args).to_dict(), "n_items": data.n_items, "data_sha256": data.sha256}
        metrics = distributed.from_main(lambda: validate(model, split))
        if end_epoch(args, state, model, opt, metrics, total / count, t0, started, facts):
            return
    print(f"done: best valid NDCG@10 {state['best']:.4f} at epoch {state['best_epoch']}")


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    data = read(args.data)
    split = training_split(data, args)
    if args.dp_epsilon is not None:
        distributed.one_process_only("--dp-epsilon")
        return train_private(args, data, split)
    with distributed.process_group():
        train(args, data, split)


if __name__ == "__main__":
    main()
