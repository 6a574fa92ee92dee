"""SASRec-style interest encoder (Kang & McAuley, 2018), written with plain ops so that it exports
to ONNX opset 17 and runs under tract.

The exported contract (see DESIGN.md): input `emb` f32 [B, L, d] — the item table's rows for the
last L events, oldest first, left-padded with zero vectors — and output `user` f32 [B, d], the
state at the last position. Padding is recognised by its all-zero rows, so the encoder needs no
second input.
"""
import math

import torch
from torch import nn

MASKED = -1e9  # finite, so fully padded rows stay NaN-free


class Block(nn.Module):
    """Pre-norm causal self-attention and a point-wise feed-forward layer, as in SASRec."""

    def __init__(self, d: int, heads: int, dropout: float, ffn_mult: int = 1):
        super().__init__()
        assert d % heads == 0, "d must be a multiple of heads"
        self.heads = heads
        self.att_scale = 1.0 / math.sqrt(d // heads)
        self.ln_attn = nn.LayerNorm(d, eps=1e-8)
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)
        self.ln_ffn = nn.LayerNorm(d, eps=1e-8)
        self.ffn = nn.Sequential(
            nn.Linear(d, ffn_mult * d), nn.GELU(), nn.Dropout(dropout), nn.Linear(ffn_mult * d, d)
        )
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, length, d = x.shape
        h = self.heads
        q, k, v = self.qkv(self.ln_attn(x)).chunk(3, dim=-1)
        split = lambda t: t.reshape(b, length, h, d // h).transpose(1, 2)
        q, k, v = split(q), split(k), split(v)
        att = torch.matmul(q, k.transpose(-1, -2)) * self.att_scale + bias
        att = self.drop(torch.softmax(att, dim=-1))
        y = torch.matmul(att, v).transpose(1, 2).reshape(b, length, d)
        x = x + self.drop(self.out(y))
        return x + self.drop(self.ffn(self.ln_ffn(x)))


class SASRec(nn.Module):
    """The sequence encoder: every position's state, [B, L, d], from item rows [B, L, d]."""

    def __init__(self, d: int, seq_len: int, blocks: int, heads: int, dropout: float, ffn_mult: int = 1):
        super().__init__()
        self.d = d
        self.seq_len = seq_len
        self.pos = nn.Parameter(torch.zeros(seq_len, d))
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(d, heads, dropout, ffn_mult) for _ in range(blocks))
        self.ln = nn.LayerNorm(d, eps=1e-8)
        causal = torch.triu(torch.full((seq_len, seq_len), MASKED), diagonal=1)
        self.register_buffer("causal", causal, persistent=False)

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        keep = (emb.abs().sum(-1, keepdim=True) > 0).to(emb.dtype)  # [B, L, 1]
        bias = self.causal + (1.0 - keep.transpose(1, 2)).unsqueeze(1) * MASKED  # [B, 1, L, L]
        x = self.drop(emb * math.sqrt(self.d) + self.pos) * keep
        for block in self.blocks:
            x = block(x, bias) * keep
        return self.ln(x)


class Encoder(nn.Module):
    """What ships: the user vector at the last position."""

    def __init__(self, sasrec: SASRec):
        super().__init__()
        self.sasrec = sasrec

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        return self.sasrec(emb)[:, -1, :]


def export_onnx(sasrec: SASRec, path: str) -> None:
    """Exports the encoder as ONNX opset 17 with input `emb` and output `user`."""
    encoder = Encoder(sasrec).eval()
    example = torch.zeros(1, sasrec.seq_len, sasrec.d)
    torch.onnx.export(
        encoder,
        (example,),
        path,
        input_names=["emb"],
        output_names=["user"],
        dynamic_axes={"emb": {0: "batch"}, "user": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
