import numpy as np
import pygame

from nanogenie.play.keymap import load_keymap
from nanogenie.play.propose import (CodeEffect, Proposal, collect_futures, propose_from_motion, propose_from_video,
                                    propose_keymap, steadiest_idle_first, with_similar_codes)

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

    def explore(self, frames: int = 4, actions: list[int] | None = None) -> np.ndarray:
        actions = list(range(self.num_actions)) if actions is None else actions
        out = np.zeros((len(actions), frames, 32, 32, 3), np.uint8)
        for row, code in enumerate(actions):
            state = (self.x, self.y, self.flash)
            for t in range(frames):
                state = self._move(state, code)
                out[row, t] = self._frame(*state)
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


def test_space_goes_to_the_strongest_code_left_and_a_code_that_does_what_idle_does_is_idle_too():
    proposal = propose_keymap(SquareWorld(num_actions=6), starts=2, frames=3)
    assert proposal.bindings["space"] == 4  # the flash changes the picture most among the codes left
    assert sorted(proposal.owned("idle")) == [0, 5] and proposal.effects[5].key == "idle"  # they roll alike


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


def _hero_and_monster_video(rng: np.random.Generator, steps: dict, transitions: int) -> tuple[list, list, list]:
    """Frames before and after (each a list of (48, 48, 3)) and codes of `transitions` random moves of a hero,
    beside a larger monster that steps like a hero would."""
    background = np.kron(rng.integers(0, 2, (24, 24, 1)) * 50 + 20, np.ones((2, 2, 3))).astype(np.uint8)
    prev, cur, codes = [], [], []
    for _ in range(transitions):
        code, wander = int(rng.integers(5)), steps[int(rng.integers(5))]
        hero, monster = rng.integers(8, 16, 2), rng.integers(8, 36, 2) + (24, 0)  # hero left, monster right
        for out, t in ((prev, 0), (cur, 1)):
            frame = background.copy()
            (hx, hy), (mx, my) = hero + t * np.asarray(steps[code]), monster + t * np.asarray(wander)
            frame[hy:hy + 6, hx:hx + 6] = 160
            frame[my:my + 8, mx:mx + 8] = 230  # larger than the hero: it changes more pixels
            out.append(frame)
        codes.append(code)
    return prev, cur, codes


def test_a_code_seen_on_a_single_transition_of_the_video_gets_no_key():
    rng = np.random.default_rng(0)
    steps = {0: (0, 0), 1: (-2, 0), 2: (2, 0), 3: (0, -2), 4: (0, 2)}
    prev, cur, codes = _hero_and_monster_video(rng, steps, 300)
    cut = np.roll(prev[0], (-4, 1), axis=(0, 1))  # one cut: everything jumps 4 px up, a farther move than code 3's
    prev, cur, codes = prev + [prev[0]], cur + [cut], codes + [5]
    proposal = propose_from_video(np.stack(prev), np.stack(cur), np.asarray(codes), 6)
    assert proposal.bindings == {"left": 1, "right": 2, "up": 3, "down": 4} and proposal.idle == 0
    assert proposal.effects[5].key == ""


def test_keys_from_a_video_are_what_each_codes_frames_show_moving_beside_a_thing_that_moves_on_its_own():
    rng = np.random.default_rng(0)
    steps = {0: (0, 0), 1: (-2, 0), 2: (2, 0), 3: (0, -2), 4: (0, 2)}  # code -> the hero's (dx, dy)
    prev, cur, codes = _hero_and_monster_video(rng, steps, 300)
    proposal = propose_from_video(np.stack(prev), np.stack(cur), np.asarray(codes), 5)
    assert proposal.idle == 0
    assert proposal.bindings == {"left": 1, "right": 2, "up": 3, "down": 4}
    assert [(e.dx, e.dy) for e in proposal.effects] == [steps[c] for c in range(5)]


