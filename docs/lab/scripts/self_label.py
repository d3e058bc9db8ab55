"""Does an inverse model trained on a LAM's own codes name the action better than the LAM?

    python docs/lab/scripts/self_label.py RUN [WORLD] [--minutes 5 | --steps 700] [--rounds 1] [--hold H --reach R]
        [--no-past] [--truth] [--beta2 B] [--gce Q] [--ensemble K]
        [--keep F] [--smoothing S] [--soft TAU] [--data TRAIN.h5 --held-out RANDOM.h5] [--agree VIDEO.h5]

RUN is a LAM run folder (`nanogenie train --stage lam --out RUN`), WORLD the simulator it trained on
(or --held-out FILE, and --data FILE for a run trained with `--data`).
The LAM labels every transition of its own training data (RUN/run/data.h5, sticky actions); the ceiling's
CNN (x_t-1, x_t, x_t+1 -> code) is trained on those codes, with no true action, for --minutes of one
thread (or exactly --steps steps, the learning rate on a cosine to zero). Both are scored on fresh
random-action episodes (probe and NMI against the true action). With --rounds R > 1 the CNN's own labels of
the training data replace the codes and a fresh CNN trains again. With --hold the codes are chosen as LAM
training chooses them, with the neighbouring transitions' errors (models/lam.py, `_held`). --no-past hides x_t-1
from the CNN; --truth trains it on the data's recorded actions instead (the ceiling at the same steps); --beta2 and
--gce change its optimizer and loss; --soft TAU trains it on the heads' softmax over their errors (a target that
says how sure the heads were) instead of their argmin; --ensemble K trains K CNNs of successive seeds and scores
their averaged probabilities. --agree VIDEO.h5 also reports, at the end, how often the CNN names the heads'
code on another video (no actions read): a label-free figure of how learnable the heads' codes are.
Results: docs/lab/2026-12-03-inverse-on-codes.md, docs/lab/2026-12-04-phase-noise.md,
docs/lab/2026-12-05-still-past-product-path.md (--agree).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from nanogenie.data import load_dataset
from nanogenie.data.pixels import to_model
from nanogenie.eval.evaluate import lam_figures
from nanogenie.eval.held_out import fresh_episodes
from nanogenie.eval.lam_bench import BATCH, inputs, load_lam, transitions
from nanogenie.metrics import normalized_mutual_information, probe_accuracy
from nanogenie.models.inverse import InverseModel
from nanogenie.training.stages import label_transitions


def head_errors(lam, data) -> np.ndarray:
    """(N, A) each head's error on x_t -> x_t+1 at every t (NaN at each episode's last frame), as inference scores."""
    lam.eval()
    extra, out = lam.frames_before, np.full((len(data), lam.num_actions), np.nan, np.float32)
    with torch.no_grad():
        for start_, end in data.episodes():
            index = np.arange(start_, end)
            for start in range(0, len(index) - 1, 256):
                first = max(0, start - extra)
                frames = to_model(data.frames[index[first:start + 257]])[None]
                history, target = lam._histories(frames)
                errors = lam._errors(history.flatten(0, 1), target.flatten(0, 1))[start - first:]
                out[index[start:start + len(errors)]] = errors.numpy()
    return out


def soft_codes(errors: np.ndarray, tau: float) -> np.ndarray:
    """(N, A) errors -> (N, A) probabilities softmax(-errors / (tau x scale)); scale is the median over transitions of
    the gap between the best and second-best head, so a typical transition's winner gets e^(1/tau) times the
    runner-up's weight, and one whose heads all but tie gets a spread label."""
    ranked = np.sort(errors, axis=1)
    scale = float(np.nanmedian(ranked[:, 1] - ranked[:, 0]))
    logits = -(errors - ranked[:, :1]) / (tau * max(scale, 1e-12))
    p = np.exp(logits)
    return (p / p.sum(axis=1, keepdims=True)).astype(np.float32)


