"""`python -m tests.faults.set_sort ROOT [--recover-only]`: a sort of a library with media
sets, as a process the fault hooks (site/sitecustomize.py) can kill, hold or fail.

The scan does not find sets yet: this runs what a sort does once it has (recover a crashed
sort, plan with the companions, move), on the library `set_library` built. Prints the
failures as JSON: {"failed": [[path, reason], ...], "moved": N}.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from remedia_tray.core.planning import Companions, GroupSpec, plan_sort
from remedia_tray.filing import mover
from remedia_tray.filing.locking import folder_lock
from remedia_tray.layout import lock_path

PHOTOS = Path(__file__).resolve().parents[1] / "data"
STEM = "IMG_0001"
#: The set's companion names, in the order they move (after the picture).
COMPANIONS: tuple[tuple[str, str], ...] = (
    ("live", f"{STEM}.MOV"),
    ("aae", f"{STEM}.AAE"),
    ("xmp", f"{STEM}.JPG.xmp"),
    ("json", f"{STEM}.JPG.json"),
)


def set_library(root: Path) -> Path:
    """sunset.jpg, and in Phone/ its copy IMG_0001.JPG with a Live video, an AAE, an XMP
    and a Takeout JSON; peaks.jpg with a lone copy beside the set."""
    phone = root / "Phone"
    phone.mkdir(parents=True)
    shutil.copy2(PHOTOS / "sunset.jpg", root / "sunset.jpg")
    shutil.copy2(PHOTOS / "sunset.jpg", phone / f"{STEM}.JPG")
    (phone / f"{STEM}.MOV").write_bytes(b"\0\0\0\x18ftypqt  " + bytes(range(256)) * 64)
    (phone / f"{STEM}.AAE").write_text("<plist><dict><key>adjust</key></dict></plist>\n")
    (phone / f"{STEM}.JPG.xmp").write_text('<x:xmpmeta xmlns:x="adobe:ns:meta/"/>\n')
    (phone / f"{STEM}.JPG.json").write_text(json.dumps({"title": f"{STEM}.JPG"}))
    shutil.copy2(PHOTOS / "peaks.jpg", root / "peaks.jpg")
    shutil.copy2(PHOTOS / "peaks.jpg", phone / "peaks copy.jpg")
    return root


def specs(root: Path) -> tuple[list[GroupSpec], dict[Path, Companions]]:
    """The groups a scan would find now (a copy moved already is no longer in Phone/)."""
    phone = root / "Phone"
    primary = phone / f"{STEM}.JPG"
    groups = [
        GroupSpec("duplicates", root / "sunset.jpg", "byte-identical",
                  (root / "sunset.jpg", primary), True, verified="byte-identical"),
        GroupSpec("duplicates", root / "peaks.jpg", "byte-identical",
                  (root / "peaks.jpg", phone / "peaks copy.jpg"), True, verified="byte-identical"),
    ]  # fmt: skip
    groups = [g for g in groups if os.path.lexists(g.members[1])]
    return groups, {primary: tuple((role, phone / name) for role, name in COMPANIONS)}


def main(argv: list[str]) -> int:
    root = Path(argv[0])
    with folder_lock(lock_path(root), wait=10):
        mover.recover_incomplete(root)  # what every sort does first
        if "--recover-only" in argv:
            return 0
        groups, companions = specs(root)
        plan = plan_sort(root, groups, exists=os.path.lexists, companions=companions,
                         existing_groups=mover.read_existing_groups(root))  # fmt: skip
        result = mover.apply_plan(plan, root=root)
    out = {"failed": [[str(s.path), s.reason] for s in result.failed], "moved": len(result.moved)}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
