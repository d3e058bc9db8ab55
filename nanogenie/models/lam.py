"""Latent action model: from pixels, a discrete action a_t in [0, A) for every transition x_t -> x_t+1.

Notation: B batch, T frames, N transitions, K history frames, A actions, p patch size, C conv width.

The model is a forward model with A heads: from the last K frames x_{t-K+1..t} it predicts A different
next frames, one per action. The latent action of a transition is the head whose prediction is
closest to the true x_t+1 ("which of the A futures happened"). Training updates mostly that winning
head (winner-take-all), so each head comes to own one kind of change the history cannot predict.

Why this and not an encoder -> quantiser -> decoder (VQ or FSQ with straight-through gradients): on
this CPU budget such a decoder did not learn to use its code at all, not even when handed the true
action (docs/BENCHMARKS.md, "Latent actions"), so the code never became necessary and collapsed.
Here no gradient has to pass through a discrete choice: every head is trained by plain regression
on the transitions it wins, and the choice is exact.
  * The prediction is x_t + passive(x_{t-K+1..t}) + effect_a(x_t): one shared path reads the history
    (with K = 2 the velocities of ball, scroll and momentum are predictable), and the A heads read
    x_t alone. A head that could read the history could mean "keep doing what the last frames show",
    which sticky training data rewards as much as "up" but which fails on any other data; a head
    that sees only the present can only say what happens next in absolute terms.
  * Heads that win nothing would never learn, so a small share (`spread`) of the loss goes to every
    head, and a head that wins no transition for `reset_after` steps restarts as a perturbed copy of
    the busiest one (the dead-code reset of VQ latent action models, applied to heads).
  * By default the history's path learns only through the winning heads' loss. With `passive_loss` it
    learns the plain next frame on every transition (the action-averaged future) and the heads learn
    on top of it without moving it, so a head cannot win by owning a game state (the hero in the air)
    instead of a control. Measured: sonic's held-out probe 0.26 -> 0.33, but pong's 0.96 -> 0.71,
    because on sticky training data the averaged future includes "the paddle keeps going", and the
    heads' codes turn relative. Off until a version helps both (docs/BENCHMARKS.md).
  * With `align_shift` m, each transition's target is first moved by the whole-picture offset of at most
    m pixels that brings it closest to the passive prediction, and every head is scored against that.
    A scrolling camera moves the whole picture by an amount two frames predict only roughly, and on a
    textured scene that error outweighs any sprite: without it, sonic's codes followed the scroll
    (NMI 0.56 with the camera's step, 0.05 with the controls). The offset is chosen before any head is
    scored, so no head can win by it; what is left to explain is what moved against the picture.

The net reads the history at full resolution, as a grid of p x p cells (pixel-unshuffle: a 64x64 frame
is 16x16 cells of 48 values), and predicts only the next frame's mean colour per cell, as a change from
x_t. A player's action moves things (a paddle, the hero, the camera) by pixels, which the cell means
show; the texture inside a cell would only add noise to the choice of head (measured in
docs/BENCHMARKS.md). It is cheap enough to take thousands of steps in minutes on a CPU.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn

from nanogenie.config import LAMConfig
from nanogenie.metrics import code_usage, psnr_from_mse


def _conv(cin: int, cout: int, kernel: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2 if stride == 1 else 1),
                         nn.GroupNorm(8, cout), nn.SiLU())


class CellNet(nn.Module):
    """Frames as cells (N, F, 3, H, W) -> features per cell (N, C, H/p, W/p): a small U-Net whose one
    downsampling lets each cell see its neighbours' neighbours (a sprite and where it is heading)."""

    def __init__(self, frames: int, patch_size: int, width: int):
        super().__init__()
        self.patch_size = patch_size
        c = width
        self.inp = _conv(3 * frames * patch_size ** 2, c)
        self.down = _conv(c, 2 * c, kernel=4, stride=2)
        self.mid = _conv(2 * c, 2 * c)
        self.up = nn.Sequential(nn.ConvTranspose2d(2 * c, c, 4, 2, 1), nn.GroupNorm(8, c), nn.SiLU())
        self.fuse = _conv(2 * c, c)

    def forward(self, frames: Tensor) -> Tensor:
        h = self.inp(F.pixel_unshuffle(frames.flatten(1, 2), self.patch_size))  # (N, C, H/p, W/p)
        return self.fuse(torch.cat((self.up(self.mid(self.down(h))), h), dim=1))