def lam_codes(lam, data, config, hold: float, reach: int, keep: float = 1.0,
              errors: np.ndarray | None = None) -> np.ndarray:
    """(N,) the LAM's code of x_t -> x_t+1 at every t, -1 at each episode's last frame. With `hold`, a
    transition's head is chosen as training chooses it: its errors relative to the heads' mean, plus `hold`
    x the mean of the same over the `reach` transitions on either side (people hold keys). With `keep` < 1,
    only that share of each code's transitions keeps its code, those where the chosen head beats the next best
    by the widest margin (relative to the heads' mean error); the others get -1 (unlabelled). `errors`: the
    heads' errors from `head_errors`, when the caller has them already."""
    seqs = [np.arange(start, end) for start, end in data.episodes() if end - start >= 2]
    codes = np.full(len(data), -1, np.int16)
    margins = np.zeros(len(data), np.float32)
    if hold == 0 and keep == 1 and errors is None:
        for index, label in zip(seqs, label_transitions(lam, data, seqs, "cpu", config.train.amp)):
            codes[index[:-1]] = label.numpy()
        return codes
    every = head_errors(lam, data) if errors is None else errors
    with torch.no_grad():
        for index in seqs:
            rows = torch.from_numpy(every[index[:-1]])  # (n, A)
            relative = rows / rows.mean(dim=1, keepdim=True).clamp_min(1e-12)
            padded = F.pad(relative, (0, 0, reach, reach))
            ones = F.pad(torch.ones(len(relative), 1), (0, 0, reach, reach))
            around = sum(padded[reach + d:reach + d + len(relative)] for d in range(-reach, reach + 1) if d)
            count = sum(ones[reach + d:reach + d + len(relative)] for d in range(-reach, reach + 1) if d)
            chosen = relative + hold * around / count.clamp_min(1)
            codes[index[:-1]] = chosen.argmin(dim=1).numpy()
            ranked = chosen.sort(dim=1).values
            margins[index[:-1]] = (ranked[:, 1] - ranked[:, 0]).numpy()
    if keep < 1:
        for code in range(lam.num_actions):
            mine = np.flatnonzero(codes == code)
            drop = mine[np.argsort(margins[mine])[:int(round(len(mine) * (1 - keep)))]]
            codes[drop] = -1
    return codes


@dataclasses.dataclass(frozen=True)
class CnnSetup:
    """How the CNN that learns the codes is built and trained (the script's --no-past, --beta2, --gce)."""
    no_past: bool = False  # it sees x_t, x_t+1 and their change, not x_t-1
    beta2: float = 0.999  # AdamW's second-moment decay (the shared training loop's is 0.95)
    gce: float = 0.0  # > 0: generalised cross-entropy with this exponent q, not cross-entropy


def cnn_inputs(data, index: np.ndarray, setup: CnnSetup) -> torch.Tensor:
    """(N, 12 or 9, H, W): the ceiling's channels, without x_t-1's three under --no-past."""
    channels = inputs(data, index, False)
    return channels[:, 3:] if setup.no_past else channels


@torch.no_grad()
def probabilities(model, data, index: np.ndarray, setup: CnnSetup) -> torch.Tensor:
    """(N, classes): the CNN's probabilities of each code for the transitions at `index`."""
    model.eval()
    out = torch.cat([model(cnn_inputs(data, index[i:i + 256], setup)).softmax(1)
                     for i in range(0, len(index), 256)])
    model.train()
    return out


def predict(model, data, index: np.ndarray, setup: CnnSetup) -> np.ndarray:
    return probabilities(model, data, index, setup).argmax(1).numpy()


