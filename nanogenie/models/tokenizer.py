"""Video tokenizer: frames (B, T, 3, H, W) in [-1, 1] <-> tokens (B, T, P) in [0, prod(levels)).

Notation: B batch, T frames, P = (H/p)^2 patches of p x p pixels, D width, d = len(levels).
Patch embedding -> ST encoder (causal in time, unless `encoder_temporal` is off; or with `encoder`
"local" a per-patch MLP, models/patch_mlp.py) -> FSQ -> decoder -> pixel head. The embedding and the head
are one linear map per patch, or with `conv_channels` a convolutional upsampling head and (unless
`conv_encoder` is off) its mirror as the stem (models/conv_stem.py).

The decoder is per-frame (spatial attention only) unless `decoder_temporal` is set: a frame's tokens
then decode the same way wherever they come from, so generated frames cannot accumulate decoder
errors through time, and play needs no decoder cache (see docs/lab/NOTES.md for the measurement
behind this default). With `decoder_temporal`, play decodes through a ring KV cache (`decode_step`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from nanogenie.config import TokenizerConfig
from nanogenie.metrics import code_usage, moving_pixels, moving_psnr, psnr_from_mse
from nanogenie.models.conv_stem import ConvHead, ConvStem
from nanogenie.models.fsq import FSQ
from nanogenie.models.patch_mlp import PatchMLP
from nanogenie.models.st_transformer import KVCache, STTransformer


class VideoTokenizer(nn.Module):
    def __init__(self, cfg: TokenizerConfig):
        super().__init__()
        self.cfg = cfg
        d, p = cfg.width, cfg.patch_size
        self.side = cfg.image_size // p  # patches per row
        if cfg.conv_channels and cfg.conv_encoder:
            self.patch_embed: nn.Module = ConvStem(cfg.conv_channels, d)
        else:
            self.patch_embed = nn.Conv2d(3, d, kernel_size=p, stride=p)
        self.encoder_pos = nn.Parameter(torch.randn(cfg.tokens_per_frame, d) * 0.02)  # (P, D)
        if cfg.encoder == "local":
            self.encoder: nn.Module = PatchMLP(d, cfg.encoder_depth)
        else:
            self.encoder = STTransformer(d, cfg.encoder_depth, cfg.heads, cfg.context_frames,
                                         temporal=cfg.encoder_temporal)
        self.fsq = FSQ(cfg.levels)
        self.to_code = nn.Linear(d, self.fsq.dim)
        self.from_code = nn.Linear(self.fsq.dim, d)
        self.decoder_pos = nn.Parameter(torch.randn(cfg.tokens_per_frame, d) * 0.02)  # (P, D)
        self.decoder = STTransformer(d, cfg.decoder_depth, cfg.heads, cfg.context_frames,
                                     temporal=cfg.decoder_temporal)
        self.pixel_head: nn.Module = ConvHead(cfg.conv_channels, d) if cfg.conv_channels else nn.Linear(d, 3 * p * p)

    @property
    def decoder_temporal(self) -> bool:
        return self.cfg.decoder_temporal

    def _encode_features(self, frames: Tensor) -> Tensor:
        """frames (B, T, 3, H, W) -> the encoder's codes before quantisation (B, T, P, d)."""
        b = frames.shape[0]
        x = self.patch_embed(rearrange(frames, "b t c h w -> (b t) c h w"))
        x = rearrange(x, "(b t) d hh ww -> b t (hh ww) d", b=b) + self.encoder_pos
        return self.to_code(self.encoder(x))

    def _encode_codes(self, frames: Tensor) -> Tensor:
        """frames (B, T, 3, H, W) -> codes (B, T, P, d) on the FSQ grid (straight-through gradients)."""
        return self.fsq(self._encode_features(frames))

    def _decode_codes(self, codes: Tensor, cache: KVCache | None = None) -> Tensor:
        """codes (B, T, P, d) -> frames (B, T, 3, H, W), unclamped."""
        x = self.decoder(self.from_code(codes.to(self.from_code.weight.dtype)) + self.decoder_pos, cache=cache)
        if self.cfg.conv_channels:
            b = x.shape[0]
            grid = rearrange(x, "b t (hh ww) d -> (b t) d hh ww", hh=self.side)
            return rearrange(self.pixel_head(grid), "(b t) c h w -> b t c h w", b=b)
        p = self.cfg.patch_size
        pixels = self.pixel_head(x)  # (B, T, P, 3 p p)
        return rearrange(pixels, "b t (hh ww) (c ph pw) -> b t c (hh ph) (ww pw)", hh=self.side, ph=p, pw=p)

    def encode(self, frames: Tensor) -> Tensor:
        """frames (B, T, 3, H, W) in [-1, 1] -> tokens (B, T, P) long."""
        return self.fsq.codes_to_indices(self._encode_codes(frames))

    def decode(self, tokens: Tensor) -> Tensor:
        """tokens (B, T, P) long -> frames (B, T, 3, H, W) in [-1, 1]."""
        return self.decode_codes(self.fsq.indices_to_codes(tokens))

    def decode_codes(self, codes: Tensor) -> Tensor:
        """codes (B, T, P, d), on the FSQ grid or between its points (an expected code) -> frames in [-1, 1]."""
        return self._decode_codes(codes).clamp(-1, 1)

    def new_decoder_cache(self, batch: int, device: torch.device | str, dtype: torch.dtype) -> KVCache:
        return self.decoder.new_cache(batch * self.cfg.tokens_per_frame, device, dtype)

    def decode_step(self, tokens: Tensor, cache: KVCache | None = None) -> Tensor:
        """tokens (B, P) of one new frame -> frame (B, 3, H, W); a temporal decoder reads and writes `cache`.

        The caller advances the cache after each frame (as for the dynamics cache).
        """
        return self.decode_codes_step(self.fsq.indices_to_codes(tokens), cache)

    def decode_codes_step(self, codes: Tensor, cache: KVCache | None = None) -> Tensor:
        """`decode_step` of codes (B, P, d), on the FSQ grid or between its points -> frame (B, 3, H, W)."""
        return self._decode_codes(codes[:, None], cache if self.decoder_temporal else None)[:, 0].clamp(-1, 1)

    def _pixel_weights(self, frames: Tensor) -> Tensor:
        """(B, T, 1, H, W) loss weights: `moving_weight` where a pixel changes to or from a neighbouring frame."""
        change = moving_pixels(frames[:, 1:], frames[:, :-1])  # (B, T-1, 1, H, W)
        moving = torch.zeros_like(frames[:, :, :1], dtype=torch.bool)
        moving[:, 1:] |= change
        moving[:, :-1] |= change
        return 1 + (self.cfg.moving_weight - 1) * moving.float()

    def training_loss(self, frames: Tensor) -> tuple[Tensor, dict[str, float]]:
        """Reconstruction loss (MSE + L1 on [-1, 1] pixels, moving pixels weighted by `moving_weight`) of
        clips (B, T, 3, H, W); psnr, code usage and (clips of >= 2 frames) moving_psnr."""
        codes = self._encode_codes(frames)
        recon = self._decode_codes(codes)
        error = recon.float() - frames.float()
        mse = error.pow(2).mean()
        if self.cfg.moving_weight == 1 or frames.shape[1] < 2:
            loss = mse + error.abs().mean()
        else:
            weights = self._pixel_weights(frames)
            loss = ((error.pow(2) + error.abs()) * weights).sum() / (weights.sum() * error.shape[2])
        with torch.no_grad():
            used = code_usage(self.fsq.codes_to_indices(codes), self.fsq.codebook_size)
            clipped_mse = F.mse_loss(recon.float().clamp(-1, 1), frames.float())
            metrics = {"loss": loss.item(), "mse": mse.item(), "psnr": psnr_from_mse(clipped_mse).item(),
                       "code_usage": used}
            if frames.shape[1] >= 2:
                moving = moving_psnr(recon[:, 1:].flatten(0, 1), frames[:, 1:].flatten(0, 1),
                                     frames[:, :-1].flatten(0, 1))
                if not moving.isnan().all():
                    metrics["moving_psnr"] = moving.nanmean().item()
        return loss, metrics
