"""Trains the grocery next-purchase model on The Complete Journey: the student encoder over a
household's purchase sequence, and an item table whose rows add a learned content embedding (the
words of the item's department, category, type, brand kind and size unit) to a per-item one. Items
held out of training (new items) have only the content part; during training the per-item part is
dropped at random (`--id-dropout`) so that the content part alone places an item.

Every position of a window of the sequence predicts what the household buys next: the distinct
items of its later baskets within `--horizon-days` (softmax cross-entropy over all items, averaged
over that set; a basket's own items are not targets, since their order within it means nothing).
Early stopping on validation NDCG@10 over the items bought in the validation weeks.

Under torchrun (distributed.py), each process trains on its share of every step's --batch windows,
with the gradients averaged (each loads the shop itself); --dp-epsilon runs in one process only.

    python3 models/training/train_grocery.py --out ~/.cache/edgerec/grocery/student
    torchrun --standalone --nproc-per-node 2 -- models/training/train_grocery.py --threads 1 ...   # two processes
"""
import argparse
import dataclasses
import os
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import distributed
import grocery
from checkpoints import end_epoch, resume
from metrics import set_metrics
from data import left_pad, members
from evaluate_bundle import SESSION_HISTORY, decay_weights
from recmodel import RecModel
from sasrec import EncoderConfig
from train import (add_encoder_arguments, add_privacy_arguments, add_run_arguments, config_of, privacy_budget,
                   resolve_window)


