"""Spatio-temporal transformer: attention within a frame, then causal attention through time per token.

Notation: B batch, T frames, P tokens per frame, D width, h heads, e head width, W the temporal window
(frames one query may see, = context_frames; also the KV ring size at play), C conditioning width.

Temporal attention uses RoPE with *absolute* frame indices. Attention scores then depend only on index
differences, so keys can be rotated once, cached, and read back any number of frames later: the play
cache (`KVCache`) is a ring buffer that is never rewritten when it wraps. Positional information within
a frame is added once at each model's input (a learned embedding). With `grid`, spatial attention also
rotates queries and keys by each token's row and column (2D RoPE), so its scores see where one token
stands relative to another: what is learnt about a sprite in one place of the screen holds in every other.

A sequence longer than W uses a banded causal mask (each frame sees itself and the W-1 frames before
it). That is exactly what the ring cache computes, so cached generation equals full recomputation.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn


class RMSNorm(nn.Module):
    def __init__(self, width: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(width))

    def forward(self, x: Tensor) -> Tensor:
        # fp32 statistics: bf16 sums of squares lose too much precision.
        normed = F.rms_norm(x.float(), (x.shape[-1],), eps=self.eps).to(x.dtype)
        return normed * self.weight.to(x.dtype)


def rope_tables(positions: Tensor, head_dim: int, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    """positions (T,) long -> cos, sin (T, e/2). Angles in fp64 so indices stay exact after hours of play."""
    inv_freq = 1.0 / (10000.0 ** (torch.arange(0, head_dim, 2, device=positions.device, dtype=torch.float64)
                                  / head_dim))
    angles = positions.to(torch.float64)[:, None] * inv_freq  # (T, e/2)
    return angles.cos().to(dtype), angles.sin().to(dtype)


def apply_rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """x (N, h, T, e) rotated by per-frame angles (T, e/2)."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)


def grid_rope_tables(side: int, head_dim: int) -> tuple[Tensor, Tensor]:
    """A side x side token grid, row-major -> cos, sin (side^2, e/2): the first half of the rotated pairs turn by
    the token's row, the second half by its column, each over frequencies that span the grid."""
    pairs = head_dim // 4  # rotated pairs per axis
    inv_freq = 1.0 / (float(side) ** 2) ** (torch.arange(pairs, dtype=torch.float64) / pairs)  # (e/4,)
    row, col = torch.div(torch.arange(side * side), side, rounding_mode="floor"), torch.arange(side * side) % side
    angles = torch.cat((row[:, None] * inv_freq, col[:, None] * inv_freq), dim=1)  # (P, e/2)
    return angles.cos().float(), angles.sin().float()


def band_mask(frames: int, window: int, device: torch.device) -> Tensor:
    """(T, T) bool: query frame i sees key frames j with i - window < j <= i."""
    i = torch.arange(frames, device=device)
    delta = i[:, None] - i[None, :]
    return (delta >= 0) & (delta < window)


@dataclass
class LayerKV:
    """One layer's view of the play cache for the frame being generated."""

    keys: Tensor  # (B*P, h, W, e), RoPE already applied
    values: Tensor  # (B*P, h, W, e)
    slot: Tensor  # (1,) long: ring slot of the current frame
    valid: Tensor  # (W,) bool: slots holding frames inside the window


class KVCache:
    """Temporal K/V of the last W frames for every layer: preallocated, written in place at a position tensor.

    `position` is the absolute index of the frame being generated. Each forward with the cache writes
    the current frame's K/V into slot position % W (overwriting the frame that just left the window), so
    MaskGIT steps and the final commit pass all use the same code; `advance()` then moves on a frame.
    No tensor is reallocated after construction, so memory is flat and CUDA graphs can capture it.
    """

    def __init__(self, layers: int, batch_tokens: int, heads: int, window: int, head_dim: int,
                 device: torch.device | str, dtype: torch.dtype):
        shape = (batch_tokens, heads, window, head_dim)
        self.window = window
        self.keys = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(layers)]
        self.values = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(layers)]
        self.frame_of_slot = torch.full((window,), -1, device=device, dtype=torch.long)  # (W,)
        self.position = torch.zeros((), device=device, dtype=torch.long)

    def reset(self) -> None:
        self.frame_of_slot.fill_(-1)
        self.position.zero_()

    def advance(self) -> None:
        self.position.add_(1)

    def layer_views(self) -> list[LayerKV]:
        """Claim the current frame's slot and return each layer's view (all on-device, no host sync)."""
        slot = (self.position % self.window).view(1)
        self.frame_of_slot.index_copy_(0, slot, self.position.view(1))
        valid = (self.frame_of_slot >= 0) & (self.frame_of_slot > self.position - self.window)
        return [LayerKV(k, v, slot, valid) for k, v in zip(self.keys, self.values)]


