"""The LAM's own ceiling: its heads assigned the true action. One line of figures, in 1-10 minutes.

    OMP_NUM_THREADS=1 .venv/bin/python docs/lab/scripts/oracle_assign.py WORLD [--steps 1200] [--set lam.FIELD=VALUE]
        [--no-sparks] [--nonorm] [--ce W]

Trains the `cpu` preset's LAM on 30,000 frames of sticky play (seed 0, as the LAM stage sees) with each
transition's head set to its true action (64 random transitions a step, AdamW 2e-3, 100 warm-up steps, cosine
to 0.1), then labels 4,000 fresh frames with a random action every frame (seed 777) by the plain argmin over
heads, as inference does. If this is low, no assignment can do better: the forward model is the limit.

It also labels them by the model's own score (the Gaussian NLL under the lab's `lam.nll` patch) and by three
others: each cell's error capped (a cell no head explains gives every head the same), and each cell's error over
the heads' mean error there (as is, or its log), averaged over cells.
On firefly it also labels by the argmin over the cells around the agent only (its 2x2 square at x_t and x_t+1,
one pixel of margin) and over the other cells, prints how far the heads' errors spread per cell around the
agent, at the other changed cells (the sparks) and at still ones, and prints the green channel's true change at the agent's cells
beside the true action's head's. --no-sparks: firefly without its sparks. --nonorm: the LAM's GroupNorm
replaced by identity. --ce W: W x the cross-entropy of the heads' scores (as logits, with a learned
temperature) against the true action, added to the regression. --agree W: W x the heads' mean absolute
distance from their mean prediction, added to the loss. With lam.passive_loss=true the history's path also learns the
plain next frame on every transition, as training_loss does. Findings: docs/lab/2026-12-03-small-agents.md.
"""
import argparse, dataclasses, time
import numpy as np, torch
from nanogenie.config.presets import preset
from nanogenie.data.pixels import to_model
from nanogenie.envs.rollout import rollout
from nanogenie.models.lam import LatentActionModel
from nanogenie.metrics import probe_accuracy, normalized_mutual_information

ap = argparse.ArgumentParser(); ap.add_argument("world"); ap.add_argument("--steps", type=int, default=1200)
ap.add_argument("--set", action="append", default=[]); ap.add_argument("--nonorm", action="store_true")
ap.add_argument("--ce", type=float, default=0.0)
ap.add_argument("--no-sparks", action="store_true")
ap.add_argument("--agree", type=float, default=0.0)
args = ap.parse_args()
if args.nonorm:
    import nanogenie.models.lam as lam_module
    lam_module.nn.GroupNorm = lambda groups, channels: torch.nn.Identity()
torch.manual_seed(0)
if args.no_sparks:
    import nanogenie.envs.firefly as firefly
    firefly.SPARKS = (0, 0)
cfg = preset("cpu").lam
for s in args.set:
    k, v = s.split("=", 1)
    k = k.removeprefix("lam.")
    old = getattr(cfg, k)
    cfg = dataclasses.replace(cfg, **{k: v == "true" if isinstance(old, bool) else v if isinstance(old, str)
                                      else type(old)(float(v))})
lam = LatentActionModel(cfg)
frames, actions, _ = rollout(args.world, 30000, 64, 0, policy="sticky")
ok = np.flatnonzero(actions[:-1] >= 0)
log_temp = torch.nn.Parameter(torch.tensor(float(np.log(1e-4))))
opt = torch.optim.AdamW(list(lam.parameters()) + [log_temp], lr=2e-3, weight_decay=0.0)
k = cfg.history_frames
ok = ok[ok >= k - 1]
t0 = time.time()
for step in range(args.steps):
    lr = 2e-3 * min(1, (step + 1) / 100) * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * step / args.steps)))
    for g in opt.param_groups: g["lr"] = lr
    i = np.random.choice(ok, 64)
    hist = torch.stack([to_model(frames[j - k + 1:j + 1]) for j in i])
    scored = lam._scored(hist, to_model(frames[i + 1]))
    truth = torch.as_tensor(actions[i], dtype=torch.long)
    loss = scored["errors"].gather(1, truth[:, None]).mean()
    if cfg.passive_loss:  # as training_loss: the history's path learns the plain next frame on every transition
        loss = loss + scored["passive"].mean()
    if args.ce:
        loss = loss + args.ce * torch.nn.functional.cross_entropy(-scored["errors"] / log_temp.exp(), truth)
    if args.agree:
        predicted = lam._predict(hist)[1]
        loss = loss + args.agree * (predicted - predicted.mean(dim=1, keepdim=True)).abs().mean()
    opt.zero_grad(); loss.backward(); opt.step()
pos = []
frames, actions, _ = rollout(args.world, 4000, 64, 777, policy="random",
                             observe=lambda env: pos.append((getattr(env, "agent_x", 0), getattr(env, "agent_y", 0))))
