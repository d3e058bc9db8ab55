"""Does the screen predict a colour's codes? For each colour given, the cpu preset's LAM heads trained a few hundred
steps focused on it (`lam.focus`, as colour_focus_trial.py), their codes read on training transitions, and a leak
(models/inverse.py's CNN on x_t-1 and x_t only, with each pixel's place on the screen) trained to guess those codes.

A program moves its sprites by what the screen shows (a computer paddle follows the ball, a spark keeps its heading);
a person's key is an input from outside. So the player's codes should be the ones the screen predicts least, beside
explaining the colour's change well. Printed per colour: the heads' `explained` (1 - best / passive on the focused
cells), the codes' entropy, the leak's held-out cross-entropy and accuracy, `unpredicted` = leak CE / entropy, and
`surprise`: the focused error of the head the leak guesses minus the best head's, over the passive error. The probe
on a random-action file is for reference only: a label-free rule may not read it.

    python docs/lab/scripts/colour_leak_trial.py DATA.h5 RANDOM.h5 STEPS R,G,B [R,G,B ...] [none]
"""
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from nanogenie.data.hdf5 import load_dataset
from nanogenie.metrics import probe_accuracy
from nanogenie.models.cell_net import with_places
from nanogenie.models.inverse import InverseModel

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from colour_focus_trial import clips, codes_of, focused_heads, starts  # noqa: E402


def leak_input(c: torch.Tensor) -> torch.Tensor:
    return with_places(torch.cat((c[:, 0], c[:, 1]), dim=1))  # x_t-1, x_t of (N, 3, 3, H, W) clips


def trial(data_path: str, random_path: str, steps: int, specs: list[str], leak_steps: int = 400) -> None:
    data, rnd = load_dataset(data_path), load_dataset(random_path)
    first = starts(data)
    cut = int(len(first) * 0.9)
    train = first[:cut]
    val = clips(data, np.random.default_rng(0).choice(first[cut + 10:], 1024, replace=False))
    labelled = clips(data, np.random.default_rng(3).choice(train, 4096, replace=False))
    random_first = np.random.default_rng(1).choice(starts(rnd), 2000, replace=False)
    random_clips, truth = clips(rnd, random_first), rnd.actions[random_first + 1]
    for spec in specs:
        began = time.time()
        rng = np.random.default_rng(2)  # the heads' batches, then the leak's
        lam = focused_heads(data, train, spec, steps, rng)
        with torch.no_grad():
            history, target = lam._histories(val)
            scored = lam._scored(history[:, 1], target[:, 1])
            errors, passive = scored["errors"], scored["passive"]  # (N, A), (N,)
            val_codes = errors.argmin(1)
            train_codes = codes_of(lam, labelled)
            random_codes = codes_of(lam, random_clips).numpy()
        shares = torch.bincount(train_codes, minlength=lam.num_actions).float() / len(train_codes)
        entropy = -(shares[shares > 0] * shares[shares > 0].log()).sum().item()
        torch.manual_seed(0)
        leak = InverseModel(lam.num_actions, channels=8)
        leak_opt = torch.optim.AdamW(leak.parameters(), lr=1e-3)
        for step in range(leak_steps):
            pick = torch.from_numpy(rng.choice(len(labelled), 32))
            loss = F.cross_entropy(leak(leak_input(labelled[pick])), train_codes[pick])
            leak_opt.zero_grad()
            loss.backward()
            leak_opt.step()
        with torch.no_grad():
            logits = torch.cat([leak(leak_input(part)) for part in val.split(256)])
        ce = F.cross_entropy(logits, val_codes).item()
        guessed = logits.argmax(1)
        best = errors.gather(1, val_codes[:, None])[:, 0]
        surprise = ((errors.gather(1, guessed[:, None])[:, 0] - best).mean() / passive.mean()).item()
        print(f"{spec:>14} explained {1 - best.mean().item() / passive.mean().item():.3f} entropy {entropy:.3f} "
              f"leak ce {ce:.3f} acc {(guessed == val_codes).float().mean().item():.3f} "
              f"unpredicted {ce / max(entropy, 1e-6):.3f} surprise {surprise:.3f} "
              f"shares {' '.join(f'{s:.2f}' for s in shares.tolist())} "
              f"probe {probe_accuracy(truth, random_codes):.3f} ({time.time() - began:.0f} s)", flush=True)


if __name__ == "__main__":
    torch.set_num_threads(1)
    trial(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:])
