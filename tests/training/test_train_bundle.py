"""`nanogenie train` end to end on the tiny preset: the bundle it writes, each stage alone, the config it
records, and `nanogenie eval` of what it wrote."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from nanogenie.cli import main
from nanogenie.data import write_dataset
from nanogenie.play.keymap import load_keymap
from nanogenie.training.run_folder import RunFolder
from nanogenie.world import load_world

from .train_helpers import error_line


FIGURES = {"tokenizer_psnr", "tokenizer_code_usage", "lam_code_usage", "lam_nmi", "lam_probe_accuracy",
           "action_consistency", "delta_t_psnr", "rollout_psnr", "copy_psnr", "ms_per_frame", "play_fps", "device",
           "tokenizer_moving_psnr", "rollout_moving_psnr", "control_accuracy", "control_accuracy_se", "delta_t_psnr_se"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("train") / "sonic_world"
    assert main(["train", "--world", "sonic", "--preset", "tiny", "--out", str(out), "--steps", "4",
                 "--device", "cpu"]) == 0
    return out


def test_train_writes_a_loadable_bundle_with_eval_keymap_and_plots(trained):
    world = load_world(trained)
    assert world.prompt.shape == (4, 16, 16, 3) and world.num_actions == 4
    assert world.action_names[:3] == ["idle", "left", "right"]
    figures = world.meta["eval"]
    assert FIGURES <= set(figures) and set(figures["rollout_psnr"]) == set(figures["copy_psnr"]) == {"1", "4", "16"}
    data = world.meta["data"]
    assert data["env"] == "sonic" and data["frames"] == 400 and data["splits"]["test"]
    held_out = {tuple(s) for s in data["splits"]["test"]}
    assert not held_out & {tuple(s) for s in data["splits"]["train"]}
    assert world.keymap_path == trained / "keymap.toml"
    load_keymap(world.keymap_path, world.num_actions)  # the fitted keymap is valid for the play app
    bundle_files = {p.name for p in trained.iterdir() if p.is_file()}
    assert bundle_files == {"world.json", "tokenizer.safetensors", "lam.safetensors", "dynamics.safetensors",
                            "prompt.npz", "keymap.toml"}  # checkpoints stay inside run/
    run = trained / "run"
    assert (run / "dynamics_inputs.npz").is_file()  # a resumed dynamics stage reads its tokens from there
    assert {"losses.png", "reconstructions.png", "rollout.png", "latent_actions.png"} <= {
        p.name for p in (run / "plots").iterdir()}
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert {r["stage"] for r in records} == {"tokenizer", "lam", "lam_inverse", "dynamics"}
    assert all(np.isfinite(r["loss"]) and r["step"] <= (10 if r["stage"] == "lam_inverse" else 4) for r in records)
    training = world.meta["training"]  # where and how long each stage trained
    assert training["device"] == "cpu" and {"tokenizer", "lam", "dynamics", "dynamics_precompute"} <= set(
        training["minutes"])  # and the two stages' wall minutes side by side, on a CPU with 2+ threads
    held_out = {r["stage"]: r["eval"] for r in records if "eval" in r}  # each stage's validation at checkpoints
    assert {"val_loss", "val_psnr", "val_moving_psnr"} <= set(held_out["tokenizer"]) and {"val_loss", "val_accuracy"} <= set(
        held_out["dynamics"]) and all(np.isfinite(e["val_loss"]) for e in held_out.values())
    for stage in ("tokenizer", "lam", "dynamics"):  # bundle weights = the run's final weights, stored as fp16
        bundle, final = load_file(str(trained / f"{stage}.safetensors")), load_file(str(run / f"{stage}.safetensors"))
        assert bundle.keys() == final.keys()
        for k in final:
            want = final[k].half() if final[k].is_floating_point() else final[k]
            assert torch.equal(bundle[k], want)


def test_eval_prints_every_figure_as_json(trained, tmp_path, capsys):
    out = tmp_path / "eval.json"
    assert main(["eval", "--world", str(trained), "--json", str(out), "--device", "cpu"]) == 0
    printed = json.loads(capsys.readouterr().out)  # stdout is the JSON and nothing else
    assert FIGURES <= set(printed) and printed == json.loads(out.read_text())
    assert 0 <= printed["lam_nmi"] <= 1 and 0 < printed["tokenizer_code_usage"] <= 1
    assert 0 <= printed["lam_probe_accuracy"] <= 1 and 0 <= printed["action_consistency"] <= 1
    assert 0 <= printed["control_accuracy"] <= 1  # a simulator world with a fitted keymap
    assert 0 <= printed["control_accuracy_se"] < 0.5
    assert printed["play_fps"] > 0 and printed["device"] == "cpu"


def test_eval_on_a_data_file(trained, tmp_path, capsys):
    from nanogenie.envs import rollout

    frames, _, ends = rollout("pong", 300, size=16, seed=5)
    write_dataset(tmp_path / "held_out.h5", frames, None, ends)  # no true actions -> lam_nmi is null
    assert main(["eval", "--world", str(trained), "--data", str(tmp_path / "held_out.h5"), "--device", "cpu"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["lam_nmi"] is None and printed["lam_probe_accuracy"] is None and FIGURES <= set(printed)
    assert printed["control_accuracy"] is None  # a user's file: no simulator to hold the controls on
    assert printed["control_accuracy_se"] is None
    assert printed["held_out"].startswith("all ") and "did not train on" in printed["held_out"]


def test_eval_states_seed_hold_and_the_hero_probe(trained, capsys):
    from nanogenie.eval.control import control_accuracy

    assert main(["eval", "--world", str(trained), "--device", "cpu", "--states", "3", "--seed", "5", "--hold", "6",
                 "--probe", "hero-whole"]) == 0
    printed = json.loads(capsys.readouterr().out)
    world = load_world(trained, "cpu")
    want = control_accuracy(world, "sonic", world.keymap_path, "cpu", states=3, seed=5, hold=6)
    assert (printed["control_accuracy"], printed["control_accuracy_se"]) == want  # the states and hold asked for
    assert printed["control_hold"] == 6
    assert 0 <= printed["hero_whole"] <= 1 and 0 <= printed["hero_whole_reconstructed"] <= 1
    assert 0 <= printed["hero_whole_se"] <= 0.5  # a bootstrap over the 3 states' shares
    assert 0 <= printed["hero_placed"] <= 1 and 0 <= printed["hero_placed_reconstructed"] <= 1
    assert printed["held_out"].startswith("fresh sonic episodes")


def test_eval_refuses_a_probe_for_another_game(trained, tmp_path, capsys):
    from nanogenie.envs import rollout

    frames, _, ends = rollout("sonic", 100, size=16, seed=5)
    write_dataset(tmp_path / "clip.h5", frames, None, ends)
    for argv in (["--probe", "hero-whole", "--data", str(tmp_path / "clip.h5")], ["--probe", "nope"]):
        assert main(["eval", "--world", str(trained), "--device", "cpu", *argv]) == 2
        assert "probe" in capsys.readouterr().err


def test_stage_alone_continues_from_saved_weights(trained, tmp_path):
    run = trained / "run"
    before = load_file(str(run / "tokenizer.safetensors"))
    assert main(["train", "--world", "sonic", "--preset", "tiny", "--out", str(trained), "--stage", "lam",
                 "--steps", "2", "--device", "cpu"]) == 0
    after = load_file(str(run / "tokenizer.safetensors"))
    assert all(torch.equal(before[k], after[k]) for k in before)  # the tokenizer was not retrained
    assert (run / "checkpoints" / "lam" / "step_00000002").is_dir()
    logged = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert {r["stage"] for r in logged} == {"tokenizer", "lam", "lam_inverse", "dynamics"}  # other stages' history is kept
    assert max(r["step"] for r in logged if r["stage"] == "lam") == 2


def test_lam_stage_learns_from_pixels_alone_and_logs_held_out_figures(tmp_path):
    out = tmp_path / "pong_lam"  # a fresh run: no tokenizer anywhere
    assert main(["train", "--world", "pong", "--preset", "tiny", "--out", str(out), "--stage", "lam",
                 "--steps", "30", "--set", "train.action_figures_every=20", "--device", "cpu"]) == 0
    run = out / "run"
    assert (run / "lam.safetensors").is_file() and not (run / "tokenizer.safetensors").exists()
    logged = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    checkpoints = [r for r in logged if "eval" in r and r["stage"] == "lam"]  # checkpoint_every=10 in the tiny preset
    assert [r["step"] for r in checkpoints] == [10, 20, 30]
    assert set(checkpoints[0]["eval"]) == {"val_loss", "val_psnr"}  # action figures every 20 steps and at the last
    action_figures = {"lam_nmi", "lam_probe_accuracy", "lam_code_shares"}
    for r in checkpoints[1:]:
        assert set(r["eval"]) == action_figures | {"val_loss", "val_psnr"}
        assert 0 <= r["eval"]["lam_nmi"] <= 1 and 0 <= r["eval"]["lam_probe_accuracy"] <= 1
    # then the second phase: the inverse model learns the heads' codes (val_accuracy: how often it names them)
    second = [r for r in logged if "eval" in r and r["stage"] == "lam_inverse"]
    assert [r["step"] for r in second] == [10]
    assert set(second[0]["eval"]) == action_figures | {"val_loss", "val_accuracy"}
    assert load_file(str(run / "lam.safetensors"))["inverse_trained"].item()  # the LAM now names codes by it
    assert (run / "plots" / "held_out.png").is_file()


def test_a_lam_told_the_players_colour_trains_both_phases_and_keeps_the_colour(tmp_path):
    from nanogenie.eval.lam_bench import load_lam

    out = tmp_path / "firefly_lam"
    assert main(["train", "--world", "firefly", "--preset", "tiny", "--out", str(out), "--stage", "lam",
                 "--steps", "10", "--set", "lam.focus=[170,255,90]", "--device", "cpu"]) == 0
    logged = [json.loads(line) for line in (out / "run" / "log.jsonl").read_text().splitlines()]
    assert {r["stage"] for r in logged} == {"lam", "lam_inverse"} and all(np.isfinite(r["loss"]) for r in logged)
    lam, config = load_lam(str(out))
    assert config.lam.focus == [170, 255, 90] and lam.cfg.focus == [170, 255, 90]


def test_eval_of_a_bundle_whose_weights_do_not_match_is_refused(trained, tmp_path, capsys):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(trained, broken, ignore=shutil.ignore_patterns("run"))
    meta = json.loads((broken / "world.json").read_text())
    meta["config"]["dynamics"]["width"] = 64
    (broken / "world.json").write_text(json.dumps(meta))
    assert main(["eval", "--world", str(broken), "--device", "cpu"]) == 2
    assert "dynamics.safetensors does not match" in error_line(capsys)


def test_a_run_records_its_config_and_resume_reads_it_back(trained):
    import argparse

    from nanogenie.config import WorldConfig, preset
    from nanogenie.training.commands import run_config

    recorded = json.loads((trained / "run" / "config.json").read_text())
    assert recorded["preset"] == "tiny"
    config = WorldConfig.from_dict(recorded["config"])
    assert config.train.tokenizer.steps == 4  # --steps 4 is what the run trained with
    # --resume with another --preset still continues the run as it was started
    args = argparse.Namespace(resume=True, stage="all", preset="cpu", steps=None, actions=None, set=[], processes=1)
    assert run_config(args, RunFolder(trained / "run"), ["tokenizer", "lam", "dynamics"]) == config
    fresh = argparse.Namespace(resume=False, stage="all", preset="cpu", steps=None, actions=None, set=[], processes=1)
    assert run_config(fresh, RunFolder(trained / "run"), ["tokenizer", "lam", "dynamics"]) == preset("cpu")


def test_dynamics_on_recorded_actions_is_the_labelled_video_option(tmp_path):
    out = tmp_path / "true_actions"
    assert main(["train", "--world", "pong", "--preset", "tiny", "--out", str(out), "--actions", "true",
                 "--steps", "2", "--device", "cpu"]) == 0
    world = load_world(out)
    assert world.config.train.dynamics_actions == "true"
    assert world.meta["eval"]["action_consistency"] is None and world.meta["eval"]["control_accuracy"] is not None
    keymap = load_keymap(world.keymap_path, world.num_actions)  # each control's key binds that control itself
    chords = {b.chord: b.action for b in keymap.bindings}
    names = world.action_names
    assert (keymap.idle, chords["up"], chords["down"]) == (names.index("idle"), names.index("up"), names.index("down"))


def test_recorded_actions_must_fit_the_dynamics_and_need_its_stage(trained, tmp_path, capsys):
    out = tmp_path / "sonic"
    shutil.copytree(trained, out)  # sonic records 7 actions; the tiny preset has 4 action slots
    assert main(["train", "--world", "sonic", "--preset", "tiny", "--out", str(out), "--stage", "dynamics",
                 "--actions", "true", "--device", "cpu"]) == 2
    assert "records 7 different actions but the dynamics has 4" in error_line(capsys)
    assert main(["train", "--world", "pong", "--preset", "tiny", "--out", str(tmp_path / "w"), "--stage", "lam",
                 "--actions", "true", "--device", "cpu"]) == 2
    assert "--actions true conditions the dynamics" in error_line(capsys)


def test_a_world_from_data_without_actions_gets_a_proposed_keymap(tmp_path, capsys):
    from nanogenie.envs import rollout

    frames, _, ends = rollout("pong", 400, size=16, seed=3)
    write_dataset(tmp_path / "video.h5", frames, None, ends)  # a user's video: no true actions
    out = tmp_path / "my_video"
    assert main(["train", "--world", "my_video", "--data", str(tmp_path / "video.h5"), "--preset", "tiny",
                 "--out", str(out), "--steps", "2", "--device", "cpu"]) == 0
    world = load_world(out)
    assert world.meta["keymap_origin"] == "video" and world.keymap_path == out / "keymap.toml"  # read from the video
    keys = world.keymap_path.read_text()
    assert "Proposed by nanogenie" in keys
    load_keymap(world.keymap_path, world.num_actions)
    capsys.readouterr()
    assert main(["play", "--world", str(out), "--propose-keys", "--device", "cpu"]) == 0
    said = capsys.readouterr().out
    assert "reading keys from the training video" in said and f"saved to {world.keymap_path}" in said
    assert world.keymap_path.read_text() == keys  # the same sample of the same video: the same keys
    (tmp_path / "video.h5").rename(tmp_path / "moved.h5")
    assert main(["play", "--world", str(out), "--propose-keys", "--device", "cpu"]) == 0
    said = capsys.readouterr().out
    assert "from the world's own rollouts" in said and "; play it with --keymap" in said  # saved beside them
    assert world.keymap_path.read_text() == keys
