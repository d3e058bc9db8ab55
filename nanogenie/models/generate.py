"""Autoregressive generation of frame tokens: a cached fast path and an uncached reference path.

Notation: B batch, T0 prompt frames, P tokens per frame, W = dynamics.context_frames, L = depth.

Cached (`use_cache=True`): past frames are final, so their per-layer temporal K/V never change. They
live in a ring buffer of W frames (`KVCache`); each MaskGIT step runs only the new frame's P tokens
through the layers, and one commit pass writes the finished frame's K/V. Cost per frame is constant,
however long play goes on.

Uncached (`use_cache=False`, the reference): every MaskGIT step recomputes the whole context from
tokens. Temporal attention is banded (a frame sees itself and the W-1 frames before it), so a frame's
layer-l state depends on up to l*(W-1) frames back; the reference therefore keeps the last L*(W-1)
frames, which makes it compute exactly what the ring cache computes, past W frames too. With a
context of at most W frames (e.g. the first frame after a full-length prompt) it recomputes exactly
the W-frame window. Both paths draw the same noise per frame, so the same seed gives the same tokens.
"""

from __future__ import annotations

import torch
from torch import Tensor

from nanogenie.models.dynamics import DynamicsModel
from nanogenie.models.maskgit import MaskGITSampler
from nanogenie.models.st_transformer import KVCache


class FrameGenerator:
    def __init__(self, dynamics: DynamicsModel, maskgit_steps: int, temperature: float, use_cache: bool = True):
        self.dynamics = dynamics
        self.use_cache = use_cache
        cfg = dynamics.cfg
        self.sampler = MaskGITSampler(cfg.tokens_per_frame, maskgit_steps, temperature, dynamics.mask_id, cfg.min_p)
        self.history_frames = max(1, cfg.depth * (cfg.context_frames - 1))  # past frames the reference keeps
        self.cache: KVCache | None = None
        self.history_tokens: Tensor | None = None  # (B, <= history_frames, P), reference path only
        self.history_actions: Tensor | None = None  # (B, <= history_frames) frame actions
        self.next_position = 0  # absolute index of the next frame (reference path)

    @property
    def device(self) -> torch.device:
        return self.dynamics.pos.device

    @torch.no_grad()
    def reset(self, context_tokens: Tensor, context_actions: Tensor) -> None:
        """Start from prompt tokens (B, T0, P) and the actions between them (B, T0-1)."""
        batch, frames = context_tokens.shape[:2]
        frame_actions = self.dynamics.frame_actions(context_actions.long())  # (B, T0)
        if self.use_cache:
            dtype = self.dynamics.pos.dtype
            if self.cache is None or self.cache.keys[0].shape[0] != batch * self.dynamics.cfg.tokens_per_frame:
                self.cache = self.dynamics.new_cache(batch, self.device, dtype)
            self.cache.reset()  # in place: buffers keep their storage across resets
            for t in range(frames):
                self.dynamics.commit_frame(context_tokens[:, t], frame_actions[:, t], self.cache)
        else:
            self.history_tokens = context_tokens[:, -self.history_frames:].clone()
            self.history_actions = frame_actions[:, -self.history_frames:].clone()
            self.next_position = frames

    @torch.no_grad()
    def step(self, actions: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """The next frame's tokens (B, P) after actions (B,) taken at the last frame."""
        noise = self.sampler.draw_noise(actions.shape[0], self.device, generator)
        return self.generate(actions, noise)

    @torch.no_grad()
    def generate(self, actions: Tensor, noise: Tensor) -> Tensor:
        """One frame from given noise (see MaskGITSampler.draw_noise). The cached path is graph-capturable."""
        return self.generate_expected(actions, noise, None)[0]

    @torch.no_grad()
    def generate_expected(self, actions: Tensor, noise: Tensor, code_values: Tensor | None
                          ) -> tuple[Tensor, Tensor | None]:
        """`generate`'s tokens (B, P), which alone go on into the cache (or history), and with code_values
        (V, d) each token's expected code (B, P, d) (MaskGITSampler.sample_expected), for the picture."""
        actions = actions.long()
        if self.use_cache:
            assert self.cache is not None, "call reset() before generating"
            tokens, expected = self.sampler.sample_expected(
                lambda t: self.dynamics.frame_logits(t, actions, self.cache), noise, code_values)
            self.dynamics.commit_frame(tokens, actions, self.cache)
            return tokens, expected
        return self._generate_uncached(actions, noise, code_values)

    def _generate_uncached(self, actions: Tensor, noise: Tensor, code_values: Tensor | None
                           ) -> tuple[Tensor, Tensor | None]:
        assert self.history_tokens is not None, "call reset() before generating"
        frame_actions = torch.cat((self.history_actions, actions[:, None]), dim=1)  # (B, T)
        first = self.next_position - self.history_tokens.shape[1]
        positions = torch.arange(first, self.next_position + 1, device=self.device)

        def logits_fn(new_frame: Tensor) -> Tensor:
            window = torch.cat((self.history_tokens, new_frame[:, None]), dim=1)  # (B, T, P)
            states = self.dynamics.hidden(window, frame_actions, positions)
            return self.dynamics.logits(states[:, -1])

        tokens, expected = self.sampler.sample_expected(logits_fn, noise, code_values)
        keep = self.history_frames
        self.history_tokens = torch.cat((self.history_tokens, tokens[:, None]), dim=1)[:, -keep:]
        self.history_actions = frame_actions[:, -keep:]
        self.next_position += 1
        return tokens, expected
