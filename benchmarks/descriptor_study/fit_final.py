"""Fit the chosen variant's whitening on all Holidays dev, cross-fit its thresholds on dev,
score UKBench with them, and run the repeated nested CV for the report. Writes
whitening.npz and thresholds.json."""
import json, sys, time
from evaluate import *

SPEC = json.loads(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].startswith('{') else dict(cfgs=["lite0_sq224"], pool="gem", dim=1024, shrink=1.0)
SEEDS = (0, 1, 2)

_, groups = holidays_dev()
W = fit_white(SPEC, np.arange(len(groups)), SPEC.get("extra", ()))
np.savez(HERE / "whitening.npz", mean=W.m.astype(np.float32), P=W.P.astype(np.float32))
th, curve = crossfit_thresholds(SPEC, np.arange(len(groups)), groups, k=5, seed=1)
print("final thresholds (cosine, cross-fitted on all dev):", th)
cd = {round(c, 4): (p, r) for c, p, r in curve}
for lv, c in th.items():
    print(f"  {lv}: cos {c:.3f}  cross-fitted dev P {cd[round(c,4)][0]:.3f} R {cd[round(c,4)][1]:.3f}")
_, ug = ukbench()
Zu = tree(similarity(describe(SPEC, "ukb", W)))
ukb = {lv: pr(labels_at(Zu, c), ug) for lv, c in th.items()}
for lv, (p, r) in ukb.items():
    print(f"  UKBench {lv}: P {p:.3f} R {r:.3f}")
json.dump({"spec": SPEC, "cosine": th, "distance": {k: round(1 - v, 4) for k, v in th.items()},
           "ukbench": ukb, "targets": LEVELS}, open(HERE / "thresholds.json", "w"), indent=1)
if '--no-cv' in sys.argv: raise SystemExit(0)
res = {lv: [] for lv in LEVELS}; thr = {lv: [] for lv in LEVELS}
for s in SEEDS:
    o = run_nested(SPEC, seed=s)
    for lv in LEVELS:
        res[lv].append(o[lv][0]); thr[lv].append(o[lv][1])
print(f"nested CV, 5 folds x {len(SEEDS)} seeds (held-out P/R mean±std over {5*len(SEEDS)} folds):")
for lv in LEVELS:
    a = np.concatenate(res[lv]); t = np.concatenate(thr[lv])
    print(f"  {lv:<9} target P>={LEVELS[lv]}: P {a[:,0].mean():.3f}±{a[:,0].std():.3f} R {a[:,1].mean():.3f}±{a[:,1].std():.3f}  cos {t.mean():.3f}±{t.std():.3f}")
