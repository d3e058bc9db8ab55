"""One line per LAM run folder: its heads' and inverse model's last held-out probe (NMI), how many codes carry
>= 5% of the held-out transitions, the logged LAM steps whose batch put >= 90% on one code, and its minutes.

    python docs/lab/scripts/lam_runs.py runs/lab/pos_sonic_0 runs/lab/c_sonic_0 ...
"""
import json
import sys
from pathlib import Path

for folder in sys.argv[1:]:
    heads = inverse = shares = None
    on_one_code = 0
    elapsed = {}  # stage -> its last logged elapsed seconds
    for line in (Path(folder) / "run" / "log.jsonl").read_text().splitlines():
        row = json.loads(line)
        elapsed[row["stage"]] = row.get("elapsed") or 0.0
        if row["stage"] == "lam" and row.get("metrics", {}).get("top_code_share", 0.0) >= 0.9:
            on_one_code += 1
        figures = row.get("eval", {})
        if "lam_probe_accuracy" in figures:
            probe = (figures["lam_probe_accuracy"], figures["lam_nmi"])
            if row["stage"] == "lam":
                heads = probe
            else:
                inverse, shares = probe, figures.get("lam_code_shares")
    codes = sum(share >= 0.05 for share in shares) if shares else None
    minutes = sum(elapsed.get(stage, 0.0) for stage in ("lam", "lam_inverse")) / 60
    print(f"{Path(folder).name:16s} heads (probe, NMI) {heads}  inverse {inverse}  codes >= 5%: {codes}  "
          f"logged steps on one code: {on_one_code}  minutes {minutes:.1f}")
