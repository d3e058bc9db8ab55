"""Video datasets: the HDF5 format, train/val/test spans and the clip loader.

ClipDataset is loaded on first use, so `nanogenie data ...` commands do not pay for importing torch.
"""

from nanogenie.data.hdf5 import VideoData, load_dataset, write_dataset
from nanogenie.data.splits import split_spans

__all__ = ["VideoData", "load_dataset", "write_dataset", "split_spans", "ClipDataset"]


def __getattr__(name: str):
    if name == "ClipDataset":
        from nanogenie.data.clips import ClipDataset

        return ClipDataset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
