"""Latent action model: from pixels, a discrete action a_t in [0, A) for every transition x_t -> x_t+1.

Notation: B batch, T frames, N transitions, K history frames, A actions, p patch size, C conv width.

The model is a forward model with A heads: from the last K frames x_{t-K+1..t} it predicts A different
next frames, one per action. The latent action of a transition is the head whose prediction is
closest to the true x_t+1 ("which of the A futures happened"). Training updates mostly that winning
head (winner-take-all), so each head comes to own one kind of change the history cannot predict.

Why this and not an encoder -> quantiser -> decoder (VQ or FSQ with straight-through gradients): on
this CPU budget such a decoder did not learn to use its code at all, not even when handed the true
action (docs/lab/NOTES.md, "Latent actions"), so the code never became necessary and collapsed.
Here no gradient has to pass through a discrete choice: every head is trained by plain regression
on the transitions it wins, and the choice is exact.
  * The prediction is x_t + passive(x_{t-K+1..t}) + effect_a(x_t): one shared path reads the history,
    and the A heads read x_t alone. A head that could read the history could mean "keep doing what the
    last frames show", which sticky training data rewards as much as "up" but which fails on any other
    data; a head that sees only the present can only say what happens next in absolute terms.
  * The presets give the history's path two frames (K = 2): it sees the velocities of a ball, a scroll or
    a hero's momentum. It also sees the player's last move, and people hold keys, so on their video it
    can learn to continue the hero and leave the heads only the moments a key changed. With the present
    frame alone (K = 1) that cannot happen, but a hero's own drift is then left to the heads: sonic's
    probe fell from 0.41 to 0.29, while dungeon and pong scored alike either way
    (docs/lab/2026-12-04-inverse-phase.md).
  * No head may win more than `max_share` of a training batch. Under a plain argmin the head that
    predicts the average future a little better wins everything, learns the average and stays best:
    one code for thousands of steps. With a cap the other heads take what they predict relatively best,
    which is where they differ: a kind of change. Inference is the plain best head.
  * With `hold` (the presets), training chooses a transition's head also by how well it explains the
    transitions on either side: people hold keys, so that head is the likelier action, where one that
    wins a single frame may be answering something else (a sprite's position in its cell, which
    alternates as it walks). Inference scores each transition alone.
  * Heads that still win nothing get a small share (`spread`) of the loss, and a head idle for
    `reset_after` steps restarts as a perturbed copy of the busiest one.
  * With `effect="shift"` (the presets) a head does not add colour: it moves content. Per cell it chooses
    among a few offsets (none, or up to `max_shift` pixels up, down, left or right) the one x_t's content
    comes from, as a soft mixture, and its change is that moved content minus x_t. An action moves
    sprites: a step is one choice of offset wherever the sprite stands, where an additive head must learn
    the colours it leaves and brings, cell by cell. Told the true action, additive heads did not learn a
    2 px agent's one-pixel step in 1,200 steps and shifting heads did in 400; unsupervised on dungeon,
    shifting heads scored 0.74-0.88 on four seeds where additive ones scored 0.49-0.80
    (docs/lab/2026-12-03-small-agents.md).
  * With `heads_see_position` the heads' net also reads each cell's place on the screen. A key can act differently
    by place (sonic's right walks the hero inside the camera's window and scrolls the scene at its edge), and a net
    that sees ~12 px around a cell cannot tell where on the screen it is.
  * The heads predict and are scored on a 16x16 grid of cell values (`resolution`). A plain p x p mean
    ("cell") does not change while a small sprite moves inside its cell and jumps when it crosses a
    border, so one step right looks like two different events depending on where the sprite stood,
    and the heads spend codes telling the two apart. "smooth" takes each cell's value through a tent
    filter 2p - 1 wide, which moves with the sprite a pixel at a time. "pixel" predicts every pixel.
  * With `passive_loss` the history's path learns the plain next frame on every transition and the
    heads learn on top of it without moving it. Off: on sticky training data the averaged future
    includes "the paddle keeps going", and the heads' codes turn relative.
  * With `focus` (the player's colour, when the user knows it), the heads are scored only on the cells within one
    cell of a pixel of that colour in x_t or x_t+1, and the inverse model sees only those cells. Things that move on
    their own, larger and faster than a small player, otherwise choose the heads: an unsupervised objective cannot
    tell what the player controls from what moves by itself, and the biggest unexplained change wins
    (docs/lab/2026-12-07-player-focus.md).
  * With `align_shift` m, each transition's target is first moved by the whole-picture offset of at most
    m pixels that brings it closest to the passive prediction, and every head is scored against that.
    A scrolling camera moves the whole picture by an amount two frames predict only roughly, and on a
    textured scene that error outweighs any sprite. The offset is chosen before any head is scored, so
    no head can win by it; what is left to explain is what moved against the picture.

With `inverse` (the presets), the heads are only the first phase. Once they are trained they label every transition
of the training data, and an inverse model (models/inverse.py: x_t-1, x_t, x_t+1 -> code) learns those labels;
from then on it names the codes. The heads' argmin decides each transition alone, by a whole frame's squared
error, so one unrelated cell can swing it; a classifier trained on their noisy codes learns what the codes share
and names the action more often than the heads do (sonic 0.38 -> 0.43, dungeon 0.83 -> 0.86, pong unchanged;
docs/lab/2026-12-03-inverse-on-codes.md). It sharpens a signal the codes carry; it cannot make one up.

The net reads the history at full resolution, as a grid of p x p cells (pixel-unshuffle: a 64x64 frame
is 16x16 cells of 48 values), and predicts the next frame as a change from x_t, per cell or per pixel.
Measured figures for each option: docs/lab/2026-12-02-latent-actions.md, 2026-12-03-history-leak.md.
"""

