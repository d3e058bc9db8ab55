"""Latent action model: from pixels, a discrete action a_t in [0, A) for every transition x_t -> x_t+1.

Notation: B batch, T frames, P patches per frame, D width, d = len(levels), A = prod(levels) actions.

Encoder: patch embedding -> ST encoder, causal in time. The state of frame t+1 has seen x_t and x_t+1;
the action reads it (mean over patches) together with the pooled change from frame t's state, then
FSQ quantises it to one of A codes.

Decoder (training only): reconstructs x_t+1 from the past x_<=t (causal in time) and a_t. It never
sees x_t+1 (`predict_next` gets only the previous frames), so what changes from x_t to x_t+1 must come
through a_t, except what the past already predicts. A decoder that saw only x_t could not know
velocities (the hero's momentum, the ball's flight), so the codes would have to carry them instead of
the controls; with the history (`decoder_history`, on in every preset) they need not. This alone did not make
the codes follow the controls in a CPU-sized run (docs/BENCHMARKS.md, "Latent actions").
Guards against the known collapse (one or two codes used, or codes that carry nothing the decoder needs):
  * a random fraction of the past frames' patches is hidden from the decoder, so copying is not enough;
  * a code-usage term maximises the entropy of the batch-mean soft code assignment, so the batch
    spreads over all A codes; `code_usage` (fraction of codes used in the batch) is reported.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from nanogenie.config import LAMConfig
from nanogenie.models.fsq import FSQ
from nanogenie.models.st_transformer import STTransformer
from nanogenie.models.tokenizer import psnr_from_mse


class PatchEmbed(nn.Module):
    """(B, T, 3, H, W) -> (B, T, P, D) with a learned position per patch."""

    def __init__(self, patch_size: int, tokens_per_frame: int, width: int):
        super().__init__()
        self.conv = nn.Conv2d(3, width, kernel_size=patch_size, stride=patch_size)
        self.pos = nn.Parameter(torch.randn(tokens_per_frame, width) * 0.02)  # (P, D)

    def forward(self, frames: Tensor) -> Tensor:
        x = self.conv(rearrange(frames, "b t c h w -> (b t) c h w"))
        return rearrange(x, "(b t) d hh ww -> b t (hh ww) d", b=frames.shape[0]) + self.pos


class LatentActionModel(nn.Module):
    def __init__(self, cfg: LAMConfig):
        super().__init__()
        self.cfg = cfg
        d, p = cfg.width, cfg.patch_size
        self.side = cfg.image_size // p
        tokens = self.side ** 2
        self.encoder_embed = PatchEmbed(p, tokens, d)
        self.encoder = STTransformer(d, cfg.encoder_depth, cfg.heads, cfg.context_frames, temporal=True)
        self.fsq = FSQ(cfg.levels)
        self.to_action = nn.Sequential(nn.Linear(2 * d, d), nn.SiLU(), nn.Linear(d, self.fsq.dim))
        self.decoder_embed = PatchEmbed(p, tokens, d)
        self.mask_token = nn.Parameter(torch.randn(d) * 0.02)
        self.action_embed = nn.Sequential(nn.Linear(self.fsq.dim, d), nn.SiLU(), nn.Linear(d, d))
        self.decoder = STTransformer(d, cfg.decoder_depth, cfg.heads, cfg.context_frames,
                                     temporal=cfg.decoder_history, cond_width=d)
        self.pixel_head = nn.Linear(d, 3 * p * p)

    @property
    def num_actions(self) -> int:
        return self.fsq.codebook_size

    def _action_logits(self, frames: Tensor) -> Tensor:
        """frames (B, T, 3, H, W) -> pre-quantisation action values (B, T-1, d)."""
        states = self.encoder(self.encoder_embed(frames))  # (B, T, P, D)
        after = states[:, 1:].mean(dim=2)  # (B, T-1, D): frame t+1's state, which has seen t and t+1
        change = (states[:, 1:] - states[:, :-1]).mean(dim=2)  # (B, T-1, D)
        return self.to_action(torch.cat((after, change), dim=-1))

    def action_codes(self, frames: Tensor) -> Tensor:
        """frames (B, T, 3, H, W) -> action codes (B, T-1, d) on the FSQ grid."""
        return self.fsq(self._action_logits(frames))

    def infer_actions(self, frames: Tensor) -> Tensor:
        """frames (B, T, 3, H, W) in [-1, 1] -> actions (B, T-1) long in [0, num_actions)."""
        return self.fsq.codes_to_indices(self.action_codes(frames))

    def predict_next(self, previous: Tensor, codes: Tensor) -> Tensor:
        """previous frames x_t (B, T', 3, H, W) and action codes a_t (B, T', d) -> x_t+1 (B, T', 3, H, W).

        Frame t is decoded from x_<=t and a_<=t (causal attention through time; with `decoder_history`
        off, from x_t and a_t alone).
        """
        x = self.decoder_embed(previous)  # (B, T', P, D)
        if self.training and self.cfg.input_mask_rate > 0:
            hidden = torch.rand(x.shape[:3], device=x.device) < self.cfg.input_mask_rate  # (B, T', P)
            x = torch.where(hidden.unsqueeze(-1), self.mask_token.to(x.dtype), x)
        cond = self.action_embed(codes.to(x.dtype))  # (B, T', D)
        pixels = self.pixel_head(self.decoder(x, cond=cond))  # (B, T', P, 3 p p)
        p = self.cfg.patch_size
        return rearrange(pixels, "b t (hh ww) (c ph pw) -> b t c (hh ph) (ww pw)", hh=self.side, ph=p, pw=p)

    def training_loss(self, frames: Tensor) -> tuple[Tensor, dict[str, float]]:
        """Next-frame reconstruction of clips (B, T, 3, H, W) plus the code-usage term."""
        pre_quant = self._action_logits(frames)  # (B, T-1, d)
        codes = self.fsq(pre_quant)
        predicted = self.predict_next(frames[:, :-1], codes)
        target = frames[:, 1:].float()
        mse = F.mse_loss(predicted.float(), target)
        # Entropy of the batch-mean soft assignment: high only when the batch spreads over all codes.
        mean_probs = self.fsq.soft_assignment(pre_quant).flatten(0, -2).mean(dim=0)  # (A,)
        batch_entropy = -(mean_probs * mean_probs.clamp_min(1e-9).log()).sum()
        usage_loss = math.log(self.num_actions) - batch_entropy
        loss = mse + self.cfg.usage_weight * usage_loss
        with torch.no_grad():
            indices = self.fsq.codes_to_indices(codes)
            used = torch.bincount(indices.flatten(), minlength=self.num_actions).gt(0).float().mean()
            psnr = psnr_from_mse(F.mse_loss(predicted.float().clamp(-1, 1), target))
        metrics = {"loss": loss.item(), "mse": mse.item(), "psnr": psnr.item(), "code_usage": used.item(),
                   "batch_entropy": batch_entropy.item()}
        return loss, metrics
