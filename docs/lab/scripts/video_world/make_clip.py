"""A user's stand-in clip: a dataset's frames as an H.264 mp4 at twice their size, actions dropped.

    python docs/lab/scripts/video_world/make_clip.py dungeon_sticky.h5 dungeon.mp4
"""
import sys
import av, h5py, numpy as np
src, dst = sys.argv[1], sys.argv[2]
with h5py.File(src) as f:
    key = [k for k in f.keys() if f[k].ndim == 4][0]
    frames = f[key][:]
print(frames.shape, frames.dtype)
with av.open(dst, "w") as c:
    s = c.add_stream("libx264", rate=10)
    s.width, s.height, s.pix_fmt = frames.shape[2] * 2, frames.shape[1] * 2, "yuv420p"
    for fr in frames:
        for p in s.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(fr.repeat(2, 0).repeat(2, 1)), format="rgb24")):
            c.mux(p)
    for p in s.encode():
        c.mux(p)
