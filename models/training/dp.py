"""User-level differentially private training (DP-SGD with Opacus).

The unit of privacy is the user (a shopper): one sample is one user's whole training sequence,
whose loss is the mean of its prefixes' losses (every position of the last `seq_len` + 1 items
predicts the next; earlier items of the rare longer sequences are not used); for the grocery
trainer, one household's windows (train_grocery.py). Each step draws users
by Poisson sampling (Opacus's `UniformWithReplacementSampler`, each user in with probability q),
clips each user's gradient to `max_grad_norm` and adds Gaussian noise (Opacus's `DPOptimizer`);
the RDP accountant counts the steps, and the noise multiplier is fitted to the planned epochs with
`get_noise_multiplier`, the function Opacus's `make_private_with_epsilon` uses.

Per-user gradients come from `torch.func` (vmap of grad, `SequenceGrads`) or from plain autograd
one user at a time (`LoopedGrads`, for samples that do not batch) over the whole model, not from
Opacus's per-layer hooks: the item table is used twice (the encoder's input rows and the tied
output scores) and the encoder adds its position table as a plain parameter, which per-layer hooks
do not see. Every trained parameter, the item table included, gets its per-user gradient clipped
and noised. Only the initialisation follows the published --seed: dropout, the sampling, the noise
and any other draw come from the operating system's randomness (`secret_randomness`).
"""
import os
import time
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from opacus import __version__ as OPACUS_VERSION
from opacus.accountants import RDPAccountant
from opacus.accountants.utils import get_noise_multiplier
from opacus.optimizers import DPOptimizer
from opacus.utils.uniform_sampler import UniformWithReplacementSampler
from torch import nn
from torch.func import functional_call, grad, vmap

from checkpoints import end_epoch, resume
from data import left_pad

ACCOUNTANT = "rdp"
IGNORE = -100  # target of a padded position


def secret_seed() -> int:
    """A seed from the operating system's randomness, never recorded."""
    return int.from_bytes(os.urandom(8), "little")


def secret_generator() -> torch.Generator:
    """A generator seeded from the OS's randomness: the sampling and the noise must not be
    reproducible from the published command (its --seed), or the noise could be subtracted."""
    return torch.Generator().manual_seed(secret_seed())


def secret_randomness() -> np.random.Generator:
    """Reseeds torch's global generator (dropout) from the OS's randomness and returns a numpy
    generator seeded likewise, for a DP run's random choices after the initialisation. Drawn from
    the published --seed, they would be known to an attacker, and since how far the stream runs
    depends on who is drawn, one shopper more would shift every later shopper's dropout masks and
    windows: the sum's sensitivity would no longer be one clipped gradient."""
    torch.manual_seed(secret_seed())
    return np.random.default_rng(secret_seed())


