"""MaskGIT dynamics: predicts frame t's tokens from the frames before it and the action a_t-1 that led to it.

Notation: B batch, T frames, P tokens per frame, V vocabulary (tokenizer codes), A actions, D width.
Inputs are token ids with one extra id, V, for "masked". Each frame carries a *frame action*: the
action taken just before it, `frame_actions[:, t] = actions[:, t-1]`, and the extra id A ("none") for a
clip's first frame or an unknown action. It conditions every block through AdaLN (per-frame scale and
shift) or is added to the frame's token embeddings (`action_conditioning = "add"`).

Output (`output`). "joint": one linear head scores the V codes as unrelated classes. "channels": a code
is d ordered FSQ digits (models/fsq.py), and the head gives one softmax per channel over its levels
(sum(levels) outputs, not V). The channels are predicted independently given the context, so a code's
log-probability is the sum of its digits' and `logits` returns those V log-probabilities: sampling,
temperature, min_p and MaskGIT's confidence read them as they read joint logits. The loss is the sum of
the channels' cross-entropies, so a near miss in one channel costs that channel alone, where the joint
softmax counts it as wrong as any other code. Each channel stays a plain categorical: smoothing labels
over a channel's neighbouring levels would make the sampled digits blur towards their neighbours.

Code vectors (`codes`). "table": every code has its own input embedding and its own row of the joint
head, learnt only from the tokens that are that code. "digits": both are built from the code's FSQ
digits (`DigitCodes`): a code that is rare in the training clips starts from what its neighbours on the
grid taught, and the output stays one joint softmax, so a token's digits are still drawn together.
"""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nanogenie.config import DynamicsConfig
from nanogenie.models.fsq import FSQ
from nanogenie.models.st_transformer import KVCache, STTransformer

# Without `clean_context`, the training mix (per clip): half the clips mask every frame independently
# at a rate ~ U(0.5, 1), which, with causal attention, trains all T frames in parallel; the other half
# are the play-time case: clean context and only the last frame masked (a quarter of those fully
# masked). Half of all clips get a small fraction of their visible context tokens replaced by random
# ones, so a rollout that makes a few wrong tokens does not drift further on them.
PLAY_CASE_FRACTION = 0.5
FULL_MASK_FRACTION = 0.25
CORRUPT_FRACTION = 0.5
MAX_CORRUPT_RATE = 0.1
# With `clean_context` (the default; docs/lab/NOTES.md, "Dynamics: every frame against a clean
# past"), a clip is fed twice: its frames 0..T-2 clean (the context, lightly corrupted as above) and its
# frames 1..T-1 masked (the targets, a quarter of them fully), each masked frame attending through time
# to the clean frames before it and to itself, exactly as a frame generated at play attends to the KV
# cache. Every frame then trains the play-time case, for twice the tokens per clip.


class DigitCodes(nn.Module):
    """Vectors (V, D) for the V codes of an FSQ grid: each code's is the sum of its d digits' vectors and
    a correction of its own that starts at zero. A gradient on one code moves every code that shares one
    of its digits, and the correction lets a code learn what its digits do not say.

    In eval mode, outside autograd, the vectors are built once (when the module enters eval mode or loads
    weights) rather than at every call: play calls the model several times a frame, and rebuilding them
    each time cost it a third of its frame rate. Weights changed in place in eval mode need `.eval()` again."""

    def __init__(self, levels: list[int], width: int, std: float):
        super().__init__()
        digits = FSQ(levels).indices_to_digits(torch.arange(math.prod(levels)))  # (V, d)
        first_row = torch.tensor([0, *itertools.accumulate(levels)][:-1])  # (d,) each channel's first row
        self.register_buffer("rows", digits + first_row, persistent=False)  # (V, d), rebuilt from the config
        self.digit_vectors = nn.Parameter(torch.randn(sum(levels), width) * std / math.sqrt(len(levels)))
        self.own = nn.Parameter(torch.zeros(len(digits), width))
        self.register_buffer("built", torch.empty(0), persistent=False)  # (V, D) in eval mode, else empty
        self.register_load_state_dict_post_hook(lambda module, _: module._rebuild())

    def forward(self) -> Tensor:
        if not self.training and not torch.is_grad_enabled() and self.built.numel():
            return self.built
        return self._vectors()

    def _vectors(self) -> Tensor:
        return self.digit_vectors[self.rows].sum(1) + self.own

    def train(self, mode: bool = True) -> DigitCodes:
        super().train(mode)
        self._rebuild()
        return self

    @torch.no_grad()
    def _rebuild(self) -> None:
        self.built = self.own.new_empty(0) if self.training else self._vectors()


