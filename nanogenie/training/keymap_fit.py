"""Fit a keymap from data with true actions: which latent code does each true control produce?

For every true action, the latent code the LAM infers most often for it (a majority vote over
held-out transitions) becomes that control's binding; the idle/noop action's code becomes `idle`. Two
single controls never share a code: a key that does what another key (or no key) does is a dead key,
and a LAM whose codes mix a control with idle would otherwise give it idle's code.
"""

from __future__ import annotations

import numpy as np

# True action name -> the pygame key chords that play it (data, not logic); the first is the main one.
ACTION_KEYS: dict[str, tuple[str, ...]] = {
    "left": ("left",),
    "right": ("right",),
    "jump": ("space", "up"),
    "left+jump": ("left+space", "left+up"),
    "right+jump": ("right+space", "right+up"),
    "down": ("down", "s"),
    "up": ("up", "w"),
}
IDLE_NAMES = ("idle", "noop", "none")


def fitted_codes(true_actions: np.ndarray, latent_actions: np.ndarray, action_names: list[str],
                 num_actions: int) -> dict[str, int]:
    """For each true action name seen at least once, the latent code its key sends.

    Single controls (idle, left, jump...) get different codes while there are enough: pairs go in order
    of P(code | control), most telling first, each to a control and a code still free. A combined
    control (a name with "+", e.g. right+jump) keeps its most frequent code even when a single control
    has it too: pressing two keys may well do what one of them does.
    """
    true_actions = np.asarray(true_actions).reshape(-1)
    latent_actions = np.asarray(latent_actions).reshape(-1)
    known = (true_actions >= 0) & (true_actions < len(action_names))  # -1: unknown actions and episode ends
    counts = np.zeros((len(action_names), num_actions), np.int64)  # (actions, codes)
    np.add.at(counts, (true_actions[known], latent_actions[known]), 1)
    seen = [i for i in range(len(action_names)) if counts[i].sum() > 0]
    codes = {i: int(np.argmax(counts[i])) for i in seen}  # the majority vote; ties go to the smaller code
    singles = [i for i in seen if "+" not in action_names[i]]
    if len(singles) <= num_actions:
        share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)  # P(code | control)
        pairs = sorted(((share[i, c], i, c) for i in singles for c in range(num_actions)),
                       key=lambda p: (-p[0], p[1], p[2]))
        taken: set[int] = set()
        chosen: dict[int, int] = {}
        for _, i, c in pairs:
            if i not in chosen and c not in taken:
                chosen[i] = c
                taken.add(c)
        codes.update(chosen)
    return {action_names[i]: codes[i] for i in seen}


def keymap_toml(codes: dict[str, int], num_actions: int) -> str | None:
    """The keymap.toml text for fitted codes, or None when no true action has a key.

    A chord is bound once: the first action (in data order) that claims it keeps it, so sonic's jump
    takes "up" while pong's own "up" action keeps it there.
    """
    lines, bound = [], set()
    for name, code in codes.items():
        for chord in ACTION_KEYS.get(name, ()):
            if chord not in bound:
                bound.add(chord)
                key = f'"{chord}"' if "+" in chord else chord
                lines.append(f"{key} = {code}  # {name}")
    if not lines:
        return None
    idle = next((codes[n] for n in IDLE_NAMES if n in codes), None)
    if idle is None:  # no idle control in the data: a code no control uses, else 0
        idle = next((c for c in range(num_actions) if c not in codes.values()), 0)
    header = ("# Fitted by `nanogenie train`: each true control is bound to the latent action the\n"
              "# model inferred most often for it on held-out data (no two single controls share one).\n")
    return header + f"idle = {idle}\n\n[bindings]\n" + "\n".join(lines) + "\n"