class LatentActionModel(nn.Module):
    def __init__(self, cfg: LAMConfig):
        super().__init__()
        self.cfg = cfg
        p, c, a = cfg.patch_size, cfg.width, cfg.num_actions
        self.past = CellNet(cfg.history_frames, p, c)  # what the history predicts, the same for every action
        self.passive = nn.Conv2d(c, 3, 1)
        self.present = CellNet(1, p, c)  # what each action adds, read from x_t alone
        self.heads = nn.Conv2d(c, a * 3, 1)  # per cell, A changes of its mean colour
        # Per head: steps since it last won a transition, and a running mean of its wins per step. Buffers,
        # so they are checkpointed and a resumed run restarts the same heads at the same steps.
        self.register_buffer("idle_steps", torch.zeros(a, dtype=torch.long))
        self.register_buffer("recent_wins", torch.zeros(a))

    @property
    def num_actions(self) -> int:
        return self.cfg.num_actions

    def cells(self, frames: Tensor) -> Tensor:
        """frames (..., 3, H, W) -> the mean colour of each p x p cell (..., 3, H/p, W/p)."""
        p = self.cfg.patch_size
        return F.avg_pool2d(frames.flatten(0, -4), p).unflatten(0, frames.shape[:-3])

    def predict_next(self, history: Tensor) -> Tensor:
        """history (N, K, 3, H, W), oldest first -> A candidate next frames as cell colours (N, A, 3, H/p, W/p).

        x_t+1 = x_t + passive(x_{t-K+1..t}) + effect_a(x_t). The heads never see the past, so a head cannot
        mean "keep doing what the last frames show" (a relative code, which sticky training data would
        reward as much as the action itself); it must say what happens next in absolute terms."""
        return self._predict(history)[1]

    def _predict(self, history: Tensor) -> tuple[Tensor, Tensor]:
        """history (N, K, 3, H, W) -> the passive prediction (N, 1, 3, H/p, W/p) and the A candidates."""
        passive = self.cells(history[:, -1:]) + self.passive(self.past(history))[:, None]  # (N, 1, 3, H/p, W/p)
        effects = self.heads(self.present(history[:, -1:])).unflatten(1, (self.num_actions, 3))
        if self.cfg.passive_loss:  # the heads add to the action-averaged future; they cannot move it
            return passive, passive.detach() + effects
        return passive, passive + effects

    def _histories(self, frames: Tensor) -> tuple[Tensor, Tensor]:
        """frames (B, T, 3, H, W) -> each transition's history (B, T-1, K, 3, H, W) and next frame
        (B, T-1, 3, H, W). Before the clip's first frame the history repeats that frame."""
        k, steps = self.cfg.history_frames, frames.shape[1] - 1
        index = (torch.arange(steps, device=frames.device)[:, None]
                 + torch.arange(1 - k, 1, device=frames.device)).clamp_min(0)  # (T-1, K)
        return frames[:, index], frames[:, 1:]

    def _errors(self, history: Tensor, target: Tensor) -> Tensor:
        """history (N, K, 3, H, W), target (N, 3, H, W) -> squared error of each head (N, A), on cell colours."""
        return self._errors_and_passive(history, target)[0]

    def _errors_and_passive(self, history: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        """Squared error of each head (N, A) and of the passive prediction (N,), on cell colours."""
        passive, predicted = self._predict(history)
        target = self._aligned_cells(target.float(), passive.detach().float())[:, None]
        errors = (predicted.float() - target).pow(2).flatten(2).mean(dim=2)
        return errors, (passive.float() - target).pow(2).flatten(1).mean(dim=1)

    def _aligned_cells(self, target: Tensor, passive: Tensor) -> Tensor:
        """target (N, 3, H, W), passive (N, 1, 3, H/p, W/p) -> the target's cell colours (N, 3, H/p, W/p),
        the whole frame shifted by the whole-pixel offset (up to `align_shift` each way) that brings it
        closest to the passive prediction. A scrolling camera's rounding moves the whole picture by a
        pixel more or less than the history says, which on a textured scene outweighs any sprite; the
        heads would spend themselves on it (docs/BENCHMARKS.md). One offset per transition, chosen before
        any head is scored, so no head can win by it."""
        m = self.cfg.align_shift
        if m == 0:
            return self.cells(target)
        p, cells = self.cfg.patch_size, target.shape[-1] // self.cfg.patch_size
        # every p x p mean of the padded frame; a shift's cells are every p-th of them from its offset
        means = F.avg_pool2d(F.pad(target, (m, m, m, m), mode="replicate"), p, stride=1)
        shifted = torch.stack([means[..., dy:dy + p * cells:p, dx:dx + p * cells:p]
                               for dy in range(2 * m + 1) for dx in range(2 * m + 1)], dim=1)  # (N, S, 3, h, w)
        best = (shifted - passive).pow(2).flatten(2).mean(dim=2).argmin(dim=1)  # (N,)
        return shifted[torch.arange(len(target), device=target.device), best]

    def infer_actions(self, frames: Tensor) -> Tensor:
        """frames (B, T, 3, H, W) in [-1, 1] -> actions (B, T-1) long in [0, num_actions)."""
        history, target = self._histories(frames)
        errors = self._errors(history.flatten(0, 1), target.flatten(0, 1))  # (B (T-1), A)
        return errors.argmin(dim=1).view(frames.shape[0], -1)

    def training_loss(self, frames: Tensor) -> tuple[Tensor, dict[str, float]]:
        """Winner-take-all next-frame loss on clips (B, T, 3, H, W); only transitions whose whole
        history lies inside the clip are used, so the model never learns from a made-up past."""
        if self.training:  # in eval mode (validation) the loss leaves the heads' bookkeeping alone
            self._restart_idle_heads()
        history, target = self._histories(frames)
        first = self.cfg.history_frames - 1
        errors, passive = self._errors_and_passive(history[:, first:].flatten(0, 1), target[:, first:].flatten(0, 1))
        winners = errors.argmin(dim=1)  # errors (N, A)
        best = errors.gather(1, winners[:, None]).mean()
        loss = (1 - self.cfg.spread) * best + self.cfg.spread * errors.mean()
        if self.cfg.passive_loss:
            loss = loss + passive.mean()
        with torch.no_grad():
            wins = torch.bincount(winners, minlength=self.num_actions)
            if self.training:
                if dist.is_available() and dist.is_initialized():
                    dist.all_reduce(wins)  # every data-parallel rank must restart the same heads at the same step
                self.idle_steps.add_(1).masked_fill_(wins > 0, 0)
                self.recent_wins.mul_(0.99).add_(wins.float(), alpha=0.01)
        metrics = {"loss": loss.item(), "psnr": psnr_from_mse(best.detach()).item(),
                   "code_usage": code_usage(winners, self.num_actions),
                   "head_gap": (errors.mean() - best).item()}  # > 0 once the heads predict different futures
        return loss, metrics

    @torch.no_grad()
    def _restart_idle_heads(self) -> None:
        """Copy the busiest head (most recent wins: the one most likely serving several kinds of change)
        over each head idle for too long, with a fixed perturbation so that the copy wins part of what
        the original won, and the two part. Deterministic, so data-parallel ranks stay equal."""
        idle = (self.idle_steps > self.cfg.reset_after).nonzero().flatten().tolist()
        if not idle:
            return
        source = int(self.recent_wins.argmax())
        weight = self.heads.weight.unflatten(0, (self.num_actions, -1))  # (A, 3 p p, C, 1, 1)
        bias = self.heads.bias.unflatten(0, (self.num_actions, -1))
        scale = weight[source].std()
        for head in idle:
            pattern = torch.sin(torch.arange(weight[source].numel(), device=weight.device, dtype=weight.dtype)
                                * (head + 1.618)).view_as(weight[source])
            weight[head] = weight[source] + 0.01 * scale * pattern
            bias[head] = bias[source]
            self.idle_steps[head] = 0
            self.recent_wins[source] /= 2  # the next idle head copies another busy one
            self.recent_wins[head] = self.recent_wins[source]
