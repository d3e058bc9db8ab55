"""TinyWorlds datasets on the Hugging Face hub (frames-only .h5 files of real game footage)."""

from __future__ import annotations

import os
from pathlib import Path

from nanogenie.errors import UserError

TINYWORLDS_REPO = "AlmondGod/tinyworlds"
TINYWORLDS_FILES = {
    "pong": "pong_frames.h5",
    "sonic": "sonic_frames.h5",
    "zelda": "zelda_frames.h5",
    "picodoom": "picodoom_frames.h5",
    "pole_position": "pole_position_frames.h5",
}


def download_tinyworlds(name: str, out_dir: str | os.PathLike) -> Path:
    """Fetch one TinyWorlds dataset into `out_dir` (the hub skips files already there) and return its path."""
    if name not in TINYWORLDS_FILES:
        raise UserError(f"unknown dataset {name!r}; choose one of: {', '.join(TINYWORLDS_FILES)}")
    import huggingface_hub  # imported here: it is slow to import and only this command needs it
    from huggingface_hub.errors import HfHubHTTPError
    from huggingface_hub.utils import logging as hub_logging

    hub_logging.set_verbosity_error()  # its retries print a line each; the one error below says it all
    filename = TINYWORLDS_FILES[name]
    try:
        path = huggingface_hub.hf_hub_download(
            repo_id=TINYWORLDS_REPO, repo_type="dataset", filename=filename, local_dir=str(out_dir))
    except (HfHubHTTPError, OSError) as err:
        reason = str(err).splitlines()[0][:200] if str(err) else type(err).__name__
        raise UserError(f"could not download {filename} from the Hugging Face hub ({TINYWORLDS_REPO}): {reason}; "
                        f"check your connection, or fetch the file yourself and pass it as a local path "
                        f"(e.g. `nanogenie train --data FILE.h5`)")
    return Path(path)