def train_on_codes(train, held, truth_index: np.ndarray, actions: int, minutes: float, seed: int,
                   steps: int | None = None, smoothing: float = 0.0, setup: CnnSetup = CnnSetup(),
                   soft: np.ndarray | None = None):
    """Yields (model, step, minutes, held-out predictions) every minute and at the end; with `steps`, it
    trains exactly that many steps with the learning rate on a cosine to zero, reporting every 100 steps."""
    torch.manual_seed(seed)
    index = transitions(train)
    model = InverseModel(actions, channels=9 if setup.no_past else 12)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, setup.beta2))
    generator = torch.Generator().manual_seed(seed)
    began, step, next_report = time.perf_counter(), 0, 0.0
    while True:
        elapsed = time.perf_counter() - began
        done = step >= steps if steps else elapsed >= minutes * 60
        if (step % 100 == 0 if steps else elapsed >= next_report) or done:
            yield model, step, elapsed / 60, predict(model, held, truth_index, setup)
            next_report += 60
            if done:
                return
        if steps:
            for group in optimizer.param_groups:
                group["lr"] = 1e-3 * 0.5 * (1 + np.cos(np.pi * step / steps))
        pick = index[torch.randint(len(index), (BATCH,), generator=generator).numpy()]
        codes = torch.from_numpy(train.actions[pick].astype(np.int64))
        logits = model(cnn_inputs(train, pick, setup))
        if setup.gce:  # generalised cross-entropy (1 - p_code^q) / q: a wrong label's pull is bounded (Zhang & Sabuncu 2018)
            chosen = logits.softmax(dim=1).gather(1, codes[:, None]).squeeze(1)
            loss = ((1 - chosen.clamp_min(1e-6) ** setup.gce) / setup.gce).mean()
        elif soft is not None:  # --soft: the heads' own spread as the target
            loss = F.cross_entropy(logits, torch.from_numpy(soft[pick]))
        else:
            loss = F.cross_entropy(logits, codes, label_smoothing=smoothing)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step += 1


