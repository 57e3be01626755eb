"""How fast duplicate videos are found, against decoding every frame with ffmpeg.

Clips are made once (PyAV, from real photos: a slow pan over each), then:

- phone-like: 10 s of 1080p H.264 at about 15 Mb/s with a keyframe every second (a phone's
  camera), each over another photo;
- low-bitrate: 10 s of 1080p H.264 at CRF 23 with the encoder's default GOP (a keyframe at
  most every 250 frames: what an editor or a messenger writes).

For each set, and for both in one folder: `remedia sort FOLDER --engine hash --dry-run
--no-cache` as a user runs it (start-up included, two reading processes on two cores), and
`ffmpeg -i CLIP -f null -` over the same clips one after the other (every frame decoded;
ffmpeg's own threads). Printed: wall-clock seconds of both, their ratio (target: the sort at most a
third), CPU seconds of both (the machine may be shared: CPU time is steadier), and videos
per second of the sort (target for the phone-like clips: 4 or more on two cores). Without
a system ffmpeg (Debian: apt-get install ffmpeg), PyAV decodes every frame instead, and the
output says so.

`--batch-files N` also measures a tray batch in a folder of N small photos and one video:
the library index holds pictures only, so a batch with a video walks the folder for its
videos (their signatures come from the cache). Printed: the batch's seconds with an arrived
photo and with an arrived video.

    python benchmarks/video_speed.py [--phone 8] [--low 8] [--out /tmp/clips] [--batch-files 10000]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
PHOTOS = REPO / "tests" / "data"
SHARED_PHOTOS = REPO.parent / "shared" / "data" / "photos" / "images"
SIZE = (1920, 1080)
FPS = 30


def _photos() -> list[Path]:
    found = sorted(PHOTOS.glob("*.jpg"))
    if SHARED_PHOTOS.is_dir():
        found += sorted(p for p in SHARED_PHOTOS.iterdir() if p.suffix.lower() in (".jpg", ".png"))
    return found


def _pan(src: Path, seconds: float) -> Iterator[np.ndarray]:
    """A slow pan across `src` (scaled to 1.25 times the frame): whole-pixel crops, cheap to
    make, so that encoding is most of the cost of a clip."""
    w, h = SIZE
    with Image.open(src) as im:
        im = im.convert("RGB")
        scale = max(w * 1.25 / im.width, h * 1.25 / im.height)
        big = np.asarray(im.resize((round(im.width * scale), round(im.height * scale))))
    frames = round(seconds * FPS)
    for k in range(frames):
        t = k / max(1, frames - 1)
        x = round((big.shape[1] - w) * t)
        y = round((big.shape[0] - h) * t / 2)
        yield np.ascontiguousarray(big[y : y + h, x : x + w])


def _encode(src: Path, dst: Path, *, seconds: float, phone: bool) -> Path:
    import av

    dst.parent.mkdir(parents=True, exist_ok=True)
    options = {"preset": "veryfast"}
    if phone:
        options.update(g=str(FPS), keyint_min=str(FPS), sc_threshold="0")
    else:
        options["crf"] = "23"
    with av.open(str(dst), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(FPS), options=options)
        stream.width, stream.height, stream.pix_fmt = *SIZE, "yuv420p"
        if phone:
            stream.bit_rate = 15_000_000
        for pixels in _pan(src, seconds):
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return dst


def make_clips(out: Path, phone: int, low: int, seconds: float) -> tuple[Path, Path]:
    """out/phone and out/low, each clip over another photo (kept between runs)."""
    photos = _photos()
    if len(photos) < max(phone, low):
        raise SystemExit(f"need {max(phone, low)} photos, found {len(photos)}")
    for kind, count in (("phone", phone), ("low", low)):
        for k in range(count):
            dst = out / kind / f"VID_{k:04d}.mp4"
            if not dst.exists():
                started = time.perf_counter()
                src = photos[k if kind == "phone" else len(photos) - 1 - k]
                _encode(src, dst, seconds=seconds, phone=kind == "phone")
                print(f"  made {dst} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return out / "phone", out / "low"


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _timed(cmd: Sequence[str]) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """(wall seconds, CPU seconds of it and its children, the run)."""
    cpu = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
    return wall, _children_cpu() - cpu, done


def sort_time(folder: Path) -> tuple[float, float, dict[str, object]]:
    cmd = [sys.executable, "-m", "remedia_tray", "sort", str(folder), "--engine", "hash",
           "--dry-run", "--no-cache", "--json"]  # fmt: skip
    wall, cpu, done = _timed(cmd)
    return wall, cpu, json.loads(done.stdout)


def decode_all_time(clips: Sequence[Path]) -> tuple[float, float, str]:
    """Every frame of every clip decoded: ffmpeg, or PyAV where ffmpeg is missing."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is not None:
        wall = cpu = 0.0
        for clip in clips:
            w, c, _ = _timed([ffmpeg, "-v", "error", "-i", str(clip), "-f", "null", "-"])
            wall, cpu = wall + w, cpu + c
        return wall, cpu, "ffmpeg -i CLIP -f null -"
    code = (
        "import av, sys\n"
        "for p in sys.argv[1:]:\n"
        "    with av.open(p) as f:\n"
        "        f.streams.video[0].thread_type = 'AUTO'\n"
        "        for _ in f.decode(video=0): pass\n"
    )
    wall, cpu, _ = _timed([sys.executable, "-c", code, *map(str, clips)])
    return wall, cpu, "PyAV full decode (no ffmpeg found: apt-get install ffmpeg)"