class GroceryModel(RecModel):
    """RecModel whose item rows are a per-item embedding plus a content embedding, and whose
    scores add a repeat term: an item among the events a session holds (the last 1,000) gains
    w_i · ln(1 + its count there), with w_i = softplus(bias + a per-item part) ≥ 0 learned (items held out of training
    have the bias only). Each event counts decay^(events after it), so recent purchases weigh more
    (decay 1: plain counts). It is what lets the model buy again, as grocery shoppers mostly do."""

    def __init__(self, cat: grocery.Catalogue, vocab: dict[str, int], cfg: EncoderConfig, id_dropout: float,
                 repeat_decay: float = 1.0):
        super().__init__(len(cat.names), cfg)
        self.words = nn.EmbeddingBag(len(vocab), cfg.d, mode="mean")
        nn.init.normal_(self.words.weight, std=0.02)
        flat = [vocab[w] for t in cat.content_tokens for w in t]
        self.register_buffer("word_ids", torch.tensor(flat, dtype=torch.long))
        self.register_buffer("word_offsets", torch.tensor(np.cumsum([0] + [len(t) for t in cat.content_tokens[:-1]])))
        self.register_buffer("trained", torch.from_numpy(np.concatenate([[False], ~cat.held_out])))
        self.id_dropout = id_dropout
        self.repeat_item = nn.Parameter(torch.zeros(len(cat.names) + 1))
        self.repeat_bias = nn.Parameter(torch.tensor(1.0))
        self.repeat_decay = repeat_decay

    def content(self) -> torch.Tensor:
        """The content embedding of every item [N, d]."""
        return self.words(self.word_ids, self.word_offsets)

    def table(self, use_ids: bool = True) -> torch.Tensor:
        keep = self.trained.clone() if use_ids else torch.zeros_like(self.trained)
        if self.training and self.id_dropout > 0:
            keep &= torch.rand(keep.shape) >= self.id_dropout
        rows = self.items.weight * keep[:, None] + F.pad(self.content(), (0, 0, 1, 0))
        return rows

    def forward(self, ids: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
        """Scores [B, L, N] at every position of windows of model ids [B, L] whose earlier events
        are `prior` (see repeat_logits): the training step (called through DistributedDataParallel
        under torchrun)."""
        table = self.table()
        return self.repeat_logits(self.states(ids, table), table, ids, prior)

    def repeat_weights(self) -> torch.Tensor:
        """w_i for every item [N + 1] (row 0: padding)."""
        return F.softplus(self.repeat_bias + self.repeat_item * self.trained)

    def repeat_logits(self, states: torch.Tensor, table: torch.Tensor, ids: torch.Tensor,
                      prior: torch.Tensor) -> torch.Tensor:
        """Scores [B, L, N] at every position: dot products plus the repeat term over the ids up to
        and including that position and `prior` [B, N + 1], the decayed counts of the events before
        them as seen from just before the first position."""
        steps = torch.arange(ids.shape[1], dtype=states.dtype)
        decay = torch.tensor(self.repeat_decay, dtype=states.dtype)
        hits = F.one_hot(ids, table.shape[0]).to(states.dtype) * decay.pow(-steps)[None, :, None]
        counts = decay.pow(steps)[None, :, None] * hits.cumsum(dim=1) + decay.pow(steps + 1)[None, :, None] * prior[:, None, :]
        return self.logits(states, table) + (torch.log1p(counts) * self.repeat_weights())[..., 1:]

    @torch.no_grad()
    def score(self, inputs: list[list[int]], batch: int = 256) -> torch.Tensor:
        """Scores [B, N] from each input as an engine's session holds it: the encoder reads the
        last L items, the repeat term the last SESSION_HISTORY."""
        was_training = self.training
        self.eval()
        seq_len = self.encoder.seq_len
        table = self.table()
        out = torch.empty(len(inputs), self.items.num_embeddings - 1)
        for i in range(0, len(inputs), batch):
            chunk = inputs[i:i + batch]
            ids = torch.from_numpy(left_pad(chunk, seq_len))
            prior = np.zeros((len(chunk), table.shape[0]), dtype=np.float32)
            for b, seq in enumerate(chunk):
                held = np.asarray(seq[-SESSION_HISTORY:-seq_len], dtype=np.int64)
                np.add.at(prior[b], held + 1, decay_weights(len(held), self.repeat_decay))
            out[i:i + batch] = self.repeat_logits(self.states(ids, table), table, ids, torch.from_numpy(prior))[:, -1]
        self.train(was_training)
        return out


def vocabulary(cat: grocery.Catalogue) -> dict[str, int]:
    return {w: i for i, w in enumerate(sorted({w for t in cat.content_tokens for w in t}))}


class Examples:
    """Every training event, flattened: its model id and its future set (CSR), and windows of
    event indices (-1: padding) that cut each household's sequence from its end backwards;
    `of_household[h]`: the indices of household h's windows that have a position with a future."""

    def __init__(self, sequences: list[grocery.Sequence], length: int):
        self.ids = np.concatenate([s.rows for s in sequences]) + 1
        futures = [f for s in sequences for f in s.future]
        self.counts = np.array([len(f) for f in futures])
        self.offsets = np.concatenate([[0], np.cumsum(self.counts)])
        self.flat = np.concatenate(futures).astype(np.int64)
        windows, prior, start, self.of_household = [], [], 0, []
        for s in sequences:
            first_window = len(windows)
            for end in range(len(s.rows), 0, -length):
                first = max(0, end - length)
                chunk = np.arange(start + first, start + end)
                windows.append(np.pad(chunk, (length - len(chunk), 0), constant_values=-1))
                prior.append((start + max(0, end - SESSION_HISTORY), start + first))
            self.of_household.append(np.array([w for w in range(first_window, len(windows))
                                               if (self.counts[windows[w][windows[w] >= 0]] > 0).any()], dtype=np.int64))
            start += len(s.rows)
        self.windows = np.stack(windows)
        self.prior = np.array(prior)  # per window: the events before it that a session still holds

    def batch(self, idx: np.ndarray, n_items: int, decay: float) -> tuple[torch.Tensor, ...]:
        """Model ids [B, L]; decayed counts [B, N + 1] of the held events before each window; and for the
        loss: the flat positions that have a future, and the (position, item) pairs of their future
        sets with weights 1 / |set|."""
        prior = np.zeros((len(idx), n_items + 1), dtype=np.float32)
        for b, (lo, hi) in enumerate(self.prior[idx]):
            np.add.at(prior[b], self.ids[lo:hi], decay_weights(hi - lo, decay))
        events = self.windows[idx]
        ids = np.where(events >= 0, self.ids[np.maximum(events, 0)], 0)
        flat_events = events.reshape(-1)
        positions = np.flatnonzero((flat_events >= 0) & (self.counts[np.maximum(flat_events, 0)] > 0))
        chosen = flat_events[positions]
        counts = self.counts[chosen]
        pair_positions = np.repeat(positions, counts)
        items = np.concatenate([self.flat[self.offsets[e]:self.offsets[e + 1]] for e in chosen])
        weights = np.repeat(1.0 / counts, counts).astype(np.float32)
        return (torch.from_numpy(ids), torch.from_numpy(prior), torch.from_numpy(positions),
                torch.from_numpy(np.stack([pair_positions, items])), torch.from_numpy(weights))


def window_loss(model: GroceryModel, examples: "Examples", windows: np.ndarray) -> torch.Tensor:
    """The next-purchases loss over some windows: the mean over their positions that have a future."""
    ids, prior, positions, pairs, weights = examples.batch(windows, len(model.trained) - 1, model.repeat_decay)
    return future_loss(model(ids, prior), positions, pairs, weights)


def future_loss(logits: torch.Tensor, positions: torch.Tensor, pairs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Mean over positions of the cross-entropy averaged over the position's future items."""
    flat = logits.reshape(-1, logits.shape[-1])
    lse = torch.logsumexp(flat[positions], dim=-1).sum()
    target = (flat[pairs[0], pairs[1]] * weights).sum()
    return (lse - target) / len(positions)


@torch.no_grad()
def household_losses(model: GroceryModel, sequences: list[grocery.Sequence]) -> np.ndarray:
    """Each household's loss on all its training windows, in eval mode (NaN where it has no
    target): what the membership audit scores."""
    was_training = model.training
    model.eval()
    examples = Examples(sequences, model.encoder.seq_len)
    out = np.full(len(sequences), np.nan)
    for h, windows in enumerate(examples.of_household):
        if len(windows):
            out[h] = window_loss(model, examples, windows).item()
    model.train(was_training)
    return out


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="checkpoint folder (outside the work tree)")
    p.add_argument("--items", type=int, default=4000, help="catalogue size: the most-bought products")
    p.add_argument("--held-out-share", type=float, default=0.05, help="share of the catalogue kept out of training")
    p.add_argument("--horizon-days", type=float, default=28, help="how far ahead a position's targets reach")
    add_encoder_arguments(p, dropout=0.3)
    p.add_argument("--id-dropout", type=float, default=0.2)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--repeat-lr", type=float, help="learning rate of the repeat weights (default: --lr)")
    p.add_argument("--repeat-decay", type=float, default=1.0,
                   help="what an event counts in the repeat term per later event (1: plain counts)")
    p.add_argument("--batch", type=int, default=64, help="windows per batch")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--patience", type=int, default=5)
    add_privacy_arguments(p)
    p.add_argument("--dp-windows", type=int, default=8,
                   help="with --dp-epsilon: windows of a drawn household's sequence its sample uses, drawn at random "
                        "(each of L events)")
    add_run_arguments(p)
    return resolve_window(p.parse_args())


def build_model(args: argparse.Namespace, shop: grocery.Grocery) -> GroceryModel:
    return GroceryModel(shop.catalogue, vocabulary(shop.catalogue), config_of(args), args.id_dropout,
                        getattr(args, "repeat_decay", 1.0))


def load_model(folder: str, which: str = "best.pt") -> tuple[GroceryModel, dict, grocery.Grocery]:
    """A checkpoint of a run (the best on validation by default), with the shop data it was
    trained on (every household: --member-share is the caller's to apply)."""
    ckpt = torch.load(os.path.join(folder, which), map_location="cpu", weights_only=False)
    args = argparse.Namespace(**ckpt["args"])
    shop = grocery.load(args.items, args.held_out_share, args.seed, args.horizon_days)
    model = build_model(args, shop)
    model.load_state_dict(ckpt["model"])
    return model.eval(), ckpt, shop


def optimizer(args: argparse.Namespace, model: GroceryModel) -> torch.optim.Adam:
    """Adam at --lr, the repeat weights at --repeat-lr."""
    repeat = [model.repeat_item, model.repeat_bias]
    rest = [p for p in model.parameters() if all(p is not r for r in repeat)]
    return torch.optim.Adam([{"params": rest}, {"params": repeat, "lr": args.repeat_lr or args.lr}], lr=args.lr)


def fit(args: argparse.Namespace, shop: grocery.Grocery) -> tuple[GroceryModel, dict]:
    """Trains a model on `shop` into `args.out` (resuming from its `last.pt`) until early stopping,
    `--epochs` or `--max-minutes`; returns the model as the last epoch left it and the run's state
    (the best epoch's model is `best.pt`)."""
    torch.manual_seed(args.seed)
    model = build_model(args, shop)
    opt = optimizer(args, model)
    state = resume(args.out, model, opt)
    step = distributed.parallel(model)
    batch = distributed.per_rank_batch(args.batch)
    torch.manual_seed(distributed.rank_seed(args.seed + state["epoch"]))
    rng = np.random.default_rng(args.seed + state["epoch"])
    examples = Examples(shop.train, args.seq_len)
    n_windows = len(examples.windows)
    print(f"grocery: {len(shop.train)} households, {shop.n_items} items ({shop.catalogue.held_out.sum()} held out), "
          f"{n_windows} training windows; encoder parameters {model.encoder.non_embedding_parameters():,}; "
          f"{distributed.world_size()} process(es)", flush=True)

    started = time.time()
    while state["epoch"] < args.epochs and state["epoch"] - state["best_epoch"] < args.patience:
        t0 = time.time()
        model.train()
        total, count = 0.0, 0
        for idx in distributed.shard(np.array_split(rng.permutation(n_windows), max(1, n_windows // batch))):
            ids, prior, positions, pairs, weights = examples.batch(idx, shop.n_items, args.repeat_decay)
            loss = future_loss(step(ids, prior), positions, pairs, weights)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, count = total + loss.item() * len(positions), count + len(positions)
        total, count = distributed.sum_over_ranks(total, count)
        metrics = distributed.from_main(lambda: set_metrics(model.score(shop.valid.inputs), shop.valid.targets))
        facts = {"config": config_of(args).to_dict(), "n_items": shop.n_items, "data_sha256": shop.sha256}
        if end_epoch(args, state, model, opt, metrics, total / count, t0, started, facts):
            return model, state
    print(f"done: best valid NDCG@10 {state['best']:.4f} at epoch {state['best_epoch']}")
    return model, state


def fit_private(args: argparse.Namespace, shop: grocery.Grocery) -> None:
    """User-level DP-SGD over households (dp.py) for the planned --epochs from a fresh start: a
    household's sample is up to --dp-windows of its windows (drawn at random at each draw), its
    loss the mean over their positions, its gradient clipped as one (households without a
    position that has a later purchase within the horizon have nothing to learn and sit out); every epoch is released in
    turn (validation chooses nothing) with the guarantee of the steps so far (`privacy`)."""
    from dp import LoopedGrads, PrivateTraining, fresh_run, run_epochs, secret_randomness
    torch.manual_seed(args.seed)  # the initialisation; dropout, the windows, the sampling and the noise are secret (dp.py)
    model = build_model(args, shop)
    rng = secret_randomness()
    opt = optimizer(args, model)
    state = fresh_run(args.out, model, opt)
    examples = Examples(shop.train, args.seq_len)
    households = [h for h, windows in enumerate(examples.of_household) if len(windows)]  # with a target to learn

    def household_loss(i: int) -> torch.Tensor:
        windows = examples.of_household[households[i]]
        if len(windows) > args.dp_windows:
            windows = np.sort(rng.choice(windows, args.dp_windows, replace=False))
        return window_loss(model, examples, windows)

    private = PrivateTraining(model, opt, len(households), LoopedGrads(model, household_loss), **privacy_budget(args))
    run_epochs(args, model, private, state,
               {"config": config_of(args).to_dict(), "n_items": shop.n_items, "data_sha256": shop.sha256},
               lambda: set_metrics(model.score(shop.valid.inputs), shop.valid.targets),
               f"grocery: {len(households)} households trained on, {shop.n_items} items")


def trained_households(args: argparse.Namespace, shop: grocery.Grocery) -> grocery.Grocery:
    """The shop with only the households trained on (all, or the --member-share of them); the
    validation and test stages keep every household."""
    if args.member_share >= 1:
        return shop
    keep = members(len(shop.train), args.member_share, args.seed)
    return dataclasses.replace(shop, train=[s for s, k in zip(shop.train, keep) if k])


def main() -> None:
    args = parse_args()
    if args.dp_epsilon is not None:
        distributed.one_process_only("--dp-epsilon")  # before the shop's minute of loading
    torch.set_num_threads(args.threads)
    shop = trained_households(args, grocery.load(args.items, args.held_out_share, args.seed, args.horizon_days))
    if args.dp_epsilon is not None:
        return fit_private(args, shop)
    with distributed.process_group():
        fit(args, shop)


if __name__ == "__main__":
    main()
