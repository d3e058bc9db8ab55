"""python dungeon_codes.py RUN_FOLDER [--frames 4000]: what a dungeon LAM's codes encode, the hero's move
or the monsters' moves.

Rolls out fresh dungeon episodes exactly as eval's fresh_episodes does (seed config.train.seed + 1000003,
a fresh uniformly random action every frame, back-to-back episodes), recording from the env's state
(hero_x/hero_y, monster_pos (n, 2) x,y) each step's hero and monster displacement. The LAM labels every
transition through held_out_action_pairs (the eval call path), and its codes are scored against:
the true action, the hero's actual move (5 classes: none/up/down/left/right, a blocked move = none), each
monster's move, and the move of the monster nearest the hero (at x_t). Monsters wander from their own
random stream, independent of the actions, so any information the codes share with a monster's move
beyond the shuffled-code reference is the LAM reading that monster.

Columns: NMI (nanogenie.metrics), MI in bits, I(code; Y | hero move) in bits (what the code knows about Y
beyond the hero's move), probe (nanogenie.metrics.probe_accuracy: map fit on the first half, scored on
the second, as eval does), probe_in (each code -> its most frequent class, in-sample), majority (always
guessing the most common class). (e) is the hero's phase in the LAM's 4-unit cell grid, a finding of
this tool's first run: the codes split each hero direction by it.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

from nanogenie.data import VideoData
from nanogenie.data.pixels import to_model
from nanogenie.envs.registry import make_env
from nanogenie.envs.rollout import rollout
from nanogenie.eval.evaluate import held_out_action_pairs
from nanogenie.eval.held_out import EVAL_SEED_OFFSET, fresh_episodes
from nanogenie.eval.lam_bench import load_lam
from nanogenie.metrics import normalized_mutual_information, probe_accuracy
from nanogenie.training.stages import sequences

DIRS = ["none", "up", "down", "left", "right"]  # = dungeon action indices IDLE, UP, DOWN, LEFT, RIGHT
MAX_MONSTERS = 4


def direction(d: np.ndarray) -> np.ndarray:
    """(..., 2) displacements (dx, dy), y down -> (...) class in DIRS; moves are axis-aligned."""
    dx, dy = d[..., 0], d[..., 1]
    return np.select([dy < 0, dy > 0, dx < 0, dx > 0], [1, 2, 3, 4], 0)


def rollout_with_state(frames: int, size: int, seed: int):
    """nanogenie.envs.rollout.rollout(policy="random"), plus the env's positions at every frame.

    Returns frames (N, H, W, 3), actions (N,) (-1 at each episode's last frame), episode_ends (E,),
    hero (N, 2) x,y, monsters (N, 4, 2) x,y (NaN for a monster the episode lacks); positions are
    world units at frame i, so frame i's displacement is pos[i+1] - pos[i] within an episode.
    """
    hero, monsters = [], []

    def record(env) -> None:
        hero.append((env.hero_x, env.hero_y))
        found = np.full((MAX_MONSTERS, 2), np.nan)
        found[:len(env.monster_pos)] = env.monster_pos  # copied: _move_monsters edits it in place
        monsters.append(found)

    out, actions, ends = rollout("dungeon", frames, size, seed, policy="random", observe=record)
    return out, actions, ends, np.asarray(hero, np.float64), np.stack(monsters)


def entropy_bits(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum())


def mutual_bits(a: np.ndarray, b: np.ndarray) -> float:
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    joint = np.zeros((ai.max() + 1, bi.max() + 1))
    np.add.at(joint, (ai, bi), 1)
    return entropy_bits(joint.sum(1)) + entropy_bits(joint.sum(0)) - entropy_bits(joint.ravel())


def conditional_bits(code: np.ndarray, y: np.ndarray, given: np.ndarray) -> float:
    """I(code; y | given) in bits (plug-in)."""
    total = 0.0
    for g in np.unique(given):
        m = given == g
        total += m.mean() * mutual_bits(code[m], y[m])
    return total


def probe_in_sample(truth: np.ndarray, codes: np.ndarray) -> float:
    return float(sum(np.bincount(truth[codes == c]).max() for c in np.unique(codes)) / len(truth))


def row(name: str, y: np.ndarray, codes: np.ndarray, hero_dir: np.ndarray) -> str:
    ok = y >= 0
    y, c, h = y[ok], codes[ok], hero_dir[ok]
    return (f"{name:<24} {ok.sum():5d} {normalized_mutual_information(y, c):6.3f} {mutual_bits(y, c):6.3f} "
            f"{conditional_bits(c, y, h):8.3f} {probe_accuracy(y, c):6.3f} {probe_in_sample(y, c):8.3f} "
            f"{np.bincount(y).max() / len(y):8.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run")
    parser.add_argument("--frames", type=int, default=4000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    began = time.perf_counter()

    lam, config = load_lam(args.run)
    if config.train.frame_skip != 1:
        sys.exit(f"frame_skip {config.train.frame_skip}: this tool assumes transitions x_t -> x_t+1 (frame_skip 1)")
    size, seed = config.tokenizer.image_size, config.train.seed + EVAL_SEED_OFFSET
    frames, actions, ends, hero, monsters = rollout_with_state(args.frames, size, seed)
    sim = make_env("dungeon", size)
    data = VideoData(frames, actions, ends, fps=sim.fps, action_names=list(sim.action_names))
    t_roll = time.perf_counter() - began

    # Codes through eval's call path; the transition indices t rebuilt the way it builds them.
    spans = data.episodes()
    truth, codes = held_out_action_pairs(lam, data, spans, config, "cpu")
    index = np.concatenate([s[:-1] for s in sequences(spans, config.train.frame_skip, 2)])
    t_index = index[actions[index] >= 0]
    t_infer = time.perf_counter() - began - t_roll

    # --- alignment checks
    print(f"# {args.run}: {len(frames)} fresh dungeon frames, seed {seed}, {len(ends)} episodes; "
          f"{len(t_index)} transitions; LAM history_frames {lam.cfg.history_frames}, {lam.num_actions} codes")
    assert len(t_index) == len(codes) and np.array_equal(actions[t_index], truth), "transition index misaligned"
    reference = fresh_episodes("dungeon", config, args.frames) if args.frames else None
    same_frames = np.array_equal(reference.frames, frames) and np.array_equal(reference.actions, actions)
    print(f"frames and actions identical to eval's fresh_episodes: {same_frames}")
    # an independent path: each sampled transition's own (history, x_t, x_t+1) clip through lam.infer_actions
    extra = lam.cfg.history_frames - 1
    episode_start = np.repeat([s for s, _ in spans], np.diff([0, *ends.tolist()]))
    sample = np.arange(0, len(t_index), 8)
    direct = []
    with torch.no_grad():
        for k in sample:
            t = t_index[k]
            first = max(episode_start[t], t - extra)
            clip = to_model(frames[first:t + 2])[None]
            direct.append(int(lam.infer_actions(clip)[0, -1]))
    agree = float((np.array(direct) == codes[sample]).mean())
    hero_dir = direction(hero[t_index + 1] - hero[t_index])
    act = actions[t_index].astype(np.int64)
    print(f"codes equal to a per-transition lam.infer_actions on {len(sample)} sampled transitions: {agree:.4f}")
    print(f"probe (true action): held_out_action_pairs {probe_accuracy(truth, codes):.4f}, "
          f"this tool's aligned arrays {probe_accuracy(act, codes):.4f}")
    shifted = [f"{s:+d}: {normalized_mutual_information(hero_dir[max(0, s):len(hero_dir) + min(0, s)], codes[max(0, -s):len(codes) - max(0, s)]):.3f}"
               for s in (-1, 0, 1)]
    print(f"NMI(code_t, hero move_t+shift), should peak at 0 (shift ignores episode edges): {', '.join(shifted)}")
    blocked = (act != 0) & (hero_dir == 0)
    print(f"hero: action != idle but blocked on {blocked.mean():.3f} of transitions; "
          f"hero move == action on {(hero_dir == act).mean():.3f}")

    # --- targets
    m_disp = monsters[t_index + 1] - monsters[t_index]  # (N, 4, 2), NaN where absent
    present = ~np.isnan(m_disp[..., 0])
    m_dir = np.where(present, direction(np.nan_to_num(m_disp)), -1)  # (N, 4)
    dist = np.linalg.norm(monsters[t_index] - hero[t_index][:, None], axis=2)  # at x_t
    nearest = np.nanargmin(dist, axis=1)
    near_dir = m_dir[np.arange(len(t_index)), nearest]
    near_dist = dist[np.arange(len(t_index)), nearest]
    any_monster_moved = (m_dir > 0).sum(1)
    close = near_dist <= 8
    # the hero's phase in the LAM's 4-unit cell grid at x_t (positions step by 2: phase 0 or 2 per axis)
    phase = ((hero[t_index, 0] % 4) // 2 * 2 + (hero[t_index, 1] % 4) // 2).astype(np.int64)  # 0..3 = (x%4/2, y%4/2)
    along = np.where(np.isin(hero_dir, (1, 2)), hero[t_index, 1] % 4, hero[t_index, 0] % 4).astype(np.int64) // 2
    move_phase = np.where(hero_dir > 0, 1 + (hero_dir - 1) * 2 + along, 0)  # none, up@0, up@2, down@0, ...
    targets = [("(a) true action", act),
               ("(b) hero move", hero_dir),
               *[(f"(c) monster {j} move", m_dir[:, j]) for j in range(MAX_MONSTERS)],
               ("(d) nearest monster move", near_dir),
               ("    nearest, dist<=8 units", np.where(close, near_dir, -1)),
               ("    nearest, dist>8 units", np.where(~close, near_dir, -1)),
               ("    monsters moving (0-4)", any_monster_moved),
               ("    hero move x nearest", np.where(near_dir >= 0, hero_dir * 5 + near_dir, -1)),
               *[(f"    monster {j}, hero still", np.where(hero_dir == 0, m_dir[:, j], -1)) for j in range(MAX_MONSTERS)],
               ("    nearest, hero still", np.where(hero_dir == 0, near_dir, -1)),
               ("(e) hero cell phase", phase),
               ("    hero move x phase", move_phase)]
    shuffled = np.random.default_rng(0).permutation(codes)
    head = (f"{'target':<24} {'n':>5} {'NMI':>6} {'MI_b':>6} {'MI|hero':>8} {'probe':>6} {'probe_in':>8} "
            f"{'majority':>8}")
    for label, c in (("LAM codes", codes), ("shuffled codes (chance reference)", shuffled)):
        print(f"\n## {label}\n{head}")
        for name, y in targets:
            print(row(name, y, c, hero_dir))
        joint = c * 4 + phase  # (code, cell phase at x_t): the phase is visible in x_t
        print(f"{'hero move from (code, phase)':<24} {len(c):5d} {'':6} {mutual_bits(hero_dir, joint):6.3f} {'':8} "
              f"{probe_accuracy(hero_dir, joint):6.3f} {probe_in_sample(hero_dir, joint):8.3f}")
        print(f"{'action from (code, phase)':<24} {len(c):5d} {'':6} {mutual_bits(act, joint):6.3f} {'':8} "
              f"{probe_accuracy(act, joint):6.3f} {probe_in_sample(act, joint):8.3f}")
    # chance spread of the monster MI: 200 shuffles
    perm_rng = np.random.default_rng(1)
    print("\n## MI above chance (bits): LAM MI vs 200 shuffled-code MIs (mean, 99th percentile, z)")
    for name, y in [t for t in targets if t[0].startswith(('(c)', '(d)', '(e)', '    n', '    m'))]:
        ok = y >= 0
        null = np.array([mutual_bits(y[ok], perm_rng.permutation(codes[ok])) for _ in range(200)])
        mi = mutual_bits(y[ok], codes[ok])
        print(f"{name:<28} {mi:6.3f}  null {null.mean():6.3f} p99 {np.percentile(null, 99):6.3f}  "
              f"z {(mi - null.mean()) / null.std():6.1f}  excess {mi - null.mean():6.3f}")
    h = lambda y: entropy_bits(np.bincount(y))
    print(f"entropies (bits): code {h(codes):.3f}, true action {h(act):.3f}, hero move {h(hero_dir):.3f}, "
          f"hero move x phase {h(move_phase):.3f}; code shares the hero move's {mutual_bits(hero_dir, codes):.3f} "
          f"= {mutual_bits(hero_dir, codes) / h(hero_dir):.0%} of it")

    # --- per code
    print(f"\n## per code (monster 0 = index 0 of env.monster_pos; present in every episode)\n"
          f"{'code':>4} {'share':>6} {'hero_moved':>10} {'top hero move':>16} {'top action':>16} "
          f"{'top monster-0 move':>19} {'top nearest move':>17}")
    for c in range(lam.num_actions):
        m = codes == c
        if not m.any():
            print(f"{c:4d} {0:6.3f}")
            continue

        def top(y: np.ndarray) -> str:
            y = y[m & (y >= 0)]
            counts = np.bincount(y, minlength=5)
            return f"{DIRS[counts.argmax()]} {counts.max() / counts.sum():.2f}"
        print(f"{c:4d} {m.mean():6.3f} {(hero_dir[m] > 0).mean():10.3f} {top(hero_dir):>16} {top(act):>16} "
              f"{top(m_dir[:, 0]):>19} {top(near_dir):>17}")
    print("\n(top action uses DIRS names for the action indices: none=idle)")
    names = ["none"] + [f"{d}@{p}" for d in DIRS[1:] for p in (0, 2)]
    print("\n## code x hero move @ its phase along the move axis at x_t (position mod 4 units: 0 or 2)\n"
          "code " + " ".join(f"{n:>7}" for n in names))
    table = np.zeros((lam.num_actions, 9), np.int64)
    np.add.at(table, (codes, move_phase), 1)
    for c in range(lam.num_actions):
        print(f"{c:4d} " + " ".join(f"{v:7d}" for v in table[c]))
    print(f"time: rollout {t_roll:.1f}s, LAM codes {t_infer:.1f}s, total {time.perf_counter() - began:.1f}s")


if __name__ == "__main__":
    main()