class DynamicsModel(nn.Module):
    def __init__(self, cfg: DynamicsConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.width
        self.mask_id = cfg.vocab_size
        self.no_action = cfg.num_actions
        if cfg.codes == "digits":
            self.code_vectors = DigitCodes(cfg.levels, d, std=1.0)  # the scale of nn.Embedding's start
            self.mask_vector = nn.Parameter(torch.randn(d))
        else:
            self.token_embed = nn.Embedding(cfg.vocab_size + 1, d)
        self.pos = nn.Parameter(torch.randn(cfg.tokens_per_frame, d) * 0.02)  # (P, D)
        self.action_embed = nn.Embedding(cfg.num_actions + 1, d)
        adaln = cfg.action_conditioning == "adaln"
        self.transformer = STTransformer(d, cfg.depth, cfg.heads, cfg.context_frames, temporal=True,
                                         cond_width=d if adaln else None,
                                         grid=math.isqrt(cfg.tokens_per_frame) if cfg.spatial_rope else None)
        if cfg.output == "channels":
            self.head = nn.Linear(d, sum(cfg.levels))  # each channel's logits over its levels, side by side
            # (V, d) each code's digits; rebuilt from the config, so not saved with the weights
            self.register_buffer("code_digits", FSQ(cfg.levels).indices_to_digits(torch.arange(cfg.vocab_size)),
                                 persistent=False)
        elif cfg.codes == "digits":
            self.head_codes = DigitCodes(cfg.levels, d, std=1 / math.sqrt(3 * d))  # the scale of nn.Linear's start
            self.head_bias = nn.Parameter(torch.zeros(cfg.vocab_size))
        else:
            self.head = nn.Linear(d, cfg.vocab_size)

    def frame_actions(self, actions: Tensor) -> Tensor:
        """actions (B, T-1), -1 = unknown -> frame actions (B, T): "none" first, unknown -> "none"."""
        actions = torch.where(actions < 0, self.no_action, actions)
        first = actions.new_full((actions.shape[0], 1), self.no_action)
        return torch.cat((first, actions), dim=1)

    def hidden(self, tokens: Tensor, frame_actions: Tensor, positions: Tensor | None = None,
               cache: KVCache | None = None, commit: bool = False, frame_mask: Tensor | None = None) -> Tensor | None:
        """tokens (B, T, P) (mask id allowed), frame_actions (B, T) -> final states (B, T, P, D).

        commit (with a cache): only write the frame's K/V into the cache, return None.
        positions, frame_mask: the frames' absolute indices and who sees whom (see STTransformer).
        """
        x = self._embed(tokens) + self.pos
        action = self.action_embed(frame_actions)  # (B, T, D)
        if self.cfg.action_conditioning == "adaln":
            return self.transformer(x, positions, cond=action, cache=cache, commit=commit, frame_mask=frame_mask)
        return self.transformer(x + action.unsqueeze(2), positions, cache=cache, commit=commit, frame_mask=frame_mask)

    def _embed(self, tokens: Tensor) -> Tensor:
        """Token ids (...) with the mask id -> vectors (..., D)."""
        if self.cfg.codes == "table":
            return self.token_embed(tokens)
        return F.embedding(tokens, torch.cat((self.code_vectors(), self.mask_vector[None])))

    def _head(self, states: Tensor) -> Tensor:
        """Final states (..., D) -> the head's outputs (..., V or sum(levels))."""
        if self.cfg.output == "joint" and self.cfg.codes == "digits":
            return F.linear(states, self.head_codes(), self.head_bias)
        return self.head(states)

    def logits(self, states: Tensor) -> Tensor:
        """Final states (..., D) -> logits over the codes (..., V)."""
        return self._over_codes(self._head(states))

    def _over_codes(self, out: Tensor) -> Tensor:
        """The head's outputs (..., V or sum(levels)) -> logits over the codes (..., V); with channel heads,
        log-probabilities (fp32): each code's is the sum of its channels'."""
        if self.cfg.output == "joint":
            return out
        channels = out.float().split(self.cfg.levels, dim=-1)  # d x (..., L_i)
        return sum(F.log_softmax(c, dim=-1)[..., self.code_digits[:, i]] for i, c in enumerate(channels))

    def forward(self, tokens: Tensor, actions: Tensor) -> Tensor:
        """tokens (B, T, P), actions (B, T-1) -> logits (B, T, P, V)."""
        return self.logits(self.hidden(tokens, self.frame_actions(actions)))

    # -- play: one new frame against the KV cache of the frames before it --------------------------

    def new_cache(self, batch: int, device: torch.device | str, dtype: torch.dtype) -> KVCache:
        return self.transformer.new_cache(batch * self.cfg.tokens_per_frame, device, dtype)

    def frame_logits(self, tokens: Tensor, action: Tensor, cache: KVCache) -> Tensor:
        """tokens (B, P) of the frame at cache.position, the action (B,) that led to it -> logits (B, P, V)."""
        return self.logits(self.hidden(tokens[:, None], action[:, None], cache=cache))[:, 0]

    def commit_frame(self, tokens: Tensor, action: Tensor, cache: KVCache) -> None:
        """Write a finished frame's K/V into the cache and move it on to the next frame."""
        self.hidden(tokens[:, None], action[:, None], cache=cache, commit=True)
        cache.advance()

    # -- training ------------------------------------------------------------------------------------

    def _training_inputs(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """Clean tokens (B, T, P) -> (inputs with mask ids and corruption, mask (B, T, P) bool)."""
        b, t, p = tokens.shape
        dev = tokens.device
        rate = torch.empty(b, 1, 1, device=dev).uniform_(0.5, 1.0)
        every_frame = torch.rand(b, t, p, device=dev) < rate
        last_frame = torch.zeros_like(every_frame)
        fully = (torch.rand(b, 1, device=dev) < FULL_MASK_FRACTION)
        last_frame[:, -1] = (torch.rand(b, p, device=dev) < rate[:, 0]) | fully
        play_case = (torch.rand(b, 1, 1, device=dev) < PLAY_CASE_FRACTION)
        mask = torch.where(play_case, last_frame, every_frame)
        return torch.where(mask, self.mask_id, self._corrupted(tokens)), mask

    def _corrupted(self, tokens: Tensor) -> Tensor:
        """tokens (B, T, P) with, in CORRUPT_FRACTION of the clips, up to MAX_CORRUPT_RATE of them replaced
        by random codes (the rate drawn per clip)."""
        b = tokens.shape[0]
        rate = torch.rand(b, 1, 1, device=tokens.device) * MAX_CORRUPT_RATE
        rate = rate * (torch.rand(b, 1, 1, device=tokens.device) < CORRUPT_FRACTION)
        corrupt = torch.rand(tokens.shape, device=tokens.device) < rate
        return torch.where(corrupt, torch.randint_like(tokens, self.cfg.vocab_size), tokens)

    def _clean_context_inputs(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """Clean tokens (B, T, P) -> (inputs (B, 2(T-1), P): corrupted context 0..T-2 then masked targets
        1..T-1, mask (B, T-1, P) bool over the targets)."""
        b, t, p = tokens.shape
        dev = tokens.device
        rate = torch.empty(b, t - 1, 1, device=dev).uniform_(0.5, 1.0)
        rate = torch.where(torch.rand(b, t - 1, 1, device=dev) < FULL_MASK_FRACTION, 1.0, rate)
        mask = torch.rand(b, t - 1, p, device=dev) < rate
        targets = torch.where(mask, self.mask_id, tokens[:, 1:])
        return torch.cat((self._corrupted(tokens[:, :-1]), targets), dim=1), mask

    def _clean_context_frames(self, frames: int, device: torch.device) -> tuple[Tensor, Tensor]:
        """For a clip of T = `frames` fed as context 0..T-2 then targets 1..T-1: each input frame's absolute
        index (2(T-1),) and which input frames each one sees through time (2(T-1), 2(T-1)) bool: a context
        frame the W context frames up to itself (the causal band); a target its own masked copy and the
        W-1 context frames before it, as at play."""
        index = torch.cat((torch.arange(frames - 1, device=device), torch.arange(1, frames, device=device)))
        is_target = torch.arange(2 * (frames - 1), device=device) >= frames - 1
        delta = index[:, None] - index[None, :]  # query frame - key frame
        sees = (delta >= 0) & (delta < self.cfg.context_frames) & ~is_target[None, :]  # keys: context frames only
        sees &= ~(is_target[:, None] & (delta == 0))  # a target does not see the clean copy of its own frame
        return index, sees | torch.eye(len(index), dtype=torch.bool, device=device)

    def _loss_weights(self, tokens: Tensor) -> Tensor:
        """Clean tokens (B, T, P) -> loss weights (B, T, P): `moving_weight` at frame t where a token changed
        between frames t-2 and t-1, or next to one (a sprite moves at most about a token per frame), else 1.

        Most of a frame repeats the one before and is learnt early; what players watch moves. The weights
        are read from the context only, never from the target, so they shift the training effort towards
        moving things without biasing the distribution the model learns to predict."""
        b, t, p = tokens.shape
        moved = torch.zeros(b, t, p, device=tokens.device)
        if t > 2:
            side = math.isqrt(p)
            changed = (tokens[:, 1:-1] != tokens[:, :-2]).float().view(b * (t - 2), 1, side, side)
            moved[:, 2:] = F.max_pool2d(changed, 3, stride=1, padding=1).view(b, t - 2, p)
        return 1 + (self.cfg.moving_weight - 1) * moved

    def training_loss(self, tokens: Tensor, actions: Tensor) -> tuple[Tensor, dict[str, float]]:
        """Masked-token cross-entropy of clips tokens (B, T, P) with actions (B, T-1) (-1 = unknown), tokens
        near motion weighted by `moving_weight`."""
        frame_actions = self.frame_actions(actions)  # (B, T)
        if self.cfg.clean_context:
            inputs, mask = self._clean_context_inputs(tokens)
            positions, frame_mask = self._clean_context_frames(tokens.shape[1], tokens.device)
            both = torch.cat((frame_actions[:, :-1], frame_actions[:, 1:]), dim=1)  # each copy's frame actions
            states = self.hidden(inputs, both, positions, frame_mask=frame_mask)[:, tokens.shape[1] - 1:]
            predicted = slice(1, None)  # states and mask: the masked copy, frames 1..T-1
        else:
            inputs, mask = self._training_inputs(tokens)
            states = self.hidden(inputs, frame_actions)  # (B, T, P, D)
            predicted = slice(None)
        out = self._head(states[mask]).float()  # (N, V) or (N, sum(levels)): only masked positions, to save memory
        targets = tokens[:, predicted][mask]
        if self.cfg.moving_weight == 1:
            loss = self._cross_entropy(out, targets, "mean")
        else:
            weights = self._loss_weights(tokens)[:, predicted][mask]
            loss = (self._cross_entropy(out, targets, "none") * weights).sum() / weights.sum()
        with torch.no_grad():
            accuracy = (self._over_codes(out).argmax(-1) == targets).float().mean()
        metrics = {"loss": loss.item(), "accuracy": accuracy.item(), "masked_fraction": mask.float().mean().item()}
        return loss, metrics

    def _cross_entropy(self, out: Tensor, targets: Tensor, reduction: str) -> Tensor:
        """The head's outputs (N, V or sum(levels)) against codes (N,) -> the cross-entropy of each token
        (N,) for reduction "none", else their mean: the joint one, or the sum of the channels'."""
        if self.cfg.output == "joint":
            return F.cross_entropy(out, targets, reduction=reduction)
        digits = self.code_digits[targets]  # (N, d)
        return sum(F.cross_entropy(c, digits[:, i], reduction=reduction)
                   for i, c in enumerate(out.split(self.cfg.levels, dim=-1)))
