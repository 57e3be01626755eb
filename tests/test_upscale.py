"""The original beats an upscale: more pixels win only where they hold more picture."""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image

from remedia_tray.sorter import SortOptions, sort_folder

HASH = SortOptions(engine="hash", workers=1)
DEMO = Path(__file__).resolve().parents[1] / "assets" / "demo" / "Camera"


def _camera_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Google"
    exif[0x0110] = "Pixel 7"
    return exif


def _place(root: Path, original: Image.Image, *, exif: bool, upscale: Image.Image) -> Path:
    """An original in Camera/ (older) and its upscale in Download/ (newer, larger file)."""
    (root / "Camera").mkdir(parents=True)
    (root / "Download").mkdir()
    orig = root / "Camera" / "IMG_0001.jpg"
    if exif:
        original.save(orig, quality=92, exif=_camera_exif())
    else:
        original.save(orig, quality=92)
    up = root / "Download" / "IMG_0001_upscaled.jpg"
    upscale.save(up, quality=95)
    os.utime(orig, (1_600_000_000, 1_600_000_000))
    os.utime(up, (1_700_000_000, 1_700_000_000))
    return orig


def _demo(name: str = "IMG_0002.jpg") -> Image.Image:
    with Image.open(DEMO / name) as im:
        return im.convert("RGB")


def _kept(report: object, root: Path) -> tuple[Path, str]:
    groups = [g for g in report.groups if g.kind == "duplicates"]  # type: ignore[attr-defined]
    assert len(groups) == 1, groups
    assert groups[0].keeper is not None
    return groups[0].keeper, groups[0].reason


def test_an_upscale_without_metadata_loses_to_the_exif_original(tmp_path: Path) -> None:
    original = _demo()
    up = original.resize((original.width * 2, original.height * 2), Image.Resampling.LANCZOS)
    orig = _place(tmp_path, original, exif=True, upscale=up)
    kept, reason = _kept(sort_folder(tmp_path, HASH), tmp_path)
    assert kept == orig and reason.startswith("camera original")
    assert orig.exists() and not (tmp_path / "Download" / "IMG_0001_upscaled.jpg").exists()


def test_an_upscale_loses_to_its_original_without_exif(tmp_path: Path) -> None:
    original = _demo()
    up = original.resize((original.width * 2, original.height * 2), Image.Resampling.BICUBIC)
    orig = _place(tmp_path, original, exif=False, upscale=up)
    report = sort_folder(tmp_path, HASH)
    kept, reason = _kept(report, tmp_path)
    assert kept == orig, reason
    assert "upscale" in reason
    group = next(g for g in report.groups if g.kind == "duplicates")
    assert group.folder.name == "IMG_0001"  # named after the original, not the upscale


def test_a_genuinely_larger_original_still_wins(tmp_path: Path) -> None:
    # The larger file is the real one (no metadata on either), the smaller a downscale of it.
    original = _demo()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    big = tmp_path / "a" / "photo.jpg"
    original.save(big, quality=92)
    small = tmp_path / "b" / "photo.jpg"
    original.resize((original.width // 2, original.height // 2), Image.Resampling.LANCZOS).save(
        small, quality=92
    )
    os.utime(small, (1_600_000_000, 1_600_000_000))  # the copy is even older
    kept, reason = _kept(sort_folder(tmp_path, HASH), tmp_path)
    assert kept == big and reason.startswith("most pixels")