def user_tensors(seqs: list[list[int]], seq_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Model ids [B, l] (inputs, left-padded to the longest) and targets [B, l] (item rows; IGNORE
    at padding) of users' training sequences: the last seq_len + 1 items, each predicting the next."""
    tails = [s[-(seq_len + 1):] for s in seqs]
    length = max(1, max(len(t) - 1 for t in tails))
    ids = torch.from_numpy(left_pad([t[:-1] for t in tails], length))
    targets = torch.full((len(seqs), length), IGNORE, dtype=torch.long)
    for i, t in enumerate(tails):
        if len(t) > 1:
            targets[i, length - len(t) + 1:] = torch.as_tensor(t[1:])
    return ids, targets


class UserLoss(nn.Module):
    """Each user's loss [B]: the mean cross-entropy over all items of its sequence's positions."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, ids: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        logits = self.model.logits(self.model.states(ids))  # [B, l, N]
        loss = F.cross_entropy(logits.transpose(1, 2), targets, ignore_index=IGNORE, reduction="none")
        return loss.sum(1) / (targets != IGNORE).sum(1).clamp(min=1)


@torch.no_grad()
def sequence_losses(model: nn.Module, seqs: list[list[int]], seq_len: int, batch: int = 256) -> np.ndarray:
    """Each user's loss (as trained on) in eval mode: what the membership audit scores."""
    was_training = model.training
    model.eval()
    order = np.argsort([len(s) for s in seqs], kind="stable")
    out = np.empty(len(seqs))
    for i in range(0, len(seqs), batch):
        idx = order[i:i + batch]
        out[idx] = UserLoss(model)(*user_tensors([seqs[j] for j in idx], seq_len)).numpy()
    model.train(was_training)
    return out


class SequenceGrads:
    """Per-user gradients of `UserLoss` for users whose sample is one item sequence, by vmap of
    grad; users of similar length are batched together so that short sequences carry little
    padding."""

    def __init__(self, model: nn.Module, users: list[list[int]], seq_len: int, micro_batch: int = 128):
        self.loss, self.users, self.seq_len, self.micro_batch = UserLoss(model), users, seq_len, micro_batch
        self.params = trained_parameters(model)

    def __call__(self, idx: list[int]) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        params = {k: p.detach() for k, p in self.params.items()}
        buffers = {f"model.{k}": b for k, b in self.loss.model.named_buffers()}

        def one(p, ids, targets):
            loss = functional_call(self.loss, ({f"model.{k}": v for k, v in p.items()}, buffers),
                                   (ids[None], targets[None]))[0]
            return loss, loss

        per_user = vmap(grad(one, has_aux=True), in_dims=(None, 0, 0), randomness="different")
        ordered = sorted(idx, key=lambda u: len(self.users[u]))
        parts, losses = [], []
        for i in range(0, len(ordered), self.micro_batch):
            g, loss = per_user(params, *user_tensors([self.users[u] for u in ordered[i:i + self.micro_batch]],
                                                     self.seq_len))
            parts.append(g)
            losses.append(loss)
        if not parts:
            return no_users(params)
        return {k: torch.cat([g[k] for g in parts]) for k in params}, torch.cat(losses)


class LoopedGrads:
    """Per-user gradients one user at a time by plain autograd, for samples that do not batch
    (a grocery household's windows of ragged targets): `user_loss(u)` is user u's loss."""

    def __init__(self, model: nn.Module, user_loss: Callable[[int], torch.Tensor]):
        self.params, self.user_loss = trained_parameters(model), user_loss

    def __call__(self, idx: list[int]) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        if not idx:
            return no_users(self.params)
        grads: dict[str, list[torch.Tensor]] = {k: [] for k in self.params}
        losses = []
        for u in idx:
            loss = self.user_loss(u)
            found = torch.autograd.grad(loss, list(self.params.values()), allow_unused=True)
            for (k, p), g in zip(self.params.items(), found):
                grads[k].append(torch.zeros_like(p) if g is None else g)
            losses.append(loss.detach())
        return {k: torch.stack(g) for k, g in grads.items()}, torch.stack(losses)


def trained_parameters(model: nn.Module) -> dict[str, nn.Parameter]:
    """The parameters a DP run clips and noises: every one that trains."""
    return {k: p for k, p in model.named_parameters() if p.requires_grad}


def no_users(params: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """The gradients of an empty draw (Poisson sampling may draw nobody: the step is noise alone)."""
    return {k: p.new_zeros((0, *p.shape)) for k, p in params.items()}, torch.zeros(0)


class PrivateTraining:
    """DP-SGD over users: the noise fitted to the planned epochs, then one `epoch()` per epoch, and
    `record()`, the guarantee the steps so far give (what the manifest's `privacy` carries).
    `per_user_grads(idx)` gives the drawn users' gradients [B, ...] per trained parameter of
    `model` (`SequenceGrads` or `LoopedGrads`) and their losses."""

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer, n_users: int,
                 per_user_grads: Callable[[list[int]], tuple[dict[str, torch.Tensor], torch.Tensor]], *,
                 epsilon: float, delta: float, max_grad_norm: float, batch: int, epochs: int):
        if not 0 < delta < 1 / n_users:
            raise SystemExit(f"--dp-delta {delta} must be below 1 / users = {1 / n_users:.2e}")
        self.params, self.per_user_grads = trained_parameters(model), per_user_grads
        self.sample_rate = min(1.0, batch / n_users)
        self.sampler = UniformWithReplacementSampler(num_samples=n_users, sample_rate=self.sample_rate,
                                                     generator=secret_generator())
        self.steps_per_epoch = len(self.sampler)
        self.delta, self.epochs_planned = delta, epochs
        self.noise_multiplier = get_noise_multiplier(target_epsilon=epsilon, target_delta=delta,
                                                     sample_rate=self.sample_rate,
                                                     steps=epochs * self.steps_per_epoch, accountant=ACCOUNTANT)
        self.optimizer = DPOptimizer(optimizer, noise_multiplier=self.noise_multiplier, max_grad_norm=max_grad_norm,
                                     expected_batch_size=round(self.sample_rate * n_users), loss_reduction="mean",
                                     generator=secret_generator())
        self.accountant = RDPAccountant()
        self.optimizer.attach_step_hook(self.accountant.get_optimizer_hook_fn(sample_rate=self.sample_rate))
        self.epochs_done = 0

    def epoch(self) -> float:
        """One epoch of DP-SGD steps; returns the mean loss of the users drawn."""
        total, count = 0.0, 0
        for idx in self.sampler:
            grads, losses = self.per_user_grads(list(idx))
            self.optimizer.zero_grad()
            for k, p in self.params.items():
                p.grad_sample = grads[k]
            self.optimizer.step()
            total, count = total + losses.sum().item(), count + len(losses)
        self.epochs_done += 1
        return total / max(count, 1)

    def record(self, covers: list[str]) -> dict:
        """The guarantee of the steps taken so far, in the manifest's `privacy` form."""
        steps = sum(n for _, _, n in self.accountant.history)
        return {
            "unit": "shopper",
            "adjacency": "add/remove one shopper",
            "epsilon": self.accountant.get_epsilon(self.delta),
            "delta": self.delta,
            "accountant": ACCOUNTANT,
            "maxGradNorm": self.optimizer.max_grad_norm,
            "noiseMultiplier": self.noise_multiplier,
            "sampleRate": self.sample_rate,
            "epochs": self.epochs_done,
            "steps": steps,
            "covers": covers,
            "library": f"opacus {OPACUS_VERSION}",
        }


def fresh_run(folder: str, model: nn.Module, optimizer: torch.optim.Optimizer) -> dict:
    """The state of a DP run that has not started; refuses a folder holding a started one."""
    state = resume(folder, model, optimizer)
    if state["epoch"]:
        raise SystemExit(f"{folder} holds a started run: a DP run cannot resume (its sampling and "
                         f"accounting start fresh); use a new --out")
    return state


def run_epochs(args, model: nn.Module, private: PrivateTraining, state: dict, facts: dict,
               validate: Callable[[], dict], who: str) -> None:
    """Every planned epoch of a DP run (no early stopping), each released in turn with the
    guarantee of the steps so far (`privacy` beside `facts` in the checkpoint); `validate` is for
    monitoring only and chooses nothing; `who` says what is trained on."""
    print(f"{who}; DP-SGD to ε = {args.dp_epsilon} at δ = {args.dp_delta}: noise multiplier "
          f"{private.noise_multiplier:.4f}, sample rate {private.sample_rate:.5f}, {private.steps_per_epoch} "
          f"steps per epoch", flush=True)
    started = time.time()
    while state["epoch"] < args.epochs:
        t0 = time.time()
        model.train()
        loss = private.epoch()
        released = {**facts, "privacy": private.record(list(private.params))}
        if end_epoch(args, state, model, private.optimizer, validate(), loss, t0, started, released,
                     release_last=True):
            return
    print(f"done: {state['epoch']} epochs, ε = {private.record([])['epsilon']:.3f} at δ = {args.dp_delta}")


def epsilon_of(record: dict) -> float:
    """ε recomputed with the accountant from a record's noise multiplier, sample rate, steps and δ."""
    accountant = RDPAccountant()
    accountant.history = [(record["noiseMultiplier"], record["sampleRate"], record["steps"])]
    return accountant.get_epsilon(record["delta"])
