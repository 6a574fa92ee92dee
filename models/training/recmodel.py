"""The trainable recommender: an item table (row 0 = padding) feeding the encoder, scoring every
item by dot product with the user vector (tied embeddings, as the engine scores)."""
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from data import left_pad
from sasrec import EncoderConfig, SASRec, init_weights


class RecModel(nn.Module):
    def __init__(self, n_items: int, cfg: EncoderConfig):
        super().__init__()
        self.items = nn.Embedding(n_items + 1, cfg.d, padding_idx=0)
        self.encoder = SASRec(cfg)
        init_weights(self)
        with torch.no_grad():
            self.items.weight[0].zero_()

    def table(self) -> torch.Tensor:
        """The item table [N + 1, d] the encoder reads and scoring uses (row 0: padding)."""
        return self.items.weight

    def states(self, ids: torch.Tensor, table: torch.Tensor | None = None) -> torch.Tensor:
        """The encoder's state at every position [B, L, d] from model ids [B, L] (0 = padding)."""
        return self.encoder(F.embedding(ids, self.table() if table is None else table))

    def user(self, ids: torch.Tensor, table: torch.Tensor | None = None) -> torch.Tensor:
        """User vectors [B, d]: the state at the last position."""
        return self.states(ids, table)[:, -1, :]

    def logits(self, user: torch.Tensor, table: torch.Tensor | None = None) -> torch.Tensor:
        """Scores of every item [..., N] (padding row left out)."""
        return user @ (self.table() if table is None else table)[1:].T

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Scores of every item [B, N] from model ids [B, L]: the training step (called through
        DistributedDataParallel under torchrun)."""
        return self.logits(self.user(ids))

    @torch.no_grad()
    def score(self, inputs: list[list[int]], batch: int = 1024) -> torch.Tensor:
        """Scores [B, N] for users' item-row sequences, in eval mode."""
        was_training = self.training
        self.eval()
        seq_len = self.encoder.seq_len
        by_length = np.argsort([min(len(s), seq_len) for s in inputs], kind="stable")
        out = torch.empty(len(inputs), self.items.num_embeddings - 1)
        for i in range(0, len(inputs), batch):
            idx = by_length[i:i + batch]
            longest = max(1, *(min(len(inputs[j]), seq_len) for j in idx))
            ids = torch.from_numpy(left_pad([inputs[j] for j in idx], longest))
            out[torch.from_numpy(idx)] = self.logits(self.user(ids))
        self.train(was_training)
        return out
