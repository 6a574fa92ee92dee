"""Interaction data in the two formats of ../shared/data and the leave-one-out protocol.

Formats (detected from the file, so another dataset of either format needs no code change):
- sequence per line: `user item item ...`, items in time order (Amazon Beauty as ICLRec prepared it);
- interaction per line: `user item`, a user's lines in time order (SASRec's Video.txt).

Item ids are kept as the file's strings; the model's row of an item is its index in `Data.items`
(sorted numerically when every id is a number). Row 0 of the model's embedding is padding, so
item row r is embedding row r + 1 during training; the shipped table drops the padding row.
"""
import hashlib
import os
import sys
from dataclasses import dataclass
from typing import Iterator

import numpy as np


@dataclass
class Data:
    """Users' item sequences (item rows, time order) and the item ids."""

    items: list[str]
    users: list[str]
    sequences: list[list[int]]
    path: str
    sha256: str

    @property
    def n_items(self) -> int:
        return len(self.items)


def fields(path: str, digest) -> Iterator[list[str]]:
    """The file's non-blank lines split into fields, one line at a time (the file is never held
    whole); every byte read goes into `digest`."""
    with open(path, "rb") as f:
        for line in f:
            digest.update(line)
            if split := line.decode().split():
                yield split


def read(path: str) -> Data:
    """Reads a data file of either format, streaming it line by line; exits with a clear message
    if it is missing."""
    if not os.path.exists(path):
        sys.exit(f"data file {path} is missing: see ../shared/data/README.md")
    digest = hashlib.sha256()
    lines_of: dict[str, list[list[str]]] = {}  # per user, the fields after the user of each of its lines
    for user, *rest in fields(path, digest):
        lines_of.setdefault(user, []).append(rest)
    user_ids = list(lines_of)
    if all(len(lines) == 1 for lines in lines_of.values()):  # each user once: a sequence per line
        seqs_by_id = [lines[0] for lines in lines_of.values()]
    else:  # interactions, a user's lines in time order
        seqs_by_id = [[item for item, *_ in lines] for lines in lines_of.values()]
    ids = sorted({i for s in seqs_by_id for i in s}, key=lambda x: (0, int(x)) if x.isdigit() else (1, x))
    row = {item: r for r, item in enumerate(ids)}
    sequences = [[row[i] for i in s] for s in seqs_by_id]
    return Data(items=ids, users=user_ids, sequences=sequences, path=path, sha256=digest.hexdigest())


@dataclass
class Split:
    """Leave-one-out: per user, inputs (the items before the target) and the target, by stage."""

    train: list[list[int]]  # each user's sequence without its last two items
    valid_inputs: list[list[int]]
    valid_targets: np.ndarray
    test_inputs: list[list[int]]
    test_targets: np.ndarray

    def subset(self, keep: np.ndarray) -> "Split":
        """The split of the users where `keep` [users] is true."""
        rows = np.flatnonzero(keep)
        pick = lambda seqs: [seqs[i] for i in rows]
        return Split(pick(self.train), pick(self.valid_inputs), self.valid_targets[rows],
                     pick(self.test_inputs), self.test_targets[rows])


def members(n_users: int, share: float, seed: int) -> np.ndarray:
    """A random share of n_users (bool [n_users]), drawn with the seed: the users a membership audit
    trains on; the others are held out."""
    keep = np.zeros(n_users, dtype=bool)
    keep[np.random.default_rng(seed).permutation(n_users)[:round(share * n_users)]] = True
    return keep


def leave_one_out(data: Data) -> Split:
    """Last item: test target; the one before: validation target; the rest: training.
    Users with fewer than 3 items have no training part and are left out."""
    users = [s for s in data.sequences if len(s) >= 3]
    return Split(
        train=[s[:-2] for s in users],
        valid_inputs=[s[:-2] for s in users],
        valid_targets=np.array([s[-2] for s in users]),
        test_inputs=[s[:-1] for s in users],
        test_targets=np.array([s[-1] for s in users]),
    )


def prefixes(train: list[list[int]], max_len: int) -> tuple[list[list[int]], np.ndarray]:
    """Every prefix of every training sequence as an example: (the last max_len items before
    position t, the item at t), for t >= 1."""
    inputs, targets = [], []
    for seq in train:
        for t in range(1, len(seq)):
            inputs.append(seq[max(0, t - max_len):t])
            targets.append(seq[t])
    return inputs, np.array(targets)


def left_pad(batch: list[list[int]], length: int) -> np.ndarray:
    """Model ids (item row + 1; 0 is padding) of the last `length` items, left-padded."""
    out = np.zeros((len(batch), length), dtype=np.int64)
    for i, seq in enumerate(batch):
        tail = seq[-length:]
        if tail:
            out[i, length - len(tail):] = np.asarray(tail) + 1
    return out


def length_batches(lengths: np.ndarray, batch: int, rng: np.random.Generator, window: int = 64) -> list[np.ndarray]:
    """Shuffled batches of example indices in which lengths are similar (sorted within windows of
    `window` batches), so that batches can drop the leading padding they all share."""
    order = rng.permutation(len(lengths))
    batches = []
    for start in range(0, len(order), batch * window):
        chunk = order[start:start + batch * window]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i:i + batch] for i in range(0, len(chunk), batch)]
    return [batches[i] for i in rng.permutation(len(batches))]


def sampled_negatives(data: Data, seed: int, users: int = 10_000, n: int = 100) -> dict[str, list[str]]:
    """The sampled-100 protocol's draw: up to `users` users (all when fewer), each with `n` items
    drawn uniformly from those the user never interacted with. Draw once and commit it."""
    rng = np.random.default_rng(seed)
    eligible = [u for u, s in enumerate(data.sequences) if len(s) >= 3]
    chosen = sorted(rng.choice(eligible, size=min(users, len(eligible)), replace=False).tolist())
    out = {}
    for u in chosen:
        seen = set(data.sequences[u])
        picks: list[int] = []
        while len(picks) < n:
            item = int(rng.integers(data.n_items))
            if item not in seen and item not in picks:
                picks.append(item)
        out[data.users[u]] = [data.items[i] for i in picks]
    return out
