"""Fit a keymap from data with true actions: which latent code does each true control produce?

For every true action, the latent code the LAM infers most often for it (a majority vote over
held-out transitions) becomes that control's binding; the idle/noop action's code becomes `idle`.
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


def majority_codes(true_actions: np.ndarray, latent_actions: np.ndarray, action_names: list[str]
                   ) -> dict[str, int]:
    """For each true action name seen at least once, the latent code most often inferred for it."""
    true_actions = np.asarray(true_actions).reshape(-1)
    latent_actions = np.asarray(latent_actions).reshape(-1)
    known = true_actions >= 0  # -1 marks unknown actions and episode ends
    codes: dict[str, int] = {}
    for index, name in enumerate(action_names):
        inferred = latent_actions[known & (true_actions == index)]
        if inferred.size:
            values, counts = np.unique(inferred, return_counts=True)
            codes[name] = int(values[np.argmax(counts)])  # ties go to the smaller code
    return codes


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
              "# model inferred most often for it on held-out data.\n")
    return header + f"idle = {idle}\n\n[bindings]\n" + "\n".join(lines) + "\n"