def measure(name: str, folder: Path) -> None:
    clips = sorted(folder.rglob("*.mp4"))
    sort_wall, sort_cpu, report = sort_time(folder)
    dec_wall, dec_cpu, how = decode_all_time(clips)
    videos = report.get("images", 0)
    skipped = report.get("skipped", [])
    megabytes = sum(c.stat().st_size for c in clips) / 1e6
    print(f"{name}: {len(clips)} clips of 10 s 1080p ({megabytes:.0f} MB)")
    print(f"  sort (CLI, start-up included): {sort_wall:6.2f} s wall, {sort_cpu:6.2f} s CPU; "
          f"{videos} read, {len(skipped)} skipped; stages {report.get('stages')}")  # fmt: skip
    print(f"  {how}: {dec_wall:6.2f} s wall, {dec_cpu:6.2f} s CPU")
    print(f"  ratio sort / decode-all: {sort_wall / dec_wall:.3f} wall, "
          f"{sort_cpu / dec_cpu:.3f} CPU (target <= 0.333)")  # fmt: skip
    print(f"  rate: {len(clips) / sort_wall:.2f} videos/s (wall, 2 cores)")


def batch_cost(files: int, clip: Path, arriving: Path) -> None:
    """A tray batch in a folder of `files` small photos and the video `clip`: an arrived
    photo against the arrived video `arriving` (which walks the folder for its videos)."""
    from remedia_tray.sorter import SortOptions, sort_folder

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "photos"
        rng = np.random.default_rng(5)
        for k in range(files):
            folder = root / f"{2010 + k % 12}" / f"{k % 50:02d}"
            folder.mkdir(parents=True, exist_ok=True)
            pixels = rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)
            Image.fromarray(pixels).resize((64, 48)).save(folder / f"IMG_{k:06d}.jpg", quality=80)
        shutil.copy(clip, root / "2010" / "VID_0001.mp4")
        cache = Path(tmp) / "cache"
        options = SortOptions(engine="hash", cache_dir=cache)
        started = time.perf_counter()
        sort_folder(root, options)
        first = time.perf_counter() - started
        print(f"batch: a folder of {files} photos and 1 video, first sort {first:.1f} s")
        for kind in ("photo", "video"):
            if kind == "photo":
                new = root / "2011" / "IMG_new.jpg"
                Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(new)
            else:
                new = root / "2011" / "VID_new.mp4"
                shutil.copy(arriving, new)
            started = time.perf_counter()
            report = sort_folder(root, SortOptions(engine="hash", cache_dir=cache, arrived=(new,)))
            took = time.perf_counter() - started
            stages = {k: round(v, 3) for k, v in report.stages.items()}
            print(f"  an arrived {kind}: {took:.2f} s ({report.mode}; stages {stages})")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--phone", type=int, default=8, help="phone-like clips (default 8)")
    parser.add_argument("--low", type=int, default=8, help="low-bitrate clips (default 8)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=None, help="keep the clips here")
    parser.add_argument("--batch-files", type=int, default=0, metavar="N")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="video-speed-"))
    phone, low = make_clips(out, args.phone, args.low, args.seconds)
    if args.phone:
        measure("phone-like (15 Mb/s, a keyframe every second)", phone)
    if args.low:
        measure("low-bitrate (CRF 23, default GOP)", low)
    if args.phone and args.low:
        measure("both sets in one sort", out)
    if args.batch_files:
        clips = sorted(phone.glob("*.mp4"))
        batch_cost(args.batch_files, clips[0], clips[-1])
    if args.out is None:
        shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
