from common import *
for v in ["lite0", "lite1", "lite2"]:
    p = export_fmap(v, HERE / "models" / f"fmap_{v}.onnx")
    print(v, p.stat().st_size / 1e6)
