"""The ceiling and the leak for latent-action figures: a small CNN inverse model trained WITH the true
actions on the same training data the LAM gets, for the same CPU minutes, scored on held-out episodes
with a fresh random action every frame (the ones `nanogenie train` measures the LAM on).

    python docs/lab/scripts/lam_ceiling.py --world sonic --minutes 5                  # ceiling: sees x_t-1, x_t, x_t+1
    python docs/lab/scripts/lam_ceiling.py --world sonic --minutes 5 --inputs past    # leak: sees x_t-1, x_t only
    python docs/lab/scripts/lam_ceiling.py --world sonic --minutes 6 --model heads    # the LAM's own forward model
    python docs/lab/scripts/lam_ceiling.py --world sonic --minutes 12 --model heads --unsupervised-after 3000

The ceiling says how much of the action the frames show at all; the LAM's lam_probe_accuracy is judged
against it. `--model heads` trains the LAM itself (the preset's LatentActionModel) with each transition's
loss on its true action's head instead of the winning head, and infers actions the LAM's way (the head
that predicts x_t+1 best): where it scores well and the LAM does not, the heads can represent the
actions and it is the discovery without labels that falls short. `--unsupervised-after N` trains the
heads with the labels for N steps, then goes on with the LAM's own loss (winner-take-all, no labels):
if the figure falls from there, the LAM's objective itself prefers another partition of the
transitions, and no better way of finding the controls would keep them.

The leak never sees the action's effect, so whatever it scores on held-out episodes comes
from past motion predicting the next action: on sticky episodes it is high, on random ones at chance.
Prints one JSON line per half minute and the last one at the end.
"""

import argparse
import json
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nanogenie.config import preset
from nanogenie.data import VideoData
from nanogenie.eval.lam_bench import inputs, transitions
from nanogenie.models.inverse import PAST_CHANNELS, TRANSITION_CHANNELS, InverseModel
from nanogenie.data.simulated import simulated_data
from nanogenie.metrics import normalized_mutual_information
from nanogenie.models.lam import LatentActionModel
from nanogenie.eval.held_out import fresh_episodes


class SupervisedHeads(nn.Module):
    """The LAM's forward model as a classifier: logits are minus each head's error on (x_t-1, x_t) -> x_t+1,
    so argmax is the LAM's own inference, and the loss is the true action's head's error."""

    def __init__(self, lam: LatentActionModel):
        super().__init__()
        self.lam = lam

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x (N, 12, H, W) from inputs(): prev, now, after, diff
        history = torch.stack((x[:, :3], x[:, 3:6]), dim=1)
        return -self.lam._errors(history, x[:, 6:9])

    def unsupervised_loss(self, x: torch.Tensor) -> torch.Tensor:
        """The LAM's own loss (winner-take-all, no labels) on the same inputs, as clips x_t-1, x_t, x_t+1."""
        return self.lam.training_loss(torch.stack((x[:, :3], x[:, 3:6], x[:, 6:9]), dim=1))[0]


def training_loss(model: nn.Module, x: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    logits = model(x)
    if isinstance(model, SupervisedHeads):
        return -logits.gather(1, truth[:, None]).mean()
    return F.cross_entropy(logits, truth)


@torch.no_grad()
def score(model: nn.Module, data: VideoData, index: np.ndarray, past_only: bool) -> dict:
    model.eval()
    predicted = torch.cat([model(inputs(data, index[i:i + 256], past_only)).argmax(1)
                           for i in range(0, len(index), 256)]).numpy()
    model.train()
    truth = data.actions[index].astype(np.int64)
    return {"accuracy": round(float((predicted == truth).mean()), 4),
            "nmi": round(normalized_mutual_information(truth, predicted), 4),
            "majority": round(float(np.bincount(truth).max() / len(truth)), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--world", default="sonic", help="simulator to generate data from")
    parser.add_argument("--preset", default="cpu", help="data size, frame size and seed come from this preset")
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--inputs", choices=["all", "past"], default="all")
    parser.add_argument("--model", choices=["cnn", "heads"], default="cnn",
                        help="cnn: an inverse model; heads: the LAM's forward model trained on true actions")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--unsupervised-after", type=int, default=None, metavar="STEPS",
                        help="--model heads: after this many labelled steps, train on the LAM's own loss")
    parser.add_argument("--align-shift", type=int, default=None,
                        help="--model heads: the LAM's align_shift (default: the preset's)")
    args = parser.parse_args()
    if args.model == "heads" and args.inputs == "past":
        parser.error("--model heads needs the next frame: use --inputs all")
    if args.model != "heads" and (args.unsupervised_after is not None or args.align_shift is not None):
        parser.error("--unsupervised-after and --align-shift are options of --model heads")
    config = preset(args.preset)
    torch.manual_seed(config.train.seed)
    train = simulated_data(args.world, config.train.data_frames, config.tokenizer.image_size, config.train.seed)
    held_out = fresh_episodes(args.world, config)
    train_index, held_index = transitions(train), transitions(held_out)
    past_only = args.inputs == "past"
    if args.model == "heads":
        lam_config = config.lam
        lam_config.num_actions = len(train.action_names)
        if args.align_shift is not None:
            lam_config.align_shift = args.align_shift
        model = SupervisedHeads(LatentActionModel(lam_config))
        optimizer = torch.optim.AdamW(model.parameters(), lr=config.train.lam.lr, weight_decay=config.train.lam.weight_decay)
    else:
        model = InverseModel(len(train.action_names), PAST_CHANNELS if past_only else TRANSITION_CHANNELS)
        model(inputs(train, train_index[:2], past_only))  # materialise the lazy layer before the optimizer
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(config.train.seed)
    began, step, report = time.perf_counter(), 0, 0.0
    while True:
        elapsed = time.perf_counter() - began
        if elapsed >= report or elapsed >= args.minutes * 60:
            labels = args.unsupervised_after is None or step <= args.unsupervised_after
            figures = {"world": args.world, "model": args.model, "inputs": args.inputs, "labels": labels, "step": step, "minutes": round(elapsed / 60, 2),
                       **score(model, held_out, held_index, past_only)}
            print(json.dumps(figures), flush=True)
            report += 30
            if elapsed >= args.minutes * 60:
                break
        pick = train_index[torch.randint(len(train_index), (args.batch,), generator=generator).numpy()]
        x = inputs(train, pick, past_only)
        if args.unsupervised_after is not None and step >= args.unsupervised_after:
            loss = model.unsupervised_loss(x)
        else:
            loss = training_loss(model, x, torch.from_numpy(train.actions[pick].astype(np.int64)))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step += 1


if __name__ == "__main__":
    main()