def test_keys_from_a_scrolling_video_read_the_hero_the_camera_follows_as_moving_against_the_ground():
    rng = np.random.default_rng(1)
    steps = {0: (0, 0), 1: (-2, 0), 2: (2, 0), 3: (0, -2), 4: (0, 2)}  # code -> the hero's (dx, dy) in the world
    ground = np.kron(rng.integers(0, 2, (5, 24, 1)) * 50 + 20, np.ones((2, 2, 3))).astype(np.uint8)  # (10, 48)
    level = np.concatenate([np.full((38, 48, 3), 90, np.uint8), ground])  # a plain sky over the ground
    prev, cur, codes = [], [], []
    for _ in range(200):
        code = int(rng.integers(5))
        x, y = rng.integers(0, 48, 2)
        for out, t in ((prev, 0), (cur, 1)):  # the camera keeps the hero in the middle: the level moves instead
            sx, sy = x + t * steps[code][0], y + t * steps[code][1]
            frame = np.roll(level, (-sy, -sx), axis=(0, 1))
            frame[21:27, 21:27] = 200
            out.append(frame)
        codes.append(code)
    prev, cur = np.stack(prev), np.stack(cur)
    changed = (np.abs(cur.astype(int) - prev).sum(-1) > 25).mean(axis=(1, 2))
    assert changed.max() < 0.2  # the plain sky keeps most of the picture the same while the level scrolls
    proposal = propose_from_video(prev, cur, np.asarray(codes), 5)
    assert proposal.bindings == {"left": 1, "right": 2, "up": 3, "down": 4} and proposal.idle == 0


def test_two_codes_with_the_same_move_give_the_arrow_to_the_stronger():
    motion = np.array([[0, 0], [0, 2], [0, 2]], np.float32)  # codes 1 and 2 both move the thing down 2 px
    proposal = propose_from_motion(motion, np.array([0.01, 0.02, 0.05], np.float32), 64)
    assert proposal.idle == 0 and proposal.bindings["down"] == 2 and proposal.bindings["space"] == 1


def test_an_arrow_from_a_video_goes_to_the_commonest_code_that_moves_its_way():
    motion = np.array([[0, 0], [-1, 0], [-3, 0]], np.float32)  # codes 1 and 2 both move the thing left
    strength = np.array([0.01, 0.02, 0.03], np.float32)
    assert propose_from_motion(motion, strength, 64).bindings["left"] == 2  # rollouts: the farther move
    video = propose_from_motion(motion, strength, 64, share=np.array([0.3, 0.68, 0.02]))
    assert video.bindings["left"] == 1  # a rare code's longer move is an event, not the key


def test_keys_read_near_the_players_colour_follow_the_player_not_a_larger_thing_that_moves_with_the_codes():
    rng = np.random.default_rng(2)
    player, steps = (170, 255, 90), {0: (0, 0), 1: (-2, 0), 2: (2, 0), 3: (0, -2), 4: (0, 2)}
    across = {0: (0, 0), 1: (0, 2), 2: (0, -2), 3: (2, 0), 4: (-2, 0)}  # the other thing's step with each code
    texture = rng.integers(120, 250, (8, 8, 1)).repeat(3, axis=2).astype(np.uint8)
    floor = np.kron(rng.integers(0, 2, (24, 24, 1)) * 50 + 20, np.ones((2, 2, 3))).astype(np.uint8)  # a still camera
    prev, cur, codes = [], [], []
    for _ in range(300):
        code = int(rng.integers(5))
        hero, other = rng.integers(8, 16, 2), np.array([rng.integers(26, 38), rng.integers(8, 36)])  # player left
        for out, t in ((prev, 0), (cur, 1)):
            frame = floor.copy()
            (hx, hy), (ox, oy) = hero + t * np.asarray(steps[code]), other + t * np.asarray(across[code])
            frame[oy:oy + 8, ox:ox + 8] = texture  # larger than the player, and every pixel of it says how it moved
            frame[hy:hy + 3, hx:hx + 3] = player
            out.append(frame)
        codes.append(code)
    prev, cur, codes = np.stack(prev), np.stack(cur), np.asarray(codes)
    players_keys = {"left": 1, "right": 2, "up": 3, "down": 4}
    assert propose_from_video(prev, cur, codes, 5).bindings != players_keys  # the larger thing takes some keys
    focused = propose_from_video(prev, cur, codes, 5, focus=list(player))
    assert focused.bindings == players_keys and focused.idle == 0


