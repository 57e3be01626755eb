"""Review page speed for a large sort: thumbnails (cold and warm) apart from the HTML, and the
page's share of a real first sort, whose scan already made the previews.

Builds a finished sort of N duplicate groups (default 1,000) from real photos: each group has
the kept original, a half-size recompressed copy and a byte-identical copy, the two copies
already moved into duplicates/<group>/ as a real sort leaves them. Every file is its own inode,
so a cold run makes one thumbnail per file. Target: the page for 1,000 groups in at most 5 s.

    python benchmarks/review_page.py [--groups 1000] [--source mixed|photos] [--workers 0]

--source mixed: Holidays (400 px wide) and the 46 photos of shared/data/photos (0.2-18 MP);
--source photos: only the large photos (worst case for cold thumbnails; use fewer groups).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import shared
from remedia_tray.core.planning import Move, PlannedGroup
from remedia_tray.filing.report import MemberDetail, SortReport
from remedia_tray.layout import thumbs_dir as layout_thumbs_dir
from remedia_tray.review import writer as review
from remedia_tray.review.thumbnails import ensure_thumbnails

TARGET_S = 5.0


def bases(source: str) -> list[Path]:
    photos = shared("photos")
    big = sorted((photos / "images").iterdir())
    if source == "photos":
        return big
    holidays = shared("holidays")
    with open(holidays / "ground_truth.csv", newline="") as fh:
        small = [holidays / "images" / row["image"] for row in csv.DictReader(fh)]
    return small + big


def build(root: Path, n_groups: int, source: str) -> SortReport:
    """Files on disk as a finished sort leaves them, and that sort's report."""
    srcs = bases(source)
    root.mkdir(parents=True, exist_ok=True)
    small_copy: dict[Path, bytes] = {}
    groups: list[PlannedGroup] = []
    details: dict[Path, MemberDetail] = {}
    for k in range(n_groups):
        src = srcs[k % len(srcs)]
        if src not in small_copy:
            with Image.open(src) as im:
                im = im.convert("RGB")
                im.thumbnail((max(64, im.width // 2), max(64, im.height // 2)))
                buf = io.BytesIO()
                im.save(buf, "JPEG", quality=60)
                small_copy[src] = buf.getvalue()
        kept = root / "Camera" / f"IMG_{k:04d}{src.suffix}"
        folder = root / "duplicates" / kept.stem
        folder.mkdir(parents=True, exist_ok=True)
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, kept)
        wa_src = root / "WhatsApp" / f"IMG-WA{k:04d}.jpg"
        dl_src = root / "Downloads" / f"IMG_{k:04d} (1){src.suffix}"
        wa, dl = folder / wa_src.name, folder / dl_src.name
        wa.write_bytes(small_copy[src])
        shutil.copyfile(src, dl)
        for original, now in ((kept, kept), (wa_src, wa), (dl_src, dl)):
            st = now.stat()
            with Image.open(now) as im:
                w, h = im.size
            details[original] = MemberDetail(st.st_size, st.st_mtime_ns, w, h, "JPEG", 0)
        groups.append(
            PlannedGroup(
                kind="duplicates",
                folder=folder,
                keeper=kept,
                best=kept,
                reason=f"most pixels ({details[kept].width}x{details[kept].height})",
                members=(kept, wa_src, dl_src),
                moves=(Move(wa_src, wa), Move(dl_src, dl)),
            )
        )
    return SortReport(
        folder=root,
        dry_run=False,
        strictness=50,
        engines={"hash": "dHash+pHash"},
        files_seen=3 * n_groups,
        images=3 * n_groups,
        decoded=3 * n_groups,
        from_cache=0,
        groups=tuple(groups),
        skipped=(),
        failed=(),
        journal=root / ".remedia" / "journal" / "bench.jsonl",
        seconds=0.0,
        details=details,
    )


def build_unsorted(root: Path, n_groups: int, source: str) -> None:
    """The same kind of library before any sort: each original, a small copy, a byte copy."""
    srcs = bases(source)
    for sub in ("Camera", "WhatsApp", "Downloads"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for k in range(n_groups):
        src = srcs[k % len(srcs)]
        with Image.open(src) as im:
            im = im.convert("RGB")
            if k >= len(srcs):  # more groups than sources: each group its own picture
                im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            kept = root / "Camera" / f"IMG_{k:04d}.jpg"
            im.save(kept, quality=92)
            im.thumbnail((max(64, im.width // 2), max(64, im.height // 2)))
            im.save(root / "WhatsApp" / f"IMG-WA{k:04d}.jpg", quality=60)
        shutil.copyfile(kept, root / "Downloads" / f"IMG_{k:04d} (1).jpg")


def page_beyond_a_real_sort(
    work: Path, n_groups: int, source: str, workers: int
) -> dict[str, float]:
    """A real first sort (hash engine), and the part of it spent on the review page."""
    from remedia_tray.sorter import SortOptions, sort_folder

    root = work / "Unsorted"
    build_unsorted(root, n_groups, source)
    spent: list[float] = []
    real = review.write_review

    def timed_review(*args: object, **kwargs: object) -> object:
        t0 = time.perf_counter()
        try:
            return real(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            spent.append(time.perf_counter() - t0)

    review.write_review = timed_review  # type: ignore[assignment]
    try:
        t0 = time.perf_counter()
        report = sort_folder(
            root, SortOptions(engine="hash", workers=workers, cache_dir=work / "cache")
        )
        total = time.perf_counter() - t0
    finally:
        review.write_review = real  # type: ignore[assignment]
    return {
        "real_sort_groups": len(report.duplicate_groups),
        "real_sort_photos": report.images,
        "real_sort_s": round(total, 2),
        "page_beyond_real_sort_s": round(sum(spent), 2),
    }


def timed(fn: Callable[[], object], repeat: int = 1) -> float:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=1000)
    parser.add_argument("--source", choices=["mixed", "photos"], default="mixed")
    parser.add_argument("--workers", type=int, default=0, help="0: one per core")
    parser.add_argument(
        "--no-real-sort", action="store_true", help="skip the first real sort of the library"
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="remedia-review-bench-"))
    try:
        root = work / "Photos"
        t0 = time.perf_counter()
        report = build(root, args.groups, args.source)
        setup_s = time.perf_counter() - t0
        out_dir = review.review_dir(root)
        thumbs_dir = layout_thumbs_dir(root)
        saved = report.saved()
        photos = [Path(p) for p in review.current_locations(saved)]
        mb = sum(p.stat().st_size for p in photos) / 2**20

        cold_thumbs = timed(lambda: ensure_thumbnails(photos, thumbs_dir, workers=args.workers))
        cold_1 = None
        if args.workers == 0 and (os.cpu_count() or 1) > 1:
            shutil.rmtree(thumbs_dir)
            cold_1 = timed(lambda: ensure_thumbnails(photos, thumbs_dir, workers=1))
        warm_thumbs = timed(lambda: ensure_thumbnails(photos, thumbs_dir), repeat=3)

        thumbs = ensure_thumbnails(photos, thumbs_dir)
        assert not thumbs.problems, thumbs.problems
        by_path = {str(k): v for k, v in thumbs.thumbs.items()}
        to_dict_s = timed(report.to_dict, repeat=3)
        html_s = timed(lambda: review.render_report(saved, page_dir=out_dir, thumbs=by_path), 5)
        html = review.render_report(saved, page_dir=out_dir, thumbs=by_path)

        page_warm = timed(lambda: review.write_review(report, workers=args.workers), repeat=3)
        shutil.rmtree(out_dir)
        page_cold = timed(lambda: review.write_review(report, workers=args.workers))

        n = len(photos)
        result = {
            "groups": args.groups,
            "photos": n,
            "source": args.source,
            "photos_mb": round(mb, 1),
            "cores": os.cpu_count(),
            "setup_s (not timed below)": round(setup_s, 1),
            "thumbnails_cold_s": round(cold_thumbs, 2),
            "thumbnails_cold_ms_each": round(1000 * cold_thumbs / n, 1),
            "thumbnails_cold_1_worker_s": round(cold_1, 2) if cold_1 is not None else None,
            "thumbnails_warm_s": round(warm_thumbs, 3),
            "report_to_dict_s": round(to_dict_s, 3),
            "html_render_s": round(html_s, 3),
            "html_mb": round(len(html.encode()) / 2**20, 2),
            "thumbs_mb": round(sum(p.stat().st_size for p in thumbs_dir.iterdir()) / 2**20, 1),
            "page_total_warm_s": round(page_warm, 3),
            "page_total_cold_s": round(page_cold, 2),
            "target_s": TARGET_S,
            "warm_page_vs_target": round(page_warm / TARGET_S, 3),
            "cold_page_vs_target": round(page_cold / TARGET_S, 2),
        }
        if not args.no_real_sort:
            # Previews made from the scan's own decode: the page costs no second decode.
            real = page_beyond_a_real_sort(work, args.groups, args.source, args.workers)
            result.update(real)
            result["page_beyond_real_sort_vs_target"] = round(
                real["page_beyond_real_sort_s"] / TARGET_S, 2
            )
        print(json.dumps(result, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
