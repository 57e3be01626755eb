"""Make the fixtures of tests/test_formats.py with the code of the checkout it runs in.

Run from a checkout whose writers are the reference (the fixtures here were made by main
before the formats were declared): `PYTHONPATH=. python tests/data/formats/make_fixtures.py`.
It sorts a tiny folder twice (the second sort grows a group), takes a review action, undoes
it, and copies the reports, journals and manifests it left here.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent
ROOT = Path("/tmp/remedia-formats-fixture")  # fixed, so the paths inside stay the same


def main() -> None:
    from PIL import Image

    from remedia_tray.filing.mover import undo_last_sort
    from remedia_tray.review.actions import run_action
    from remedia_tray.sorter import SortOptions, sort_folder

    shutil.rmtree(ROOT, ignore_errors=True)
    photos = ROOT / "photos"
    photos.mkdir(parents=True)
    shutil.copy(DATA / "cat.jpg", photos / "café.jpg")
    shutil.copy(DATA / "cat.jpg", photos / "cat copy.jpg")
    shutil.copy(DATA / "peaks.jpg", photos / "peaks.jpg")
    with Image.open(DATA / "peaks.jpg") as im:  # the same view, smaller: a similar photo
        im.convert("RGB").resize((im.width // 2, im.height // 2)).save(photos / "peaks small.jpg")
    options = SortOptions(engine="hash", workers=1)
    sort_folder(photos, options)
    shutil.copy(DATA / "cat.jpg", photos / "cat (2).jpg")
    report = sort_folder(photos, options)
    group = next(g for g in report.to_dict()["groups"] if g["kind"] == "duplicates")
    key = f"duplicates/{Path(group['folder']).name}"
    now = next(m["to"] for m in group["moves"] if m["from"] != group["kept"])
    run_action(photos, action="keep", group=key, path=str(Path(now).relative_to(photos)))
    undo_last_sort(photos)
    out = HERE / "sorted"
    shutil.rmtree(out, ignore_errors=True)
    for kind in ("reports", "journal"):
        for p in sorted((photos / ".remedia" / kind).iterdir()):
            if p.suffix in (".json", ".jsonl"):
                (out / kind).mkdir(parents=True, exist_ok=True)
                shutil.copy(p, out / kind / p.name)
    for p in sorted(photos.glob("*/*/remedia-group.json")):
        target = out / "manifests" / p.parent.parent.name / p.parent.name / p.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(p, target)
    print(f"fixtures in {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
