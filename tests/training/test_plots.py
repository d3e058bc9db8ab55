import json

import numpy as np

from nanogenie.training.plots import frame_grid, plot_frame_rows, plot_held_out_figures, plot_losses, read_log


def test_plots_write_pngs(tmp_path):
    log = tmp_path / "log.jsonl"
    log.write_text("".join(f'{{"stage": "{s}", "step": {i}, "loss": {1 / i}, "metrics": {{}}, "lr": 0.1, '
                           f'"elapsed": 0, "eval": {{"val_loss": {2 / i}}}}}\n'
                           for s in ("tokenizer", "dynamics") for i in range(1, 6)))
    assert plot_losses(log, tmp_path / "losses.png").stat().st_size > 1000  # training and validation loss
    assert plot_held_out_figures(log, tmp_path / "held_out.png") is None  # no LAM figures logged
    rows = [np.full((3, 8, 8, 3), v, np.uint8) for v in (0, 200)]
    grid = frame_grid(rows)
    assert grid.shape == (18, 28, 3) and grid[0, 0, 0] == 0 and grid[10, 0, 0] == 200 and grid[9, 0, 0] == 255
    assert plot_frame_rows(rows, ["a", "b"], "t", tmp_path / "rows.png").stat().st_size > 1000


def test_held_out_figures_plot_and_a_torn_last_line(tmp_path):
    log = tmp_path / "log.jsonl"
    rows = [{"stage": "lam", "step": s, "loss": 0.1, "eval": {"lam_nmi": s / 400, "lam_probe_accuracy": s / 300}}
            for s in (100, 200, 300)]
    log.write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"stage": "lam", "st')
    assert [r["step"] for r in read_log(log)] == [100, 200, 300]
    assert plot_held_out_figures(log, tmp_path / "held_out.png").stat().st_size > 1000
