"""Command line: parse, call the library, render. All policy lives in the library."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .errors import RemediaError
from .strictness import DEFAULT_LEVEL, level_name, parse_strictness


def _tqdm_progress(desc: str, total: int):  # type: ignore[no-untyped-def]
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="photo", disable=None, file=sys.stderr, leave=False)


def _human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} GB"


def _print_report(report, *, verbose: bool) -> None:  # type: ignore[no-untyped-def]
    verb = "Would move" if report.dry_run else "Moved"
    print(
        f"ReMedia sorted {report.folder}"
        + (" (dry run: nothing was touched)" if report.dry_run else "")
    )
    print(f"  strictness: {level_name(report.strictness)}")
    for name, desc in report.engines.items():
        print(f"  engine {name}: {desc}")
    print(
        f"  {report.images} photos read ({report.decoded} decoded, "
        f"{report.from_cache} from cache), {len(report.skipped)} files skipped, "
        f"{report.seconds:.1f} s"
    )
    dups = report.duplicate_groups
    print(
        f"  {verb} {report.duplicates_moved} duplicate copies in {len(dups)} groups "
        f"({_human_bytes(report.duplicate_bytes)}) to duplicates/"
    )
    if report.similar_groups:
        print(
            f"  {verb} {report.similar_moved} similar photos in "
            f"{len(report.similar_groups)} groups to similar/"
        )
    for g in report.groups:
        kept = f"keeps {g.keeper.name} ({g.reason})" if g.keeper else f"best: {g.best.name}"
        print(f"  [{g.kind}/{g.folder.name}] {kept}")
        if verbose or report.dry_run:
            for m in g.moves:
                print(f"      {m.src} -> {m.dst}")
    shown = report.skipped if verbose else report.skipped[:20]
    for s in shown:
        print(f"  skipped {s.path}: {s.reason}")
    if len(report.skipped) > len(shown):
        print(f"  ... and {len(report.skipped) - len(shown)} more skipped (use --verbose)")
    for s in report.failed:
        print(f"  NOT MOVED {s.path}: {s.reason}")
    for note in report.notes:
        print(f"  note: {note}")
    if report.journal is not None:
        print(f"  Undo with: remedia undo {json.dumps(str(report.folder))}")


def _cmd_sort(args: argparse.Namespace) -> int:
    from .sorter import SortOptions, sort_folder

    options = SortOptions(
        engine=args.engine,
        strictness=args.strictness,
        dry_run=args.dry_run,
        workers=args.workers,
        use_cache=not args.no_cache,
    )
    status = 0
    for folder in args.folders:
        report = sort_folder(folder, options, progress=_tqdm_progress)
        if args.json:
            print(json.dumps(report.to_dict(), ensure_ascii=False))
        else:
            _print_report(report, verbose=args.verbose)
        if args.notify:
            _notify(report)
        if report.failed:
            status = 1
    return status


def _notify(report) -> None:  # type: ignore[no-untyped-def]
    try:
        from .notify import notify_report
    except ImportError:
        logging.getLogger(__name__).warning("desktop notifications are not available")
        return
    notify_report(report)


def _cmd_undo(args: argparse.Namespace) -> int:
    from .mover import undo_last_sort

    result = undo_last_sort(Path(args.folder).expanduser().absolute())
    print(f"Restored {result.restored} files from {result.journal.name}")
    for p in result.problems:
        print(f"  {p.path}: {p.reason}")
    return 1 if result.problems else 0


def _demo_source() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here / "demo", here.parent / "assets" / "demo"):
        if candidate.is_dir():
            return candidate
    raise RemediaError("demo photos not found (expected assets/demo in the source tree)")


def _cmd_demo(args: argparse.Namespace) -> int:
    source = _demo_source()
    target = Path(tempfile.mkdtemp(prefix="remedia-demo-")) / "photos"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("ATTRIBUTION.md"))
    print(f"Copied the demo photos to {target} (the originals stay untouched)")
    args.folders = [target]
    status = _cmd_sort(args)
    print(f"\nLook at the result: ls -R {target}")
    return status


def _strictness_arg(value: str) -> int:
    try:
        return parse_strictness(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="remedia", description="Sort photos into duplicates and similar groups, locally."
    )
    parser.add_argument("--version", action="version", version=f"remedia {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and the summary")
    sub = parser.add_subparsers(dest="command", required=True)

    def add_sort_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--engine", choices=["both", "hash", "clip"], default="hash")
        p.add_argument(
            "--strictness",
            type=_strictness_arg,
            default=parse_strictness(DEFAULT_LEVEL),
            help="exact, strict, balanced (default), loose, or 0-100 (higher = stricter)",
        )
        p.add_argument("--dry-run", action="store_true", help="show the plan, touch nothing")
        p.add_argument(
            "--workers", type=int, default=0, help="decoding processes (default: all cores)"
        )
        p.add_argument(
            "--no-cache", action="store_true", help="ignore and do not fill the feature cache"
        )
        p.add_argument("--json", action="store_true", help="print the report as JSON")
        p.add_argument(
            "--notify", action="store_true", help="send a desktop notification with the result"
        )
        p.add_argument(
            "-v", "--verbose", action="store_true", help="list every move and skipped file"
        )

    p_sort = sub.add_parser("sort", help="sort one or more folders")
    p_sort.add_argument("folders", nargs="+", type=Path, metavar="FOLDER")
    add_sort_options(p_sort)
    p_sort.set_defaults(func=_cmd_sort)

    p_undo = sub.add_parser("undo", help="put back everything the last sort of FOLDER moved")
    p_undo.add_argument("folder", type=Path, metavar="FOLDER")
    p_undo.set_defaults(func=_cmd_undo)

    p_demo = sub.add_parser("demo", help="sort a copy of the bundled demo photos")
    add_sort_options(p_demo)
    p_demo.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="remedia: %(message)s")
    try:
        return int(args.func(args))
    except RemediaError as exc:
        print(f"remedia: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("remedia: interrupted; run the same command again to continue", file=sys.stderr)
        return 130
