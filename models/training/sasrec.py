"""The interest encoder: a SASRec-style causal transformer (Kang & McAuley, 2018) in the post-norm
form of FMLP-Rec/BSARec, written with plain ops so that it exports to ONNX opset 17 and runs under
tract. With `filter_c` > 0 each block also has BSARec's frequency branch (Shin et al., AAAI 2024):
a low-pass filter over the sequence (the lowest c // 2 + 1 frequencies of its Fourier transform)
plus a learned share of the rest, mixed with the attention's output as alpha : 1 - alpha.

With `reach` r > 0 it is the streaming form: no position table (positions counted from the window's
end shift with every new event), and each block's attention reaches back r positions, the query's
own included, with a learned bias per head and distance (0 to r - 1) in place of positions. A
position's state then depends only on it and the events before it within blocks * (r - 1), so an
engine can keep each block's keys and values and encode a new event at the cost of one position;
the window is exactly that reach (seq_len = blocks * (r - 1) + 1), so the full recompute over the
window equals the streamed state. The frequency branch filters the whole window at once and is not
part of this form.

The exported contract (see DESIGN.md): input `emb` f32 [B, L, d] — the item table's rows for the
last L events, oldest first, left-padded with zero vectors — and output `user` f32 [B, d], the
state at the last position. Padding is recognised by its all-zero rows.
"""
import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

MASKED = -1e4  # additive attention mask: finite, so fully padded rows stay NaN-free


@dataclass
class EncoderConfig:
    """Shape and regularisation of an encoder."""

    d: int = 64
    seq_len: int = 50
    blocks: int = 2
    heads: int = 1
    ffn_mult: int = 4
    dropout: float = 0.5
    attn_dropout: float = 0.5
    filter_c: int = 0  # BSARec's c: the low-pass keeps c // 2 + 1 frequencies; 0 = no frequency branch
    alpha: float = 0.7  # with the frequency branch: its weight against the attention's
    activation: str = "gelu"  # the feed-forward layer's: "gelu" (exact) or "relu"
    reach: int = 0  # the streaming form's attention reach (see above); 0 = attention over the whole window

    def __post_init__(self):
        if self.reach < 0:
            raise ValueError(f"reach must be 0 (the window form) or positive, got {self.reach}")
        if self.reach:
            if self.filter_c:
                raise ValueError("the streaming form (reach > 0) has no frequency branch (filter_c must be 0)")
            if self.seq_len != streaming_window(self.blocks, self.reach):
                raise ValueError(f"with reach {self.reach} and {self.blocks} blocks the window must be "
                                 f"{streaming_window(self.blocks, self.reach)} events, got seq_len {self.seq_len}")

    def to_dict(self) -> dict:
        return asdict(self)


def streaming_window(blocks: int, reach: int) -> int:
    """The events a streaming encoder's last state depends on: its window."""
    return blocks * (reach - 1) + 1