def _futures_of(groups: list[list[int]], spread: float, within: float, seed: int = 0) -> np.ndarray:
    """(S, A, T, H, W, 3) futures in which the codes of a group roll alike (they differ by `within`) and groups
    differ by `spread`: what a LAM that splits each key by something else that moves gives."""
    rng = np.random.default_rng(seed)
    codes = sum(len(g) for g in groups)
    out = np.zeros((3, codes, 2, 8, 8, 3), np.float32)
    for g, group in enumerate(groups):
        base = rng.random((3, 1, 2, 8, 8, 3)) * spread + 100 * g / len(groups)
        for code in group:
            out[:, code] = (base + rng.random((3, 1, 2, 8, 8, 3)) * within)[:, 0]
    return np.clip(out, 0, 255).astype(np.uint8)


def test_a_code_that_rolls_like_a_keys_code_joins_that_key_and_space_that_does_joins_an_arrow():
    motion = np.zeros((8, 2), np.float32)
    motion[[4, 1]], motion[[6, 3]] = (0, -3), (0, 3)
    proposal = propose_from_motion(motion, np.array([0.01] * 8), 64, share=np.full(8, 0.125))
    proposal = Proposal(0, {"up": 4, "down": 6, "space": 3}, proposal.effects)  # as a video may propose pong
    futures = _futures_of([[0, 5, 7, 2], [4, 1], [6, 3]], spread=60, within=4)
    owned = with_similar_codes(proposal, futures)
    assert (owned.owned("idle"), owned.owned("up"), owned.owned("down")) == ((0, 2, 5, 7), (4, 1), (6, 3))
    assert "space" not in owned.bindings and owned.effects[3].key == "down" and owned.effects[7].key == "idle"
    keymap = owned.keymap()
    assert keymap.idle_codes == (0, 2, 5, 7) and keymap.resolve_codes({pygame.K_DOWN}) == ((6, 3), "down")


def test_codes_that_roll_unlike_every_key_stay_on_digits():
    proposal = Proposal(0, {"up": 1, "down": 2}, ())
    futures = _futures_of([[0], [1], [2], [3]], spread=60, within=4)  # code 3 is a fourth thing
    assert with_similar_codes(proposal, futures).more == {}
    assert with_similar_codes(Proposal(0, {}, ()), futures) == Proposal(0, {}, ())  # one key: nothing to measure


class DriftingWorld:
    """A still picture in which code 1 makes a square grow, frame after frame, and codes 0 and 2 leave it be: the
    three roll alike for a few frames (idle's codes), and held long, code 1 changes the scene most."""

    num_actions = 3

    def reset(self) -> np.ndarray:
        return self._frame(0)

    def step(self, action: int) -> np.ndarray:
        return self._frame(0)

    def explore(self, frames: int = 4, actions: list[int] | None = None) -> np.ndarray:
        actions = list(range(self.num_actions)) if actions is None else actions
        return np.stack([[self._frame(t + 1 if code == 1 else 0) for t in range(frames)] for code in actions])

    def _frame(self, grown: int) -> np.ndarray:
        frame = np.full((32, 32, 3), 40, np.uint8)
        frame[10:10 + min(grown, 20), 10:12] = 200
        return frame


def test_idle_plays_first_the_code_the_scene_rests_in_when_held_long():
    effects = tuple(CodeEffect(c, 0.0, 0.0, 0.0, "") for c in range(3))
    proposal = Proposal(1, {}, effects, {"idle": (0, 2)})  # the drifting code proposed first
    steady = steadiest_idle_first(proposal, DriftingWorld())
    assert steady.idle in (0, 2) and sorted(steady.owned("idle")) == [0, 1, 2] and steady.owned("idle")[-1] == 1
    assert steadiest_idle_first(Proposal(1, {}, effects), DriftingWorld()) == Proposal(1, {}, effects)  # one code