pos = np.asarray(pos)
ok = np.flatnonzero(actions[:-1] >= 0); ok = ok[ok >= k - 1]
codes, scorings = [], {}
lam.eval()
with torch.no_grad():
    for chunk in np.array_split(ok, 16):
        hist = torch.stack([to_model(frames[j - k + 1:j + 1]) for j in chunk])
        passive, pred = lam._predict(hist)
        tgt = lam._aligned(to_model(frames[chunk + 1]).float(), passive.float())[:, None]
        err = (pred - tgt).pow(2).sum(2)  # (N, A, R, R)
        mask = torch.zeros(len(chunk), *err.shape[-2:])
        for n, j in enumerate(chunk):
            for x, y in (pos[j], pos[j + 1]):
                mask[n, max(0, y - 1) // 4:(y + 3) // 4 + 1, max(0, x - 1) // 4:(x + 3) // 4 + 1] = 1
        own = lam._errors(hist, to_model(frames[chunk + 1]))  # as inference scores (differs from `err` under lam.nll)
        scorings.setdefault("the model's own score", []).append(own.argmin(1).numpy())
        for cap in (0.002, 0.005, 0.02):  # a cell's error counts up to `cap`: one no head explains gives each the same
            scorings.setdefault(f"error capped at {cap:g}", []).append(err.clamp(max=cap).flatten(2).sum(2).argmin(1).numpy())
        for eps in (1e-4, 1e-3, 1e-2):  # each cell's error against the heads' mean there: how much a head explains it
            ratio = (err + eps) / (err.mean(1, keepdim=True) + eps)
            scorings.setdefault(f"log ratio, eps {eps:g}", []).append(ratio.log().flatten(2).sum(2).argmin(1).numpy())
            scorings.setdefault(f"ratio, eps {eps:g}", []).append(ratio.flatten(2).sum(2).argmin(1).numpy())
        codes.append(torch.stack([err.flatten(2).sum(2).argmin(1), (err * mask[:, None]).flatten(2).sum(2).argmin(1),
                                  (err * (1 - mask[:, None])).flatten(2).sum(2).argmin(1)], 1).numpy())
codes = np.concatenate(codes)
if args.world == "firefly":  # where the heads' errors differ: around the agent, at other changed cells, at still ones
    chunk = ok[:512]
    with torch.no_grad():
        hist = torch.stack([to_model(frames[j - k + 1:j + 1]) for j in chunk])
        passive, pred = lam._predict(hist)
        tgt = lam._aligned(to_model(frames[chunk + 1]).float(), passive.float())[:, None]
        err = (pred - tgt).pow(2).sum(2)  # (N, A, R, R)
        changed = (lam.cells(to_model(frames[chunk + 1]).float()) - lam.cells(to_model(frames[chunk]).float())).abs().sum(1) > 0.05
        mask = torch.zeros(len(chunk), *err.shape[-2:], dtype=torch.bool)
        for n, j in enumerate(chunk):
            for x, y in (pos[j], pos[j + 1]):
                mask[n, max(0, y - 1) // 4:(y + 3) // 4 + 1, max(0, x - 1) // 4:(x + 3) // 4 + 1] = True
        spread = err.max(1).values - err.min(1).values  # (N, R, R)
        for name, m in (("agent", mask), ("other changed", changed & ~mask), ("still", ~changed & ~mask)):
            print(f"   {name} cells: {m.float().mean():.3f} of cells, heads' error spread per cell "
                  f"{spread[m].mean():.5f}, summed per frame {(spread * m).flatten(1).sum(1).mean():.4f}")
for name, c in scorings.items():
    print(f"   scored by {name}: probe {probe_accuracy(actions[ok], np.concatenate(c)):.3f}")
for name, c in zip(("agent cells", "other cells"), codes[:, 1:].T):
    print(f"   {name}: probe {probe_accuracy(actions[ok], c):.3f}")
codes = codes[:, 0]
if args.world == "firefly":  # what the true head predicts at the agent's cells, against what happened
    j = ok[:400]
    with torch.no_grad():
        hist = torch.stack([to_model(frames[i - k + 1:i + 1]) for i in j])
        passive, pred = lam._predict(hist)
        tgt = lam.cells(to_model(frames[j + 1]).float())
        now = lam.cells(to_model(frames[j]).float())
    true_head = pred[torch.arange(len(j)), torch.as_tensor(actions[j], dtype=torch.long)]
    for n in range(6):
        x, y = pos[j[n]]; cy, cx = y // 4, x // 4
        sl = (slice(None), slice(max(0, cy - 1), cy + 2), slice(max(0, cx - 1), cx + 2))
        print(f"action {actions[j[n]]} at ({x},{y}): true change {(tgt[n] - now[n])[sl][1].numpy().round(2).tolist()}")
        print(f"   true head's change {(true_head[n] - now[n])[sl][1].numpy().round(2).tolist()}")
        print(f"   passive change {(passive[n, 0] - now[n])[sl][1].numpy().round(2).tolist()}")
print(f"{args.world} {args.set} oracle-assigned LAM: probe {probe_accuracy(actions[ok], codes):.3f} "
      f"NMI {normalized_mutual_information(actions[ok], codes):.3f} ({time.time() - t0:.0f} s)")
