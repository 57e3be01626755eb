"""Broken, odd and hostile image files: each is processed or skipped with a reason, and the
rest of the sort carries on. Random bytes named .jpg never crash a run (hypothesis)."""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from remedia_tray.errors import UnreadableImage
from remedia_tray.pipeline.imaging import load_image
from remedia_tray.sorter import SortOptions, sort_folder

from ..conftest import photo
from ._guard import Snapshot
from .conftest import cli_env, run_cli

PROCESSED = "processed"


def _save(im: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _photo(name: str = "coffee") -> Image.Image:
    with Image.open(photo(name)) as im:
        return im.convert("RGB")


def _png_chunks(width: int, height: int, bit_depth: int, colour: int, rows: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def _png_bomb(side: int) -> bytes:
    """A real, complete, valid PNG of side x side black pixels in a few tens of KB."""
    z = zlib.compressobj(9)
    row = bytes(1 + (side + 7) // 8)  # 1-bit grey: filter byte + packed pixels
    body = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    return _png_chunks(side, side, 1, 0, body)


def _jpeg_claiming(width: int, height: int) -> bytes:
    data = bytearray(_save(Image.new("RGB", (16, 16), "grey"), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _gif_animation() -> bytes:
    frames = [_photo(n).resize((120, 80)) for n in ("sunset", "peaks", "cat")]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buf.getvalue()


def _cases() -> dict[str, tuple[Callable[[], bytes], str]]:
    """File name -> (content, PROCESSED or a phrase its skip reason must contain)."""
    rng = np.random.default_rng(3)
    sunset = photo("sunset").read_bytes()
    exif = Image.Exif()
    exif[0x0112] = 99  # an orientation that does not exist
    corrupt = bytearray(photo("peaks").read_bytes())
    for k in range(3000, len(corrupt), 701):
        corrupt[k] ^= 0x5A
    bad_crc = bytearray(_save(_photo().resize((40, 30)), "PNG"))
    bad_crc[29] ^= 0xFF  # inside the IHDR chunk's CRC
    return {
        # processed: odd but real pictures
        "cmyk.jpg": (lambda: _save(_photo("life").convert("CMYK"), "JPEG"), PROCESSED),
        "grey16.png": (
            lambda: _save(
                Image.fromarray(rng.integers(0, 65535, (90, 120), dtype=np.uint16)), "PNG"
            ),
            PROCESSED,
        ),
        "palette.png": (lambda: _save(_photo("ridge").convert("P"), "PNG"), PROCESSED),
        "palette-alpha.gif": (
            lambda: _save(_photo("umang").convert("P"), "GIF", transparency=0),
            PROCESSED,
        ),
        "alpha.png": (
            lambda: _save(_photo("seeding").convert("RGBA").resize((200, 150)), "PNG"),
            PROCESSED,
        ),
        "grey-alpha.png": (lambda: _save(_photo("cat").convert("LA"), "PNG"), PROCESSED),
        "bilevel.png": (lambda: _save(_photo("sunset").convert("1"), "PNG"), PROCESSED),
        "float.tif": (
            lambda: _save(Image.fromarray(rng.random((60, 80)).astype(np.float32), "F"), "TIFF"),
            PROCESSED,
        ),
        "one-pixel.png": (lambda: _save(Image.new("RGB", (1, 1), "red"), "PNG"), PROCESSED),
        "one-pixel.jpg": (lambda: _save(Image.new("RGB", (1, 1), "blue"), "JPEG"), PROCESSED),
        "wide-30000.png": (lambda: _save(Image.new("L", (30000, 10), 90), "PNG"), PROCESSED),
        "tall-30000.png": (
            lambda: _save(Image.linear_gradient("L").resize((10, 30000)), "PNG"),
            PROCESSED,
        ),
        "wide-30000.jpg": (lambda: _save(_photo("peaks").resize((30000, 12)), "JPEG"), PROCESSED),
        "animated.gif": (_gif_animation, PROCESSED),
        "png-named.jpg": (lambda: _save(_photo("coffee").resize((300, 200)), "PNG"), PROCESSED),
        "jpeg-named.png": (lambda: _save(_photo("life").resize((300, 200)), "JPEG"), PROCESSED),
        "webp-named.gif": (lambda: _save(_photo("cat").resize((300, 200)), "WEBP"), PROCESSED),
        "orientation-99.jpg": (lambda: _save(_photo("ridge"), "JPEG", exif=exif), PROCESSED),
        # skipped, each with its reason
        "zero.jpg": (lambda: b"", "empty file (0 bytes)"),
        "truncated.jpg": (
            lambda: sunset[: len(sunset) // 2],
            "damaged: corrupt or truncated image data",
        ),
        "header-only.jpg": (lambda: sunset[:200], "damaged: corrupt or truncated image data"),
        "bad-crc.png": (lambda: bytes(bad_crc), "damaged: PNG checksum error in IHDR chunk"),
        # Pillow decodes it without a word (garbage pixels); libjpeg's strict mode does not.
        "bit-flipped.jpg": (lambda: bytes(corrupt), "damaged: corrupt JPEG data"),
        "text.jpg": (lambda: b"Dear diary, today I took no photos.\n" * 20, "not an image"),
        "html.png": (lambda: b"<!doctype html><html><img src=x></html>", "not an image"),
        "random.jpg": (lambda: rng.bytes(5000), "not an image"),
        "bomb-20000.png": (lambda: _png_bomb(20000), "decompression bomb"),
        "bomb-65000.jpg": (lambda: _jpeg_claiming(65000, 65000), "decompression bomb"),
        "postscript.jpg": (
            lambda: b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n",
            "not an image",
        ),
    }


def _heic(name: str) -> bytes | None:
    from remedia_tray.pipeline.imaging import heif_supported

    if not heif_supported():
        return None
    return _save(_photo(name), "HEIF")


def _build(root: Path) -> dict[str, str]:
    """The bad-image folder; each processed case also gets a byte-identical copy, which a
    sort must move to duplicates/ (proof that the file went all the way through)."""
    root.mkdir(parents=True)
    expected = {}
    for name, (make, outcome) in _cases().items():
        data = make()
        (root / name).write_bytes(data)
        expected[name] = outcome
        if outcome == PROCESSED:
            (root / "copies").mkdir(exist_ok=True)
            (root / "copies" / name).write_bytes(data)
    heic = _heic("peaks")
    if heic is not None:
        (root / "photo.heic").write_bytes(heic)
        (root / "copies").mkdir(exist_ok=True)
        (root / "copies" / "photo.heic").write_bytes(heic)
    # Some ordinary photos with a re-encoded copy: the part of the sort nobody broke.
    for name in ("sunset", "peaks"):
        shutil.copy2(photo(name), root / f"{name}.jpg")
        _photo(name).resize((320, 213)).save(root / "copies" / f"{name} small.jpg", quality=70)
    return expected


def _gs_sentinel(folder: Path) -> tuple[Path, Path]:
    """A `gs` on PATH that records being run: Pillow's EPS reader would call Ghostscript."""
    folder.mkdir()
    marker = folder / "ghostscript-was-run"
    gs = folder / "gs"
    gs.write_text(f"#!/bin/sh\necho \"$@\" >> '{marker}'\nexit 1\n")
    gs.chmod(gs.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return folder, marker


def _check_report(report: dict, expected: dict[str, str], heif: bool) -> None:
    reasons = {
        os.path.relpath(e["path"], report["folder"]): e["reason"]
        for e in report["skipped"] + report["failed"]
    }
    moved = {
        os.path.relpath(m["from"], report["folder"]) for g in report["groups"] for m in g["moves"]
    }
    for name, outcome in expected.items():
        copy = os.path.join("copies", name)
        if outcome == PROCESSED:
            assert name not in reasons and copy not in reasons, (name, reasons.get(name))
            assert copy in moved or name in moved, (name, "not sorted with its copy")
        elif PROCESSED in outcome:
            assert name not in reasons or any(
                word in reasons[name] for word in outcome.split("|") if word != PROCESSED
            ), (name, reasons.get(name))
        else:
            assert name in reasons, (name, "neither skipped nor reported")
            assert outcome in reasons[name], (name, reasons[name])
    assert {"copies/sunset small.jpg", "copies/peaks small.jpg"} <= moved
    if (Path(report["folder"]) / "photo.heic").exists():
        if heif:
            assert "photo.heic" not in reasons and "copies/photo.heic" in moved
        else:
            assert reasons["photo.heic"] == (
                "HEIC/HEIF image but HEIF support (pillow-heif) is missing"
            )
            assert "copies/photo.heic" not in moved
    assert not report["failed"], report["failed"]


@pytest.mark.slow
@pytest.mark.parametrize("settings_", ["hash engine", "default settings, no HEIF support"])
def test_bad_images_are_processed_or_skipped_with_a_reason(
    tmp_path: Path, guard: Callable[..., Snapshot], settings_: str
) -> None:
    root = tmp_path / "lib"
    expected = _build(root)
    snap = guard(root, settings_)
    gs_dir, marker = _gs_sentinel(tmp_path / "bin")
    heif = settings_ == "hash engine"
    env = cli_env(block="" if heif else "pillow_heif")
    env["PATH"] = f"{gs_dir}{os.pathsep}{env.get('PATH', '')}"
    args = ["--engine", "hash"] if heif else []
    # JSON for the checks; the exit code is 0: nothing failed to move, skips are not errors.
    done = run_cli("sort", root, *args, "--json", env=env, timeout=300)
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-3000:])
    assert "Traceback" not in done.stderr, done.stderr
    _check_report(json.loads(done.stdout), expected, heif)
    assert not marker.exists(), "Ghostscript was run on a file from the sorted folder"
    snap.check()
    undo = run_cli("undo", root, env=env)
    assert undo.returncode == 0, undo.stderr
    snap.check(restored=True)


# --- hypothesis: anything named .jpg --------------------------------------------------------

PREFIXES = [
    b"",
    b"\xff\xd8\xff\xe0",  # JPEG
    b"\x89PNG\r\n\x1a\n",
    b"GIF89a",
    b"RIFF\x00\x00\x00\x00WEBP",
    b"II*\x00",
    b"BM",
    b"\x00\x00\x00\x18ftypheic",
]


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow notes the damage it meets
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(prefix=st.sampled_from(PREFIXES), body=st.binary(max_size=2048))
def test_random_bytes_only_ever_give_a_reason(tmp_path: Path, prefix: bytes, body: bytes) -> None:
    path = tmp_path / "random.jpg"
    path.write_bytes(prefix + body)
    try:
        loaded = load_image(path, min_side=64)
    except UnreadableImage as exc:
        assert str(exc)
    else:
        assert loaded.image.mode == "RGB" and min(loaded.image.size) >= 1


_SMALL = {
    "jpg": _save(_photo("cat").resize((96, 64)), "JPEG", quality=80),
    "png": _save(_photo("life").resize((48, 32)), "PNG"),
    "gif": _save(_photo("peaks").resize((48, 32)).convert("P"), "GIF"),
    "tif": _save(_photo("ridge").resize((48, 32)), "TIFF"),
    "webp": _save(_photo("umang").resize((48, 32)), "WEBP"),
}


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow notes the damage it meets
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kind=st.sampled_from(sorted(_SMALL)),
    flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)), max_size=12),
    cut=st.floats(0.05, 1.0),
)
def test_damaged_real_images_only_ever_give_a_reason(
    tmp_path: Path, kind: str, flips: list[tuple[float, int]], cut: float
) -> None:
    data = bytearray(_SMALL[kind])
    for where, mask in flips:
        data[int(where * len(data))] ^= mask
    path = tmp_path / "damaged.jpg"
    path.write_bytes(bytes(data[: max(1, int(len(data) * cut))]))
    try:
        loaded = load_image(path, min_side=64)
    except UnreadableImage as exc:
        assert str(exc)
    else:
        assert loaded.image.mode == "RGB"


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(blobs=st.lists(st.binary(max_size=3000), min_size=1, max_size=6))
def test_random_files_never_crash_a_sort(
    tmp_path_factory: pytest.TempPathFactory, guard: Callable[..., Snapshot], blobs: list[bytes]
) -> None:
    root = tmp_path_factory.mktemp("random")
    for k, blob in enumerate(blobs):
        (root / f"IMG_{k:04d}.jpg").write_bytes(blob)
    shutil.copy2(photo("cat"), root / "cat.jpg")
    shutil.copy2(photo("cat"), root / "cat copy.jpg")
    snap = guard(root)
    report = sort_folder(root, SortOptions(engine="hash", workers=1))
    moved = {m.src.name for g in report.groups for m in g.moves}
    assert len(moved & {"cat.jpg", "cat copy.jpg"}) == 1  # the rest of the sort carried on
    assert all(s.reason for s in report.skipped)
    assert not report.failed
    snap.check()
    if report.journal is not None:
        from remedia_tray.filing.mover import undo_last_sort

        undo_last_sort(root)
    snap.check(restored=True)
