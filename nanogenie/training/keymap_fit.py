"""Fit a keymap from data with true actions: which latent codes does each true control produce?

For every true action, the latent code the LAM infers most often for it (a majority vote over
held-out transitions) becomes that control's binding; the idle/noop action's code becomes `idle`. Two
single controls never share a code: a key that does what another key (or no key) does is a dead key,
and a LAM whose codes mix a control with idle would otherwise give it idle's code.

A LAM with more codes than the game has controls splits a control by something else that moves (pong's
idle by where the ball is heading), so a single control also owns every other code it is the majority
of. Play then plays whichever of them the world is in (keymap.py), not always the first.
"""

from __future__ import annotations

import numpy as np

from nanogenie.play.keymap import as_codes, codes_value

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


def owned_codes(true_actions: np.ndarray, latent_actions: np.ndarray, action_names: list[str],
                num_actions: int) -> dict[str, tuple[int, ...]]:
    """For each true action name seen at least once, every latent code its key owns: its fitted code first
    (fitted_codes), then for a single control the codes no control has first whose majority it is, the one it
    produces most often first."""
    first = fitted_codes(true_actions, latent_actions, action_names, num_actions)
    counts = _counts(true_actions, latent_actions, len(action_names), num_actions)
    singles = [i for i in range(len(action_names)) if "+" not in action_names[i] and action_names[i] in first]
    owned = {name: [code] for name, code in first.items()}
    spare = [c for c in range(num_actions) if c not in first.values() and counts[singles, c].sum() > 0]
    for c in spare:
        owner = max(singles, key=lambda i: (counts[i, c], -i))  # ties go to the earlier control
        owned[action_names[owner]].append(c)
    row = {name: counts[action_names.index(name)] for name in owned}
    return {name: (codes[0], *sorted(codes[1:], key=lambda c: (-row[name][c], c))) for name, codes in owned.items()}


def _counts(true_actions: np.ndarray, latent_actions: np.ndarray, controls: int, num_actions: int) -> np.ndarray:
    """(controls, codes) how often each true control was read as each code; unknown actions (-1) left out."""
    true_actions = np.asarray(true_actions).reshape(-1)
    latent_actions = np.asarray(latent_actions).reshape(-1)
    known = (true_actions >= 0) & (true_actions < controls)  # -1: unknown actions and episode ends
    counts = np.zeros((controls, num_actions), np.int64)
    np.add.at(counts, (true_actions[known], latent_actions[known]), 1)
    return counts


def fitted_codes(true_actions: np.ndarray, latent_actions: np.ndarray, action_names: list[str],
                 num_actions: int) -> dict[str, int]:
    """For each true action name seen at least once, the latent code its key sends.

    Single controls (idle, left, jump...) get different codes while there are enough: pairs go in order
    of P(code | control), most telling first, each to a control and a code still free. A combined
    control (a name with "+", e.g. right+jump) keeps its most frequent code even when a single control
    has it too: pressing two keys may well do what one of them does.
    """
    counts = _counts(true_actions, latent_actions, len(action_names), num_actions)  # (actions, codes)
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


def keymap_toml(codes: dict[str, int | tuple[int, ...]], num_actions: int) -> str | None:
    """The keymap.toml text for fitted codes (one per control, or every code it owns), or None when no true
    action has a key.

    A chord is bound once: the first action (in data order) that claims it keeps it, so sonic's jump
    takes "up" while pong's own "up" action keeps it there.
    """
    owned = {name: as_codes(c) for name, c in codes.items()}
    lines, bound = [], set()
    for name, held in owned.items():
        for chord in ACTION_KEYS.get(name, ()):
            if chord not in bound:
                bound.add(chord)
                key = f'"{chord}"' if "+" in chord else chord
                lines.append(f"{key} = {codes_value(held)}  # {name}")
    if not lines:
        return None
    idle = next((owned[n] for n in IDLE_NAMES if n in owned), None)
    if idle is None:  # no idle control in the data: a code no control uses, else 0
        used = {c for held in owned.values() for c in held}
        idle = (next((c for c in range(num_actions) if c not in used), 0),)
    header = ("# Fitted by `nanogenie train`: each true control is bound to the latent action the model\n"
              "# inferred most often for it on held-out data (no two single controls share one), then\n"
              "# to the other actions it is most often read as, which play when the world shows them.\n")
    return header + f"idle = {codes_value(idle)}\n\n[bindings]\n" + "\n".join(lines) + "\n"