def low_pass_matrix(length: int, c: int) -> torch.Tensor:
    """[length, length]: the linear map of BSARec's low-pass filter along the sequence (an
    orthonormal real FFT keeping the lowest c // 2 + 1 frequencies, then its inverse), so that the
    filter exports as one matrix product."""
    spectrum = torch.fft.rfft(torch.eye(length, dtype=torch.float64), dim=0, norm="ortho")
    spectrum[c // 2 + 1:] = 0
    return torch.fft.irfft(spectrum, n=length, dim=0, norm="ortho").float()


class Block(nn.Module):
    """Causal self-attention (with the frequency branch beside it, when configured), then a
    feed-forward layer; each sub-layer is residual, then layer-normed."""

    def __init__(self, cfg: EncoderConfig):
        super().__init__()
        d, h = cfg.d, cfg.heads
        assert d % h == 0, "d must be a multiple of heads"
        self.heads = h
        self.alpha = cfg.alpha if cfg.filter_c > 0 else 0.0
        if cfg.filter_c > 0:
            self.register_buffer("low_pass", low_pass_matrix(cfg.seq_len, cfg.filter_c), persistent=False)
            self.filter_beta = nn.Parameter(torch.randn(d))  # the high frequencies' share is its square
            self.ln_filter = nn.LayerNorm(d, eps=1e-12)
        if cfg.reach:
            self.rel_bias = nn.Parameter(torch.zeros(h, cfg.reach))  # [heads, distance]
        self.att_scale = 1.0 / math.sqrt(d // h)
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)
        self.att_drop = nn.Dropout(cfg.attn_dropout)
        self.drop = nn.Dropout(cfg.dropout)
        self.ln_att = nn.LayerNorm(d, eps=1e-12)
        activation = {"gelu": nn.GELU, "relu": nn.ReLU}[cfg.activation]
        self.ffn = nn.Sequential(nn.Linear(d, cfg.ffn_mult * d), activation(), nn.Linear(cfg.ffn_mult * d, d))
        self.ln_ffn = nn.LayerNorm(d, eps=1e-12)

    def attention(self, x: torch.Tensor, bias: torch.Tensor, distance: torch.Tensor | None) -> torch.Tensor:
        b, length, d = x.shape
        split = lambda t: t.reshape(b, length, self.heads, d // self.heads).transpose(1, 2)
        q, k, v = (split(t) for t in self.qkv(x).chunk(3, dim=-1))
        if distance is not None:
            # [heads, L, L] by the whole window's distances (constant Gather indices, which the
            # engine's ONNX gate can bound), then the l positions in use: each key's bias by its distance
            bias = bias + self.rel_bias[:, distance][:, :length, :length]
        att = self.att_drop(torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * self.att_scale + bias, dim=-1))
        y = torch.matmul(att, v).transpose(1, 2).reshape(b, length, d)
        return self.ln_att(x + self.drop(self.out(y)))

    def frequency(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """The filter over the window's last l positions, padding zeroed: the same outputs as
        over the whole left-padded window, so batches may drop leading padding."""
        length = x.shape[1]
        low = torch.matmul(self.low_pass[-length:, -length:], x * keep[..., None])
        return self.ln_filter(x + self.drop(low + self.filter_beta**2 * (x - low)))

    def forward(self, x: torch.Tensor, bias: torch.Tensor, keep: torch.Tensor,
                distance: torch.Tensor | None) -> torch.Tensor:
        h = self.attention(x, bias, distance)
        if self.alpha:
            h = self.alpha * self.frequency(x, keep) + (1 - self.alpha) * h
        return self.ln_ffn(h + self.drop(self.ffn(h)))


class SASRec(nn.Module):
    """Every position's state, [B, l, d], from item rows [B, l, d] (zero rows are padding), l <= L.
    A shorter input is the last l positions of a left-padded one: padding is masked out of
    attention and out of the frequency filter, so dropping leading padding (as training batches do)
    changes no output."""

    def __init__(self, cfg: EncoderConfig):
        super().__init__()
        self.cfg = cfg
        self.d, self.seq_len, self.reach = cfg.d, cfg.seq_len, cfg.reach
        if not cfg.reach:
            self.pos = nn.Parameter(torch.zeros(cfg.seq_len, cfg.d))
        self.ln_in = nn.LayerNorm(cfg.d, eps=1e-12)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.blocks))
        behind = torch.arange(cfg.seq_len)[:, None] - torch.arange(cfg.seq_len)[None, :]  # query - key
        out_of_reach = (behind < 0) | (behind >= cfg.reach) if cfg.reach else behind < 0
        self.register_buffer("causal", torch.where(out_of_reach, MASKED, 0.0), persistent=False)
        self.register_buffer("distance", behind.clamp(0, max(cfg.reach - 1, 0)), persistent=False)

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        length = emb.shape[1]
        keep = (emb.abs().sum(-1) > 0).to(emb.dtype)  # [B, l]
        bias = self.causal[:length, :length] + ((1.0 - keep) * MASKED)[:, None, None, :]  # [B, 1, l, l]
        distance = self.distance if self.reach else None
        x = self.drop(self.ln_in(emb if self.reach else emb + self.pos[self.seq_len - length:]))
        for block in self.blocks:
            x = block(x, bias, keep, distance)
        return x

    def non_embedding_parameters(self) -> int:
        """Parameters of the encoder itself (the item table not counted)."""
        return sum(p.numel() for p in self.parameters())


def init_weights(module: nn.Module, std: float = 0.02) -> None:
    """Small normal init, as SASRec-family code does (embeddings and linear layers std 0.02)."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, std)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)
    for name, p in module.named_parameters():
        if name.endswith("pos"):
            nn.init.normal_(p, 0.0, std)


class LastState(nn.Module):
    """What ships: the state at the last position."""

    def __init__(self, sasrec: SASRec):
        super().__init__()
        self.sasrec = sasrec

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        return self.sasrec(emb)[:, -1, :]


def export_onnx(sasrec: SASRec, path: str) -> None:
    """Exports the encoder as ONNX opset 17 with input `emb` and output `user`."""
    encoder = LastState(sasrec).eval()
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