def ensemble(args, pseudo, held, truth, truth_index, classes, setup: CnnSetup) -> None:
    """--ensemble K: K CNNs on the same codes, seeds seed..seed+K-1; each one's probe, and the probe of their
    averaged probabilities."""
    members = []
    for member in range(args.ensemble):
        for model, step, minutes, predicted in train_on_codes(pseudo, held, truth_index, classes, args.minutes,
                                                              args.seed + member, args.steps, args.smoothing,
                                                              setup):
            pass
        members.append(probabilities(model, held, truth_index, setup))
        mean = torch.stack(members).mean(0).argmax(1).numpy()
        print(json.dumps({"model": "idm", "member": member, "minutes": round(minutes, 2),
                          "probe": round(probe_accuracy(truth, predicted), 4),
                          "ensemble_probe": round(probe_accuracy(truth, mean), 4),
                          "ensemble_nmi": round(normalized_mutual_information(truth, mean), 4)}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run")
    parser.add_argument("world", nargs="?", help="the simulator the LAM trained on: its fresh random-action episodes")
    parser.add_argument("--held-out", help="or score on this .h5 (a fresh action every frame) instead of WORLD's")
    parser.add_argument("--data", help="the LAM's training data, when not RUN/run/data.h5")
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--steps", type=int, default=None, help="train exactly this many steps, lr on a cosine")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hold", type=float, default=0.0)
    parser.add_argument("--reach", type=int, default=1)
    parser.add_argument("--keep", type=float, default=1.0, help="train on this share of each code's clearest cases")
    parser.add_argument("--ensemble", type=int, default=1, help="train this many CNNs and average them")
    parser.add_argument("--gce", type=float, default=0.0, help="generalised cross-entropy's exponent q (0: plain)")
    parser.add_argument("--beta2", type=float, default=0.999, help="AdamW's second-moment decay")
    parser.add_argument("--no-past", action="store_true", help="the CNN does not see x_t-1")
    parser.add_argument("--truth", action="store_true",
                        help="train on the data's true (sticky) actions instead of the codes: the ceiling at these steps")
    parser.add_argument("--smoothing", type=float, default=0.0, help="label smoothing of the CNN's cross-entropy")
    parser.add_argument("--agree", help="an unlabelled video: the final CNN's agreement with the heads' codes on it")
    parser.add_argument("--soft", type=float, default=0.0,
                        help="> 0: learn the heads' softmax(-errors / (SOFT x median margin)) instead of their argmin")
    args = parser.parse_args()
    if args.agree and args.ensemble > 1:
        parser.error("--agree reads one CNN; run it without --ensemble")
    torch.set_num_threads(1)
    lam, config = load_lam(args.run)
    if lam.cfg.inverse:  # a LAM of the product's two phases: this script studies its heads' codes
        lam.inverse_trained.fill_(False)
    train = load_dataset(args.data or str(Path(args.run) / "run" / "data.h5"))
    held = load_dataset(args.held_out) if args.held_out else fresh_episodes(args.world, config)
    truth_index = transitions(held)
    truth = held.actions[truth_index].astype(np.int64)
    print(json.dumps({"model": "lam", **lam_figures(lam, held, held.episodes(), config, "cpu")}), flush=True)
    began = time.perf_counter()
    setup = CnnSetup(no_past=args.no_past, beta2=args.beta2, gce=args.gce)
    errors = head_errors(lam, train) if args.soft else None
    codes = (train.actions.astype(np.int16) if args.truth
             else lam_codes(lam, train, config, args.hold, args.reach, args.keep, errors))
    coded = codes[codes >= 0]
    known = train.actions[codes >= 0] if train.actions is not None else None
    if known is not None and (known >= 0).all():  # the training data's own (sticky) actions, for reference only
        print(json.dumps({"codes_vs_training_actions_probe": round(probe_accuracy(known, coded), 4)}), flush=True)
    classes = max(lam.num_actions, int(coded.max()) + 1)
    shares = np.bincount(coded, minlength=classes) / len(coded)
    print(json.dumps({"labelled": len(coded), "seconds": round(time.perf_counter() - began, 1),
                      "shares": np.round(shares, 3).tolist()}), flush=True)
    soft = soft_codes(errors, args.soft) if args.soft else None
    if soft is not None:
        top = soft[codes >= 0].max(axis=1)
        print(json.dumps({"soft_top_quartiles": np.round(np.quantile(top, [0.25, 0.5, 0.75]), 3).tolist()}), flush=True)
    if args.ensemble > 1:
        ensemble(args, dataclasses.replace(train, actions=codes), held, truth, truth_index, classes, setup)
        return
    for round_ in range(args.rounds):
        pseudo = dataclasses.replace(train, actions=codes)
        for model, step, minutes, predicted in train_on_codes(pseudo, held, truth_index, classes,
                                                              args.minutes, args.seed + round_, args.steps,
                                                              args.smoothing, setup, soft):
            shares = np.bincount(predicted, minlength=classes) / len(predicted)
            print(json.dumps({"model": "idm", "round": round_, "step": step, "minutes": round(minutes, 2),
                              "probe": round(probe_accuracy(truth, predicted), 4),
                              "nmi": round(normalized_mutual_information(truth, predicted), 4),
                              "codes_5pct": int((shares >= 0.05).sum())}), flush=True)
        if round_ == args.rounds - 1:
            if args.agree:
                video = load_dataset(args.agree)
                heads = lam_codes(lam, video, config, 0.0, 1)
                index = np.concatenate([np.arange(start + 1, end - 1) for start, end in video.episodes()])
                agree = float((predict(model, video, index, setup) == heads[index]).mean())
                print(json.dumps({"agree_with_heads_on": args.agree, "agreement": round(agree, 4)}), flush=True)
            break
        index = transitions(pseudo)
        relabel = np.full(len(train), -1, np.int16)
        relabel[index] = predict(model, train, index, setup)
        agree = float((relabel[index] == codes[index]).mean())
        print(json.dumps({"round": round_, "agree_with_previous": round(agree, 4)}), flush=True)
        codes = relabel


if __name__ == "__main__":
    main()