def attend(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None, causal: bool = False) -> Tensor:
    """Scaled dot-product attention of q (..., Lq, e) over k, v (..., Lk, e); mask (Lq, Lk) or broadcastable,
    True where a query may look; causal: each query sees the keys up to its own index.

    torch's fused kernel, except for bf16 on a CPU: there its backward pass cost 4.6x its fp32 one (40% of a
    bf16 dynamics step), where plain products run at bf16 speed. Rows are at most a frame's tokens or a
    context's frames long, so the score matrix is small."""
    if q.dtype == torch.bfloat16 and q.device.type == "cpu":
        return attend_by_products(q, k, v, mask, causal)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal)


def attend_by_products(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None, causal: bool = False) -> Tensor:
    """`attend` as two matrix products and a softmax (in fp32), for any dtype; every query must see a key."""
    scores = (q @ k.transpose(-1, -2)) * q.shape[-1] ** -0.5
    if causal:
        mask = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool, device=q.device).tril()
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores.float(), dim=-1).to(v.dtype) @ v


class SpatialAttention(nn.Module):
    """Attention among the P tokens of each frame; with `grid` (the token grid's side), 2D RoPE by row and column."""

    def __init__(self, width: int, heads: int, grid: int | None = None):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width, bias=False)
        self.proj = nn.Linear(width, width, bias=False)
        self.rotated = grid is not None
        if self.rotated:  # (P, e/2) each; rebuilt from the config, so not saved with the weights
            cos, sin = grid_rope_tables(grid, width // heads)
            self.register_buffer("rope_cos", cos, persistent=False)
            self.register_buffer("rope_sin", sin, persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        b, t = x.shape[:2]
        q, k, v = rearrange(self.qkv(x), "b t p (three h e) -> three (b t) h p e", three=3, h=self.heads)
        if self.rotated:
            cos, sin = self.rope_cos.to(q.dtype), self.rope_sin.to(q.dtype)
            q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        out = attend(q, k, v)
        return self.proj(rearrange(out, "(b t) h p e -> b t p (h e)", b=b, t=t))


class TemporalAttention(nn.Module):
    """Causal attention through time for each token position, RoPE over absolute frame indices."""

    def __init__(self, width: int, heads: int, window: int):
        super().__init__()
        self.heads, self.window = heads, window
        self.head_dim = width // heads
        self.qkv = nn.Linear(width, 3 * width, bias=False)
        self.proj = nn.Linear(width, width, bias=False)

    def forward(self, x: Tensor, rope: tuple[Tensor, Tensor], kv: LayerKV | None = None,
                kv_only: bool = False, frame_mask: Tensor | None = None) -> Tensor | None:
        """x (B, T, P, D); rope: cos, sin (T, e/2) of the frames' absolute indices; kv: cache view (T = 1).

        kv_only: just write this frame's K/V into the cache and return None (a commit's last layer).
        frame_mask (T, T) bool: which frames each frame sees, in place of the causal band.
        """
        b, t, p, _ = x.shape
        qkv = rearrange(self.qkv(x), "b t p (three h e) -> three (b p) h t e", three=3, h=self.heads)
        # rotate q and k together (half the elementwise ops), in their own precision: fp32 tables would turn
        # autocast's bf16 q and k back into fp32
        q, k = apply_rope(qkv[:2], *(table.to(qkv.dtype) for table in rope))
        v = qkv[2]
        if kv is not None:  # one new frame against the ring of past frames
            kv.keys.index_copy_(2, kv.slot, k)
            kv.values.index_copy_(2, kv.slot, v)
            if kv_only:
                return None
            out = attend(q, kv.keys, kv.values, kv.valid.view(1, 1, 1, -1))
        elif frame_mask is not None:
            out = attend(q, k, v, frame_mask)
        elif t <= self.window:
            out = attend(q, k, v, causal=True)
        else:
            out = attend(q, k, v, band_mask(t, self.window, x.device))
        return self.proj(rearrange(out, "(b p) h t e -> b t p (h e)", b=b, p=p))


class SwiGLU(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        hidden = -(-8 * width // 3 // 16) * 16  # ~8/3 D (same parameters as a 4D MLP), multiple of 16
        self.gate_up = nn.Linear(width, 2 * hidden, bias=False)
        self.down = nn.Linear(hidden, width, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        gate, up = self.gate_up(x).chunk(2, dim=-1)
        return self.down(F.silu(gate) * up)


class STBlock(nn.Module):
    """Pre-norm block: spatial attention, (optional) temporal attention, SwiGLU.

    With `cond_width`, each norm is followed by a per-frame scale and shift computed from a conditioning
    vector (AdaLN); the projection starts at zero so a fresh block ignores the conditioning.
    """

    def __init__(self, width: int, heads: int, window: int, temporal: bool = True, cond_width: int | None = None,
                 grid: int | None = None):
        super().__init__()
        self.temporal = temporal
        self.norm_spatial = RMSNorm(width)
        self.spatial = SpatialAttention(width, heads, grid)
        if temporal:
            self.norm_temporal = RMSNorm(width)
            self.temporal_attn = TemporalAttention(width, heads, window)
        self.norm_ffn = RMSNorm(width)
        self.ffn = SwiGLU(width)
        self.adaln = None
        if cond_width is not None:
            self.adaln = nn.Linear(cond_width, 6 * width)
            nn.init.zeros_(self.adaln.weight)
            nn.init.zeros_(self.adaln.bias)

    def forward(self, x: Tensor, rope: tuple[Tensor, Tensor] | None = None, cond: Tensor | None = None,
                kv: LayerKV | None = None, kv_only: bool = False, frame_mask: Tensor | None = None) -> Tensor:
        """x (B, T, P, D); rope tables of the frames (see TemporalAttention); cond (B, T, C); kv (T = 1).

        kv_only: stop once this block's temporal K/V are in the cache (the rest would be thrown away).
        frame_mask: see TemporalAttention.
        """
        if self.adaln is not None and cond is not None:
            mods = self.adaln(cond).unsqueeze(2).chunk(6, dim=-1)  # 6 x (B, T, 1, D)
        else:
            mods = (None,) * 6

        def modulate(h: Tensor, shift: Tensor | None, scale: Tensor | None) -> Tensor:
            return h if shift is None else h * (1 + scale) + shift

        x = x + self.spatial(modulate(self.norm_spatial(x), mods[0], mods[1]))
        if self.temporal:
            mixed = self.temporal_attn(modulate(self.norm_temporal(x), mods[2], mods[3]), rope, kv, kv_only,
                                       frame_mask)
            if mixed is None:
                return x
            x = x + mixed
        return x + self.ffn(modulate(self.norm_ffn(x), mods[4], mods[5]))


class STTransformer(nn.Module):
    """A stack of ST blocks and a final RMSNorm; `grid` (the token grid's side) turns on spatial 2D RoPE."""

    def __init__(self, width: int, depth: int, heads: int, window: int, temporal: bool = True,
                 cond_width: int | None = None, grid: int | None = None):
        super().__init__()
        self.width, self.heads, self.window, self.temporal = width, heads, window, temporal
        self.blocks = nn.ModuleList(STBlock(width, heads, window, temporal, cond_width, grid) for _ in range(depth))
        self.norm = RMSNorm(width)

    def forward(self, x: Tensor, positions: Tensor | None = None, cond: Tensor | None = None,
                cache: KVCache | None = None, commit: bool = False, frame_mask: Tensor | None = None) -> Tensor | None:
        """x (B, T, P, D) -> (B, T, P, D). positions (T,) default to 0..T-1; with `cache`, T must be 1.

        commit (with a cache): only write the frame's K/V into every layer's cache, return None.
        frame_mask (T, T) bool: which frames each frame attends to through time, in place of the causal
        band (for frames that are not in time order, e.g. two copies of a clip).
        """
        rope = None
        if self.temporal:
            if positions is None:
                positions = cache.position.view(1) if cache is not None else torch.arange(x.shape[1], device=x.device)
            rope = rope_tables(positions, self.width // self.heads, x.dtype)  # once for all layers
        views = cache.layer_views() if cache is not None else [None] * len(self.blocks)
        for i, (block, kv) in enumerate(zip(self.blocks, views)):
            last_commit = commit and i == len(self.blocks) - 1
            x = block(x, rope, cond, kv, kv_only=last_commit, frame_mask=frame_mask)
        return None if commit else self.norm(x)

    def new_cache(self, batch_tokens: int, device: torch.device | str, dtype: torch.dtype) -> KVCache:
        return KVCache(len(self.blocks), batch_tokens, self.heads, self.window, self.width // self.heads,
                       device, dtype)