from __future__ import annotations

import math

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn

from nanogenie.config import LAMConfig
from nanogenie.metrics import code_usage, psnr_from_mse
from nanogenie.models.cell_net import CellNet
from nanogenie.models.focus import colour_pixels, grown
from nanogenie.models.inverse import InverseModel, transition_channels


class LatentActionModel(nn.Module):
    def __init__(self, cfg: LAMConfig):
        super().__init__()
        self.cfg = cfg
        p, c, a = cfg.patch_size, cfg.width, cfg.num_actions
        # values predicted per cell and colour: the cell's mean, or (resolution "pixel") each of its p x p pixels
        self.per_cell = p * p if cfg.resolution == "pixel" else 1
        self.past = CellNet(cfg.history_frames, p, c)  # what the history predicts, the same for every action
        self.passive = nn.Conv2d(c, 3 * self.per_cell, 1)
        self.present = CellNet(1, p, c, cfg.heads_see_position)  # what each action adds, read from x_t alone
        if cfg.effect == "shift":
            # per head and cell: logits over the offsets the cell's content may come from
            self.offsets = [(0, 0)] + [(dy * r, dx * r) for r in range(1, cfg.max_shift + 1)
                                       for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1))]
            self.heads = nn.Conv2d(c, a * len(self.offsets), 1)
            with torch.no_grad():  # every head starts as "nothing moves"
                self.heads.bias.view(a, len(self.offsets))[:, 0] += 4.0
        else:
            self.heads = nn.Conv2d(c, a * 3 * self.per_cell, 1)
        # Per head: steps since it last won a transition, and a running mean of its wins per step. Buffers, so they
        # are checkpointed and a resumed run restarts the same heads at the same steps.
        self.register_buffer("idle_steps", torch.zeros(a, dtype=torch.long))
        self.register_buffer("recent_wins", torch.zeros(a))
        if cfg.inverse:
            # Named only when the heads are trained (a second phase); until then the heads name them. The
            # flag is saved with the weights, so a LAM whose second phase never finished still reads by its heads.
            self.inverse = InverseModel(a).requires_grad_(False)  # it trains in its own phase, which turns this on
            self.register_buffer("inverse_trained", torch.zeros((), dtype=torch.bool))

    @property
    def num_actions(self) -> int:
        return self.cfg.num_actions

    @property
    def reads_by_inverse(self) -> bool:
        return self.cfg.inverse and bool(self.inverse_trained)

    @property
    def frames_before(self) -> int:
        """Frames before x_t that naming the transition x_t -> x_t+1 reads: the history's, or x_t-1 for the inverse."""
        return max(self.cfg.history_frames - 1, int(self.cfg.inverse))

    def cells(self, frames: Tensor) -> Tensor:
        """frames (..., 3, H, W) -> the frames at the resolution the heads predict (..., 3, R, R): each p x p
        cell's mean colour (R = H/p), or the frames themselves (resolution "pixel", R = H)."""
        if self.cfg.resolution == "pixel":
            return frames
        return F.avg_pool2d(self._blurred(frames.flatten(0, -4)), self.cfg.patch_size).unflatten(0, frames.shape[:-3])

    def _blurred(self, frames: Tensor) -> Tensor:
        """(N, 3, H, W) -> the same size, box-blurred p wide for resolution "smooth" (unchanged for "cell"): a p x p
        mean of the blurred frame is a tent filter 2p - 1 wide, whose value moves with a sprite one pixel at
        a time, where a plain cell mean stays the same while the sprite moves inside the cell."""
        if self.cfg.resolution != "smooth":
            return frames
        p = self.cfg.patch_size
        return F.avg_pool2d(F.pad(frames, (p // 2, (p - 1) // 2, p // 2, (p - 1) // 2), mode="replicate"), p, stride=1)

    def _grid(self, values: Tensor, channels: int) -> Tensor:
        """Per-cell outputs (N, channels * per_cell, H/p, W/p) -> (N, channels, R, R)."""
        return F.pixel_shuffle(values, self.cfg.patch_size) if self.per_cell > 1 else values.reshape(
            len(values), channels, *values.shape[-2:])

    def predict_next(self, history: Tensor) -> Tensor:
        """history (N, K, 3, H, W), oldest first -> A candidate next frames (N, A, 3, R, R) at the heads'
        resolution (R = H/p cells, or H pixels).

        x_t+1 = x_t + passive(x_{t-K+1..t}) + effect_a(x_t). The heads never see the past, so a head cannot
        mean "keep doing what the last frames show" (a relative code, which sticky training data would
        reward as much as the action itself); it must say what happens next in absolute terms."""
        return self._predict(history)[1]

    def _predict(self, history: Tensor) -> tuple[Tensor, Tensor]:
        """history (N, K, 3, H, W) -> the passive prediction (N, 1, 3, R, R) and the A candidates (N, A, 3, R, R)."""
        n, a = len(history), self.num_actions
        features = self.past(history)
        passive = self.cells(history[:, -1:]) + self._grid(self.passive(features), 3)[:, None]
        outputs = self.heads(self.present(history[:, -1:])).reshape(n * a, -1, *features.shape[-2:])
        if self.cfg.effect == "shift":
            effects = self._shifted(history[:, -1], outputs.view(n, a, len(self.offsets), *outputs.shape[-2:]))
        else:
            effects = self._grid(outputs, 3)
            effects = effects.view(n, a, *effects.shape[1:])
        if self.cfg.passive_loss:  # the heads add to the action-averaged future; they cannot move it
            return passive, passive.detach() + effects
        return passive, passive + effects

    def _shifted(self, present: Tensor, logits: Tensor) -> Tensor:
        """present (N, 3, H, W), logits (N, A, S, H/p, W/p) over the S offsets -> each head's change (N, A, 3, R, R):
        per cell, a mixture of the cell's values with x_t moved by each offset, minus its values in x_t. An
        action moves sprites, and a step of a pixel is one choice per cell here, where an additive head has
        to learn the colours the sprite leaves and brings, cell by cell. The moved frames are the same for
        every head, so each head costs S weights per cell."""
        m, size, p = self.cfg.max_shift, present.shape[-1], self.cfg.patch_size
        weights = logits.softmax(dim=2)
        if self.per_cell == 1:
            moved = self._moved_cells(present, self.offsets)  # (N, S, 3, R, R)
        else:  # resolution "pixel": the moved frames themselves, a cell's pixels sharing its weights
            padded = F.pad(present, (m, m, m, m), mode="replicate")
            moved = torch.stack([padded[..., m - dy:m - dy + size, m - dx:m - dx + size] for dy, dx in self.offsets],
                                dim=1)
            weights = weights.repeat_interleave(p, -1).repeat_interleave(p, -2)
        return torch.einsum("nasyx,nscyx->nacyx", weights, moved) - self.cells(present)[:, None]

    def _moved_cells(self, frames: Tensor, moves: list[tuple[int, int]]) -> Tensor:
        """frames (N, 3, H, W) -> (N, S, 3, H/p, W/p): the frames' p x p cell values (through the "smooth" filter when
        set) with their content moved by each (dy, dx) of `moves`, edges repeated: the pixel at (y, x) shows
        what the frame had at (y - dy, x - dx). One pooling serves every move, since a moved frame's cells
        are every p-th of the padded frame's p x p means."""
        p, size = self.cfg.patch_size, frames.shape[-1]
        m = max(max(abs(dy), abs(dx)) for dy, dx in moves)
        means = F.avg_pool2d(self._blurred(F.pad(frames, (m, m, m, m), mode="replicate")), p, stride=1)
        return torch.stack([means[..., m - dy:m - dy + size:p, m - dx:m - dx + size:p] for dy, dx in moves], dim=1)

    def _histories(self, frames: Tensor) -> tuple[Tensor, Tensor]:
        """frames (B, T, 3, H, W) -> each transition's history (B, T-1, K, 3, H, W) and next frame
        (B, T-1, 3, H, W). Before the clip's first frame the history repeats that frame."""
        k, steps = self.cfg.history_frames, frames.shape[1] - 1
        index = (torch.arange(steps, device=frames.device)[:, None]
                 + torch.arange(1 - k, 1, device=frames.device)).clamp_min(0)  # (T-1, K)
        return frames[:, index], frames[:, 1:]

    def _errors(self, history: Tensor, target: Tensor) -> Tensor:
        """history (N, K, 3, H, W), target (N, 3, H, W) -> each head's error (N, A), as heads are scored."""
        return self._scored(history, target)["errors"]

    def _scored(self, history: Tensor, target: Tensor) -> dict[str, Tensor]:
        """Each head's squared error (N, A) and the passive prediction's (N,), at the heads' resolution: the mean
        over the frame, or over the cells near the player with `focus`."""
        passive, predicted = self._predict(history)
        weights = self.focus_cells(history[:, -1], target)  # (N, 1, R, R) or None
        target = self._aligned(target.float(), passive.detach().float())[:, None]
        errors, passive_errors = (predicted.float() - target).pow(2), (passive.float() - target).pow(2)
        if weights is None:
            return {"errors": errors.flatten(2).mean(dim=2), "passive": passive_errors.flatten(1).mean(dim=1)}
        weights = weights[:, None]  # (N, 1, 1, R, R), as errors (N, A, 3, R, R)
        total = 3 * weights.flatten(1).sum(dim=1)  # (N,)
        return {"errors": (errors * weights).flatten(2).sum(dim=2) / total[:, None],
                "passive": (passive_errors * weights).flatten(1).sum(dim=1) / total}

    def focus_cells(self, present: Tensor, target: Tensor) -> Tensor | None:
        """present, target (N, 3, H, W) -> (N, 1, R, R): 1 on the cells within one cell of a pixel of the focus
        colour in x_t or x_t+1 (where the player was and where it went), 0 elsewhere; every cell of a transition
        with no such pixel. None without `focus`. (models/focus.py says how near a colour counts.)"""
        if not self.cfg.focus:
            return None
        found = colour_pixels(torch.stack([present, target], dim=1), self.cfg.focus)  # (N, 1, H, W)
        p = self.cfg.patch_size
        if self.cfg.resolution == "pixel":
            return grown(found, p)
        return grown(F.max_pool2d(found, p), 1)

    def focus_pixels(self, present: Tensor, target: Tensor) -> Tensor | None:
        """`focus_cells` as a mask of every pixel (N, 1, H, W): what the inverse model
        sees of a transition, so that it names the heads' codes from the player as the heads chose them."""
        cells = self.focus_cells(present, target)
        if cells is None or cells.shape[-1] == present.shape[-1]:
            return cells
        p = self.cfg.patch_size
        return cells.repeat_interleave(p, dim=-1).repeat_interleave(p, dim=-2)

    def _capped_winners(self, errors: Tensor) -> Tensor:
        """errors (N, A) -> each transition's head (N,) when no head may win more than `max_share` of them.

        A head that predicts the average future a little better than the others would win every transition
        under argmin, learn the average of all of them and stay best: one code for everything. With a cap,
        the other heads take the transitions they predict best relative to the rest, and so come to own a
        kind of change. Transitions go in order of how much their best head beats the next best, each to
        the best head with room left, so the clearest cases choose first."""
        n, a = errors.shape
        room = [math.ceil(self.cfg.max_share * n)] * a
        preference = errors.argsort(dim=1)  # (N, A), best head first
        ranked = errors.gather(1, preference)
        order = (ranked[:, 1] - ranked[:, 0]).argsort(descending=True) if a > 1 else torch.arange(n)
        winners = [0] * n
        preference = preference.tolist()
        for i in order.tolist():
            head = next(h for h in preference[i] if room[h])
            winners[i] = head
            room[head] -= 1
        return torch.tensor(winners, device=errors.device)

    def _held(self, errors: Tensor) -> Tensor:
        """errors (B, T', A) of consecutive transitions -> what the training assignment minimises: each
        transition's errors relative to their mean over heads, plus `hold` x its neighbours' mean.

        People hold keys, so a head that also explains the transitions on either side is the likelier
        action; a head that explains one transition only because of where a sprite sits in its cell
        (which alternates from frame to frame as it walks) is not. Only the assignment sees this:
        inference scores each transition on its own, as on video with a fresh action every frame."""
        relative = errors / errors.mean(dim=-1, keepdim=True).clamp_min(1e-12)
        steps = relative.shape[1]
        if steps == 1:
            return relative
        padded = F.pad(relative, (0, 0, 1, 1))  # (B, T' + 2, A), zero beyond the clip
        count = torch.full((steps, 1), 2.0, device=errors.device)
        count[[0, -1]] = 1.0  # the clip's first and last transitions have one neighbour each
        return relative + self.cfg.hold * (padded[:, :-2] + padded[:, 2:]) / count

    def _aligned(self, target: Tensor, passive: Tensor) -> Tensor:
        """target (N, 3, H, W), passive (N, 1, 3, R, R) -> the target at the heads' resolution (N, 3, R, R),
        the whole frame shifted by the whole-pixel offset (up to `align_shift` each way) whose cell colours
        come closest to the passive prediction's. A scrolling camera's rounding moves the whole picture by a
        pixel more or less than the history says, which on a textured scene outweighs any sprite; the
        heads would spend themselves on it. One offset per transition, chosen before any head is scored,
        so no head can win by it."""
        m = self.cfg.align_shift
        if m == 0:
            return self.cells(target)
        p, size = self.cfg.patch_size, target.shape[-1]
        offsets = [(dy, dx) for dy in range(2 * m + 1) for dx in range(2 * m + 1)]  # windows of the padded frame
        shifted = self._moved_cells(target, [(m - dy, m - dx) for dy, dx in offsets])
        cell_passive = passive if self.per_cell == 1 else F.avg_pool2d(passive.flatten(0, 1), p)[:, None]
        best = (shifted - cell_passive).pow(2).flatten(2).mean(dim=2).argmin(dim=1)  # (N,)
        if self.per_cell == 1:
            return shifted[torch.arange(len(target), device=target.device), best]
        padded = F.pad(target, (m, m, m, m), mode="replicate")  # resolution "pixel": the chosen window itself
        return torch.stack([padded[i, :, dy:dy + size, dx:dx + size]
                            for i, (dy, dx) in enumerate(offsets[j] for j in best.tolist())])

    def infer_actions(self, frames: Tensor) -> Tensor:
        """frames (B, T, 3, H, W) in [-1, 1] -> actions (B, T-1) long in [0, num_actions): the inverse model's
        once it is trained, else the heads'. Before the clip's first frame, the clip's first frame stands in."""
        if self.reads_by_inverse:
            return self.inverse(self.transitions(frames)).argmax(dim=1).view(frames.shape[0], -1)
        return self.head_actions(frames)

    def head_actions(self, frames: Tensor) -> Tensor:
        """frames (B, T, 3, H, W) -> (B, T-1): the head that predicted each next frame best."""
        history, target = self._histories(frames)
        errors = self._errors(history.flatten(0, 1), target.flatten(0, 1))  # (B (T-1), A)
        return errors.argmin(dim=1).view(frames.shape[0], -1)

    def transitions(self, frames: Tensor) -> Tensor:
        """frames (B, T, 3, H, W) -> the inverse model's input for each transition (B (T-1), 12, H, W)."""
        before = torch.cat((frames[:, :1], frames[:, :-2]), dim=1)
        return self.inverse_input(before.flatten(0, 1), frames[:, :-1].flatten(0, 1), frames[:, 1:].flatten(0, 1))

    def inverse_input(self, prev: Tensor, now: Tensor, after: Tensor) -> Tensor:
        """x_t-1, x_t, x_t+1 (N, 3, H, W) -> the inverse model's input (N, 12, H, W); with `focus`, zero away
        from the player."""
        channels = transition_channels(prev, now, after)
        keep = self.focus_pixels(now, after)
        return channels if keep is None else channels * keep.to(channels.dtype)

    def training_loss(self, frames: Tensor) -> tuple[Tensor, dict[str, float]]:
        """Winner-take-all next-frame loss on clips (B, T, 3, H, W); only transitions whose whole
        history lies inside the clip are used, so the model never learns from a made-up past."""
        if self.training:  # in eval mode (validation) the loss leaves the heads' bookkeeping alone
            self._restart_idle_heads()
        history, target = self._histories(frames)
        first = self.cfg.history_frames - 1
        past = history[:, first:].flatten(0, 1)  # (N, K, 3, H, W)
        if self.cfg.still_history and self.training:
            # a still past for some transitions: there the history cannot carry a held key's step, so the heads must
            # draw it in absolute terms, and the same heads then draw it wherever the past moves as well
            still = torch.rand(len(past), device=past.device) < self.cfg.still_history
            past = torch.where(still[:, None, None, None, None], past[:, -1:].expand_as(past), past)
        scored = self._scored(past, target[:, first:].flatten(0, 1))
        errors = scored["errors"]  # (N, A)
        choice = errors.detach()
        if self.cfg.hold and self.training:
            choice = self._held(choice.view(len(frames), -1, choice.shape[-1])).flatten(0, 1)
        winners = (self._capped_winners(choice) if self.cfg.max_share < 1 and self.training
                   else choice.argmin(dim=1))
        best = errors.gather(1, winners[:, None]).mean()
        loss = (1 - self.cfg.spread) * best + self.cfg.spread * errors.mean()
        if self.cfg.passive_loss:
            loss = loss + scored["passive"].mean()
        with torch.no_grad():
            wins = torch.bincount(winners, minlength=self.num_actions)
            if self.training:
                if dist.is_available() and dist.is_initialized():
                    dist.all_reduce(wins)  # every data-parallel rank must restart the same heads at the same step
                self.idle_steps.add_(1).masked_fill_(wins > 0, 0)
                self.recent_wins.mul_(0.99).add_(wins.float(), alpha=0.01)
        metrics = {"loss": loss.item(), "psnr": psnr_from_mse(best.detach()).item(),
                   "code_usage": code_usage(winners, self.num_actions),
                   "top_code_share": wins.max().item() / max(1, wins.sum().item()),  # 1 while collapsed on one code
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
