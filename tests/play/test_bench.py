import json

import numpy as np
import torch

from nanogenie.cli import build_parser
from nanogenie.config import preset
from nanogenie.play.bench import bench
from world_helpers import save_random_world

FIELDS = {"device", "tokens_per_frame", "maskgit_steps", "context_frames", "ms_per_frame",
          "ms_per_frame_uncached", "speedup", "peak_mem_mb"}


def _run(capsys, argv: list[str]) -> dict:
    args = build_parser().parse_args(["bench", *argv, "--json"])
    assert args.run(args) == 0  # the CLI's dispatch reaches play/bench.py
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1  # one JSON line and nothing else on stdout
    return json.loads(lines[0])


def test_preset_bench_reports_every_field(capsys):
    result = _run(capsys, ["--preset", "tiny", "--frames", "3", "--device", "cpu"])
    assert FIELDS <= set(result)
    cfg = preset("tiny")
    assert result["device"] == "cpu" and result["tokens_per_frame"] == cfg.tokenizer.tokens_per_frame
    assert result["maskgit_steps"] == cfg.dynamics.maskgit_steps
    assert result["context_frames"] == cfg.dynamics.context_frames
    assert result["ms_per_frame"] > 0 and result["ms_per_frame_uncached"] > 0
    assert result["speedup"] == round(result["ms_per_frame_uncached"] / result["ms_per_frame"], 1)


def test_world_bench_goes_through_the_engine(tmp_path, capsys):
    config = preset("tiny")
    prompt = np.zeros((3, 16, 16, 3), np.uint8)
    path = save_random_world(tmp_path / "w", config, prompt)
    result = _run(capsys, ["--world", str(path), "--frames", "3", "--device", "auto"])
    assert FIELDS <= set(result) and result["world"] == "w"
    assert result["fps_engine" if not torch.cuda.is_available() else "fps_graph"] > 0
    assert result["fps_app"] > 0 and result["app_model_ms"] > 0  # through the runner, with the app's loop drawing


def test_table_output(capsys):
    args = build_parser().parse_args(["bench", "--preset", "tiny", "--frames", "2", "--device", "cpu"])
    assert bench(args) == 0
    out = capsys.readouterr().out
    assert "ms_per_frame_uncached" in out and "speedup" in out and "{" not in out
