import numpy as np

from nanogenie.play.keymap import load_keymap
from nanogenie.play.propose import collect_futures, propose_keymap

BACKGROUND = np.kron(np.random.default_rng(0).integers(0, 2, (16, 16, 1)) * 50 + 20,
                     np.ones((2, 2, 3))).astype(np.uint8)  # (32, 32, 3): a still texture of 2 px blocks
MOVES = {0: (0, 0), 1: (-2, 0), 2: (2, 0), 3: (0, -2)}  # code -> the square's (dx, dy) per frame


class SquareWorld:
    """A 32 px world: a grey square on a textured background; codes 0-3 move it by MOVES, code 4 (if any)
    flashes the square white without moving it; every other code does nothing."""

    def __init__(self, num_actions: int = 4, scroll: bool = False):
        self.num_actions, self.scroll = num_actions, scroll
        self.reset()

    def reset(self) -> np.ndarray:
        self.x, self.y, self.flash = 14, 14, False
        return self._frame(self.x, self.y, self.flash)

    def _move(self, state, code):
        x, y, _ = state
        dx, dy = MOVES.get(code, (0, 0))
        return min(max(x + dx, 6), 22), min(max(y + dy, 6), 22), code == 4

    def step(self, action: int) -> np.ndarray:
        self.x, self.y, self.flash = self._move((self.x, self.y, self.flash), action)
        return self._frame(self.x, self.y, self.flash)

    def explore(self, frames: int = 4) -> np.ndarray:
        out = np.zeros((self.num_actions, frames, 32, 32, 3), np.uint8)
        for code in range(self.num_actions):
            state = (self.x, self.y, self.flash)
            for t in range(frames):
                state = self._move(state, code)
                out[code, t] = self._frame(*state)
        return out

    def _frame(self, x: int, y: int, flash: bool) -> np.ndarray:
        frame = BACKGROUND.copy()
        frame[y - 3:y + 3, x - 3:x + 3] = 255 if flash else 160
        if self.scroll:  # the camera follows the square: the floor moves, the square stays in the middle
            frame = np.roll(frame, (16 - y, 16 - x), axis=(0, 1))
        return frame


def test_the_proposal_binds_each_arrow_to_the_code_that_moves_the_thing_that_way(tmp_path):
    proposal = propose_keymap(SquareWorld(), starts=3, frames=4)
    assert proposal.idle == 0
    assert proposal.bindings == {"left": 1, "right": 2, "up": 3}  # down stays unbound: no code moves down
    effect = proposal.effects[1]
    assert effect.dx < -1 and abs(effect.dy) < 0.5 and effect.key == "left"
    path = tmp_path / "keymap.toml"
    path.write_text(proposal.toml())
    keymap = load_keymap(path, 4)  # the normal loader reads what it writes
    assert keymap.idle == 0 and {b.chord: b.action for b in keymap.bindings} == {"left": 1, "right": 2, "up": 3}
    assert len(proposal.report()) == 4 and "left" in proposal.report()[1]


def test_space_goes_to_the_strongest_code_left_and_still_codes_stay_on_digits():
    proposal = propose_keymap(SquareWorld(num_actions=6), starts=2, frames=3)
    assert proposal.bindings["space"] == 4  # the flash changes the picture most among the codes left
    assert proposal.effects[5].key == ""  # code 5 does what idle does: digit key only
    assert proposal.idle in (0, 5)


def test_a_scrolling_camera_reads_as_the_player_moving_the_other_way():
    proposal = propose_keymap(SquareWorld(scroll=True), starts=2, frames=4)
    assert proposal.bindings.get("left") == 1 and proposal.bindings.get("right") == 2


def test_the_proposal_is_deterministic_and_leaves_the_engine_reset():
    world = SquareWorld()
    first = collect_futures(world, starts=3, frames=2, seed=5)
    assert (world.x, world.y) == (14, 14)
    assert np.array_equal(first, collect_futures(world, starts=3, frames=2, seed=5))


def test_agreement_counts_the_keys_a_keymap_binds_that_the_proposal_binds_alike():
    from nanogenie.play.keymap import parse_keymap
    from nanogenie.play.propose import agreement

    proposal = propose_keymap(SquareWorld(), starts=2, frames=3)
    fitted = parse_keymap("idle = 0\n[bindings]\nleft = 1\nright = 3\ndown = 2\nw = 3\n", 4)
    agree, total, lines = agreement(proposal, fitted)
    assert (agree, total) == (2, 4) and "right: proposed 2, keymap 3" in lines and "down: proposed -, keymap 2" in lines
