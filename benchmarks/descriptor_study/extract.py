"""Extract last-conv feature maps (as stored + turned 90 deg) for dev/ukbench/photos. fp16 npz."""
import sys, time, numpy as np
from PIL import Image
from common import *

def prep(im, size, mode):
    w, h = im.size
    if mode == "sq":
        tw, th = size, size
    else:  # aspect-preserving: short side = size, long side rounded to /32, capped at 2x
        r = max(w, h) / min(w, h)
        long = int(min(2 * size, max(size, round(size * r / 32) * 32)))
        tw, th = (long, size) if w >= h else (size, long)
    return np.asarray(im.resize((tw, th), Image.Resampling.BICUBIC), dtype=np.uint8)

def main():
    variant, size, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    s = session(HERE / "models" / f"fmap_{variant}.onnx")
    sets = {"dev": holidays_dev()[0], "ukb": ukbench()[0], "photos": photos()}
    out = {}
    t = time.time()
    for name, paths in sets.items():
        f0, f1 = [], []
        for p in paths:
            a = prep(decode(p, size), size, mode)
            for arr, dst in ((a, f0), (np.rot90(a, 1, axes=(0, 1)), f1)):
                y = s.run(None, {"x": to_input(np.ascontiguousarray(arr)[None])})[0][0]
                dst.append(y.astype(np.float16))
        for key, fl in ((name + "_0", f0), (name + "_1", f1)):
            if len({x.shape for x in fl}) == 1:
                out[key] = np.stack(fl)
            else:
                arr = np.empty(len(fl), dtype=object)
                arr[:] = fl
                out[key] = arr
    np.savez(HERE / "feats" / f"{variant}_{mode}{size}.npz", **out)
    print(variant, size, mode, f"{time.time()-t:.0f}s")

main()
