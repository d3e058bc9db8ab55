"""Is the tokenizer held back by FSQ's rounding? Train the `cpu` preset's tokenizer on a run's frames
with the same seed, batches and learning-rate schedule as `nanogenie train`, either as is (`fsq`) or
with the rounding removed (`nofsq`: the bounded values go straight to the decoder), and print the
training PSNR every 50 steps. Equal curves mean the codebook is not what limits reconstruction.

    python docs/lab/scripts/tokenizer_ablation.py runs/sonic nofsq 200
"""

import json
import sys
import time
from pathlib import Path

import torch

from nanogenie.config import preset
from nanogenie.data import load_dataset
from nanogenie.models.tokenizer import VideoTokenizer
from nanogenie.training.loop import lr_at, make_optimizer, step_seed
from nanogenie.training.stages import pixel_stage


def main(run: Path, arm: str, steps: int) -> None:
    config = preset("cpu")
    train = config.train
    torch.manual_seed(train.seed)
    tokenizer = VideoTokenizer(config.tokenizer)
    if arm == "nofsq":
        fsq = tokenizer.fsq
        fsq.forward = lambda z: fsq.bound(z.float()) / fsq.half_width  # same range, no rounding
    data = load_dataset(run / "run" / "data.h5")
    spans = [tuple(s) for s in json.loads((run / "run" / "splits.json").read_text())["train"]]
    # The trainer's own batches; the learning rate follows the full run's schedule, so step k here
    # matches step k of `nanogenie train` (its loop would rescale the schedule to `steps`).
    stage = pixel_stage("tokenizer", tokenizer, data, spans, config, "cpu", train.tokenizer.steps)
    optimizer = make_optimizer(tokenizer, train.tokenizer, "cpu")
    began = time.perf_counter()
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, train.tokenizer.lr, train.warmup_steps, train.tokenizer.steps)
        generator = torch.Generator().manual_seed(step_seed(train.seed, "tokenizer", step))
        loss, metrics = stage.loss(*stage.sample(generator, 0, 1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(tokenizer.parameters(), train.grad_clip)
        optimizer.step()
        if (step + 1) % 50 == 0:
            print(f"{arm} step {step + 1}: psnr {metrics['psnr']:.2f} dB ({time.perf_counter() - began:.0f} s)",
                  flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]))
