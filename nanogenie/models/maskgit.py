"""MaskGIT sampling of one frame of P tokens in K steps, with no host sync inside a frame.

Notation: B batch, P tokens per frame, V vocabulary, K steps.
Every step predicts all still-masked tokens, samples one candidate per token (inverse-CDF sampling
with one uniform per token at the given temperature, among the codes at least `min_p` times as probable
as the most probable one), and keeps a fixed number of them: the cosine
schedule's count for that step, a Python int, chosen at random among the confident ones (Gumbel
noise added to the candidates' log-probabilities, then top-k). Fixed counts, `topk`/`scatter` and
`torch.where` keep every shape static, so a whole frame can be captured in a CUDA graph. All
randomness comes from one noise tensor (K, 2, B, P) drawn up front, so a cached and an uncached
sampler fed the same noise make the same choices.

`sample_expected` also gives each token's expected code, for a picture drawn from the model's mean
rather than its draw: the codes' FSQ values (V, d) weighted by the distribution the token was drawn
from at the step that revealed it (temperature and min_p applied, so a greedy sampler's expected code
is its token's). The tokens stay what the model's history is built from.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor


def reveal_schedule(tokens_per_frame: int, steps: int) -> list[int]:
    """Tokens revealed at each of K steps: cosine schedule, each >= 1, summing to P."""
    if not 1 <= steps <= tokens_per_frame:
        raise ValueError(f"MaskGIT steps must be in [1, {tokens_per_frame}], got {steps}")
    counts, still_masked = [], tokens_per_frame
    for k in range(steps):
        after = math.floor(tokens_per_frame * math.cos(math.pi / 2 * (k + 1) / steps))
        after = min(after, still_masked - 1)  # reveal at least one token now
        after = max(after, steps - k - 1)  # leave at least one token for each remaining step
        counts.append(still_masked - after)
        still_masked = after
    return counts


def _gumbel(uniform: Tensor) -> Tensor:
    return -torch.log(-torch.log(uniform.clamp(1e-20, 1.0 - 1e-7)))


class MaskGITSampler:
    def __init__(self, tokens_per_frame: int, steps: int, temperature: float, mask_id: int, min_p: float = 0.0):
        if not 0 <= min_p < 1:
            raise ValueError(f"min_p must be in [0, 1), got {min_p}")
        self.tokens_per_frame, self.steps = tokens_per_frame, steps
        self.temperature, self.mask_id, self.min_p = float(temperature), mask_id, float(min_p)
        self.schedule = reveal_schedule(tokens_per_frame, steps)

    def noise_shape(self, batch: int) -> tuple[int, ...]:
        return (self.steps, 2, batch, self.tokens_per_frame)

    def draw_noise(self, batch: int, device: torch.device | str,
                   generator: torch.Generator | None = None) -> Tensor:
        """Uniforms (K, 2, B, P): [k, 0] picks each token's candidate, [k, 1] which candidates are kept."""
        return torch.rand(self.noise_shape(batch), device=device, generator=generator)

    def _candidates(self, logits: Tensor, uniform: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        """logits (B, P, V), uniform (B, P) -> candidate ids (B, P), their log-probabilities (B, P), and the
        weights (B, P, V), unnormalised, each candidate was drawn in proportion to (None: greedy)."""
        if self.temperature <= 0:
            log_probs = torch.log_softmax(logits, dim=-1)
            confidence, candidates = log_probs.max(dim=-1)
            return candidates, confidence, None
        probs = torch.softmax(logits if self.temperature == 1 else logits / self.temperature, dim=-1)
        # Where the model is sure (a patch of sky), a thousand unlikely codes still share a few percent, and
        # drawing one paints a stray block; codes far below the best are dropped. A sprite's codes, a fair
        # share each where the model is unsure, stay (a cut relative to the best, unlike a nucleus).
        kept = probs if self.min_p == 0 else torch.where(
            probs >= self.min_p * probs.amax(dim=-1, keepdim=True), probs, torch.zeros_like(probs))
        cdf = kept.cumsum(dim=-1)  # (B, P, V)
        threshold = (uniform * cdf[..., -1]).unsqueeze(-1)  # (B, P, 1)
        candidates = torch.searchsorted(cdf, threshold, right=True).clamp_max(logits.shape[-1] - 1)  # (B, P, 1)
        confidence = probs.gather(-1, candidates)[..., 0].clamp_min(1e-30).log()  # the model's own probability
        return candidates[..., 0], confidence, kept

    def sample(self, logits_fn: Callable[[Tensor], Tensor], noise: Tensor) -> Tensor:
        """Fill a fully masked frame. logits_fn: tokens (B, P) with mask ids -> logits (B, P, V)."""
        return self.sample_expected(logits_fn, noise, None)[0]

    def sample_expected(self, logits_fn: Callable[[Tensor], Tensor], noise: Tensor, code_values: Tensor | None
                        ) -> tuple[Tensor, Tensor | None]:
        """`sample`'s tokens (B, P), and with code_values (V, d) each token's expected code (B, P, d)."""
        batch = noise.shape[2]
        tokens = torch.full((batch, self.tokens_per_frame), self.mask_id, dtype=torch.long, device=noise.device)
        masked = torch.ones_like(tokens, dtype=torch.bool)
        expected = None if code_values is None else noise.new_zeros(batch, self.tokens_per_frame, code_values.shape[1])
        for k, count in enumerate(self.schedule):
            candidates, confidence, weights = self._candidates(logits_fn(tokens).float(), noise[k, 0])
            if k == self.steps - 1:  # the last step reveals whatever is left
                reveal = masked
            else:  # random choice among confident candidates, less random as the frame fills in
                choice_noise = self.temperature * (1 - (k + 1) / self.steps)
                score = torch.where(masked, confidence + choice_noise * _gumbel(noise[k, 1]), -torch.inf)
                reveal = torch.zeros_like(masked).scatter(1, score.topk(count, dim=-1).indices, True)
            tokens = torch.where(reveal, candidates, tokens)
            masked = masked & ~reveal
            if code_values is not None:
                mean = code_values[candidates] if weights is None else \
                    (weights @ code_values) / weights.sum(dim=-1, keepdim=True)  # (B, P, d)
                expected = torch.where(reveal[..., None], mean, expected)
        return tokens, expected
