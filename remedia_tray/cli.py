"""Command line: parse, call the library, render. All policy lives in the library."""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import get_args

from ._version import __version__
from .core.keeper import DEFAULT_RULES, RULE_NAMES, split_rules
from .core.planning import SeriesMode
from .core.strictness import DEFAULT_LEVEL, level_name, parse_strictness
from .core.wording import human_bytes, media_count, plural, shown
from .engines import DEFAULT_ENGINE, ENGINE_CHOICES
from .errors import RemediaError
from .terminal_log import TerminalAndLog, log_file, print_err


def _tqdm_progress(desc: str, total: int):  # type: ignore[no-untyped-def]
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="photo", disable=None, file=sys.stderr, leave=False)


def _print_report(report, *, verbose: bool) -> None:  # type: ignore[no-untyped-def]
    verb = "Would move" if report.dry_run else "Moved"
    print(
        f"ReMedia sorted {shown(report.folder)}"
        + (" (dry run: nothing was touched)" if report.dry_run else "")
    )
    print(f"  strictness: {level_name(report.strictness)}")
    for name, desc in report.engines.items():
        print(f"  engine {name}: {shown(desc)}")
    print(
        f"  {media_count(report.images, report.videos)} ({report.decoded} opened, "
        f"{report.from_cache} from cache), {plural(len(report.skipped), 'file')} skipped, "
        f"{report.seconds:.1f} s"
    )
    dups = report.duplicate_groups
    print(
        f"  {verb} {plural(report.duplicates_moved, 'duplicate copy', 'duplicate copies')} in "
        f"{plural(len(dups), 'group')} ({human_bytes(report.duplicate_bytes)}) to duplicates/"
    )
    if report.similar_groups:
        print(
            f"  {verb} {plural(report.similar_moved, 'similar photo')} in "
            f"{plural(len(report.similar_groups), 'group')} to similar/"
        )
    for g in report.groups:
        kept = f"keeps {g.keeper.name}: {g.reason}" if g.keeper else f"best: {g.best.name}"
        print(f"  [{g.kind}/{shown(g.folder.name)}] {shown(kept)}")
        if verbose or report.dry_run:
            for m in g.moves:
                print(f"      {shown(m.src)} -> {shown(m.dst)}")
    listed = report.skipped if verbose else report.skipped[:20]
    for s in listed:
        print(f"  skipped {shown(s.path)}: {shown(s.reason)}")
    if len(report.skipped) > len(listed):
        print(f"  ... and {len(report.skipped) - len(listed)} more skipped (use --verbose)")
    for s in report.failed:
        print(f"  NOT MOVED {shown(s.path)}: {shown(s.reason)}")
    for note in report.notes:
        print(f"  note: {shown(note)}")
    if report.journal is not None:
        print(f"  Undo with: remedia undo {_quoted(report.folder)}")
    if report.review_path is not None:
        print(f"  Review page: {shown(report.review_path)}")


def _quoted(path: Path) -> str:
    """A path in double quotes, to copy into a command (escaped where it must be shown so)."""
    return json.dumps(shown(path), ensure_ascii=False)


def _cmd_sort(args: argparse.Namespace) -> int:
    from .sorter import SortOptions, sort_folder

    if _plain_sort(args) and _hand_off(args.folders):
        return 0
    options = SortOptions(
        engine=args.engine,
        strictness=args.strictness,
        dry_run=args.dry_run,
        workers=args.workers,
        use_cache=not args.no_cache,
        clip_weights=args.clip_weights,
        configured_clip_weights=_configured_clip_weights() if args.engine != "hash" else None,
        full=getattr(args, "full", False),
        keep=args.keep,
        references=tuple(args.reference),
        series=args.series,
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


def _configured_clip_weights() -> Path | None:
    """`clip_weights` from the tray settings: CLI sorts use the weights the tray uses."""
    from .desktop.settings import configured_clip_weights

    return configured_clip_weights()


def _plain_sort(args: argparse.Namespace) -> bool:
    """`remedia sort FOLDER` without options (what file-manager menus run) goes to the tray."""
    return (
        getattr(args, "command", None) == "sort"
        and not (args.dry_run or args.json or args.no_cache or args.workers)
        and args.engine == DEFAULT_ENGINE
        and args.clip_weights is None
        and args.strictness == parse_strictness(DEFAULT_LEVEL)
        and (args.keep, args.reference, args.series) == (None, [], SERIES_MODES[0])
        and all(Path(f).expanduser().is_dir() for f in args.folders)
    )


def _hand_off(folders: list[Path]) -> bool:
    from .desktop.single_instance import hand_off, is_running

    if not is_running():
        return False
    if hand_off(folders):
        for f in folders:
            print(
                f"Handed {shown(f)} to the running ReMedia tray; it notifies you when it is sorted"
            )
        return True
    logging.getLogger(__name__).warning("the running ReMedia tray did not answer; sorting here")
    return False


def _cmd_tray(args: argparse.Namespace) -> int:
    from ._platform import missing_tray_packages, tray_icon_hint

    missing = missing_tray_packages()
    if missing:
        raise RemediaError(
            f"the tray needs {' and '.join(missing)}; install with: "
            f"{_quoted(Path(sys.executable))} -m pip install {' '.join(missing)}"
        )
    from .desktop.service import TrayService
    from .desktop.single_instance import AlreadyRunning, ServiceLock
    from .desktop.tray import Tray, TrayUnavailable, run_headless

    lock = ServiceLock()
    try:
        lock.acquire()
    except AlreadyRunning as exc:
        print(f"remedia: {exc}; use its tray icon, or quit it first", file=sys.stderr)
        return 1
    try:
        service = TrayService(extra_watch=tuple(args.watch), settle=args.settle)
        service.start()
        lock.serve(service.handle_request)  # after start: an answer means "watching"
        try:
            Tray(service).run()
        except TrayUnavailable as exc:
            hint = tray_icon_hint()
            logging.getLogger(__name__).warning(
                "no tray icon (%s)%s; watching and sorting without one until stopped",
                exc,
                f"; for one: {hint}" if hint else "",
            )
            run_headless(service)
    finally:
        lock.release()
    return 0


def _cmd_autostart(args: argparse.Namespace) -> int:
    from .desktop.autostart import Autostart

    autostart = Autostart()
    if args.action == "enable":
        print(f"ReMedia starts at login ({autostart.enable()})")
    elif args.action == "disable":
        removed = autostart.disable()
        print("ReMedia no longer starts at login" if removed else "ReMedia was not set to start")
    else:
        print("enabled" if autostart.is_enabled() else "disabled")
    return 0


def _cmd_forget(args: argparse.Namespace) -> int:
    from .errors import FolderNotFound
    from .filing.decisions import forget

    folder = Path(args.folder).expanduser().absolute()
    if not folder.is_dir():
        raise FolderNotFound(f"not a folder: {folder}")
    count = forget(folder)
    print(
        f"Forgot {plural(count, 'photo')} you had moved back; the next sort may sort "
        + ("it" if count == 1 else "them")
        + " again"
    )
    return 0


def _cmd_integrate(args: argparse.Namespace) -> int:
    from .integrations import current_platform, get_installer

    platform = current_platform()
    if args.all and platform == "linux":
        installer = get_installer(platform, everything=True)
    else:
        installer = get_installer(platform)
    if args.reg is not None:
        from .integrations.windows import WindowsInstaller

        if not isinstance(installer, WindowsInstaller) or args.action == "status":
            raise RemediaError("--reg writes a Windows .reg file for install or uninstall")
        path = installer.export_reg(args.reg, uninstall=args.action == "uninstall")
        print(f"Wrote {shown(path)}; import it with: regedit /S {_quoted(path)}")
        return 0
    if args.action == "status":
        for entry in installer.status():
            detail = f" ({entry.detail})" if entry.detail else ""
            where = shown(", ".join(entry.locations))
            print(f"{entry.name:<30} {entry.state:<10} {where}{shown(detail)}")
        return 0
    done = installer.install() if args.action == "install" else installer.uninstall()
    verb = "added" if args.action == "install" else "removed"
    if done.changed:
        print(f'"Sort with ReMedia" {verb}:')
        for item in done.changed:
            print(f"  {shown(item)}")
    else:
        print("Already installed; nothing changed" if verb == "added" else "Nothing to remove")
    for note in done.notes:
        print(f"  note: {shown(note)}")
    return 0


def _notify(report) -> None:  # type: ignore[no-untyped-def]
    try:
        from .desktop.notify import notify_report
    except ImportError:
        logging.getLogger(__name__).warning("desktop notifications are not available")
        return
    notify_report(report)


def _cmd_undo(args: argparse.Namespace) -> int:
    from .filing.mover import undo_last_sort

    folder = Path(args.folder).expanduser().absolute()
    result = undo_last_sort(folder)
    source = shown(result.journal.name)
    if len(result.journals) > 1:  # an interrupted sort and the sort that resumed it
        source += f" and {plural(len(result.journals) - 1, 'earlier journal')} of the same sort"
    print(f"Restored {plural(result.restored, 'file')} from {source}")
    for p in result.problems:
        print(f"  {shown(p.path)}: {p.reason}")
    if result.remaining:
        left = max(result.files_left, len(result.remaining))
        print(f"Not back yet, {plural(left, 'file')} (this sort stays undoable):")
        for p in result.remaining:
            print(f"  {shown(p.path)}: {p.reason}")
        print(f"Fix that, then run `remedia undo {_quoted(folder)}` again to put back the rest.")
    _refresh_folder_page(folder)
    return 1 if result.problems or result.remaining else 0


def _refresh_folder_page(folder: Path) -> None:
    """Rewrite review/index.html now (the tray opens it as a file): it shows the folder as it
    is after the undo. The files are back either way; a failure costs only the page."""
    from .review.writer import write_folder_page

    try:
        write_folder_page(folder)
    except Exception as exc:  # the undo is done and journaled; only the page is stale
        logging.getLogger(__name__).warning("the review page was not rewritten: %s", exc)


def _cmd_review(args: argparse.Namespace) -> int:
    from .review.writer import ensure_page, open_in_browser

    if args.serve:
        from .review.server import serve_review

        def announce(url: str) -> None:
            print(url, flush=True)  # the first line on stdout: scripts and the tray read it
            if not args.no_browser:
                print("Serving the review page; press Ctrl-C to stop", file=sys.stderr)

        try:
            serve_review(
                Path(args.folder).expanduser().absolute(),
                announce=announce,
                open_browser=not args.no_browser,
                idle=args.idle,
            )
        except KeyboardInterrupt:
            pass
        return 0
    page = ensure_page(Path(args.folder).expanduser().absolute())
    if args.print_path:
        print(page)
        return 0
    if not open_in_browser(page):
        print(
            f"remedia: could not start a web browser; open this file: {shown(page)}",
            file=sys.stderr,
        )
        return 1
    print(f"Opened {shown(page)}")
    return 0


def _cmd_model(args: argparse.Namespace) -> int:
    from .engines.clip_weights import (
        clip_download_target,
        convert_clip_weights,
        download_clip_weights,
        find_clip_weights,
    )

    if args.action in ("download", "import"):
        if args.action == "import":
            if args.file is None:
                raise RemediaError("remedia model import FILE: name the open_clip checkpoint")
            source = args.file
        else:
            source = clip_download_target()
            if not source.is_file() or args.force:
                print("Downloading the OpenAI CLIP ViT-B/32 weights (once; about 600 MB)...")
                source = download_clip_weights(force=args.force)
        print(f"Converting {shown(source.name)} for ONNX Runtime (once)...")
        done = convert_clip_weights(source)
        print(
            f"Saved the image model to {shown(done.path)} ({done.precision}, "
            f"{done.path.stat().st_size / 1e6:.0f} MB); sorts now use CLIP, offline"
        )
        return 0
    lookup = find_clip_weights(args.clip_weights, configured=_configured_clip_weights())
    if lookup.found is not None:
        found = lookup.found
        print(f"AI engine: CLIP ViT-B-32, weights {shown(found.path)} ({shown(found.source)})")
    else:
        print(
            "AI engine: bundled EfficientNet-Lite0 (no CLIP weights found; "
            "`remedia model download` fetches them once)"
        )
    for problem in lookup.problems:
        print(f"  note: {shown(problem)}")
    return 0


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
    print(f"Copied the demo photos to {shown(target)} (the originals stay untouched)")
    args.folders = [target]
    status = _cmd_sort(args)
    print(f"\nLook at the result: ls -R {_quoted(target)}")
    return status


SERIES_MODES: tuple[SeriesMode, ...] = get_args(SeriesMode)  # the first is the default


def _folder_arg(text: str) -> Path:
    path = Path(text).expanduser()
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"not a folder: {text}")
    return Path(os.path.abspath(path))


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
    sub = parser.add_subparsers(dest="command", required=True)

    def add_sort_options(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--engine", choices=ENGINE_CHOICES, default=DEFAULT_ENGINE,
            help="both (default): duplicates by hash, then similar photos by AI; "
            "hash: duplicates only; clip: the AI engine alone (all groups go to similar/)",
        )  # fmt: skip
        p.add_argument(
            "--clip-weights", type=Path, default=None, metavar="FILE",
            help="local CLIP ViT-B-32 weights (.safetensors/.bin/.pt); never downloads",
        )  # fmt: skip
        p.add_argument(
            "--strictness", type=_strictness_arg, default=parse_strictness(DEFAULT_LEVEL),
            help="exact, strict, balanced (default), loose, or 0-100 (higher = stricter)",
        )  # fmt: skip
        p.add_argument(
            "--keep", type=split_rules, default=None, metavar="RULE[,RULE...]",
            help=f"which copy of a duplicate stays, rules in order: {', '.join(RULE_NAMES)}, "
            f"folder:PATH (default: {', '.join(DEFAULT_RULES)})",
        )  # fmt: skip
        p.add_argument(
            "--reference", action="append", type=_folder_arg, default=[], metavar="DIR",
            help="a reference folder (repeatable): nothing in it moves, and a group with a "
            "copy in it keeps that copy",
        )  # fmt: skip
        p.add_argument(
            "--series", choices=SERIES_MODES, default=SERIES_MODES[0],
            help="keep-best (default): the best shot of a series stays; move-all: all move",
        )  # fmt: skip
        p.add_argument("--dry-run", action="store_true", help="show the plan, touch nothing")
        p.add_argument("--workers", type=int, default=0,
                       help="decoding processes (default: all cores)")  # fmt: skip
        p.add_argument("--no-cache", action="store_true",
                       help="ignore and do not fill the feature cache")  # fmt: skip
        p.add_argument("--json", action="store_true", help="print the report as JSON")
        p.add_argument("--notify", action="store_true",
                       help="send a desktop notification with the result")  # fmt: skip
        p.add_argument("-v", "--verbose", action="store_true",
                       help="list every move and skipped file")  # fmt: skip

    p_sort = sub.add_parser("sort", help="sort one or more folders")
    p_sort.add_argument("folders", nargs="+", type=Path, metavar="FOLDER")
    add_sort_options(p_sort)
    p_sort.add_argument(
        "--full",
        action="store_true",
        help="regroup the whole library, photos already in duplicates/ and similar/ included",
    )
    p_sort.set_defaults(func=_cmd_sort)

    p_undo = sub.add_parser("undo", help="put back everything the last sort of FOLDER moved")
    p_undo.add_argument("folder", type=Path, metavar="FOLDER")
    p_undo.set_defaults(func=_cmd_undo)

    p_review = sub.add_parser("review", help="open the review page of the last sort of FOLDER")
    p_review.add_argument("folder", type=Path, metavar="FOLDER")
    p_review.add_argument("--print-path", action="store_true",
                          help="print the page's path instead of opening it")  # fmt: skip
    p_review.add_argument(
        "--serve", action="store_true",
        help="serve the page from a local server (127.0.0.1, secret token) with action buttons",
    )  # fmt: skip
    p_review.add_argument("--no-browser", action="store_true",
                          help="with --serve: only print the page's URL")  # fmt: skip
    p_review.add_argument(
        "--idle", type=float, default=None, metavar="SECONDS",
        help="with --serve: stop after this many seconds without a request",
    )  # fmt: skip
    p_review.set_defaults(func=_cmd_review)

    p_demo = sub.add_parser("demo", help="sort a copy of the bundled demo photos")
    add_sort_options(p_demo)
    p_demo.set_defaults(func=_cmd_demo)

    p_tray = sub.add_parser("tray", help="run in the tray: watch folders and sort new photos")
    p_tray.add_argument(
        "--watch", action="append", type=Path, default=[], metavar="FOLDER",
        help="also watch FOLDER for this run (repeatable; adds to the saved folders)",
    )  # fmt: skip
    p_tray.add_argument(
        "--settle", type=_settle_seconds, default=None, metavar="SECONDS",
        help="seconds a new file must stay unchanged before it is sorted (default: settings)",
    )  # fmt: skip
    p_tray.set_defaults(func=_cmd_tray)

    p_auto = sub.add_parser("autostart", help="start the tray at login, or stop doing so")
    p_auto.add_argument("action", choices=["enable", "disable", "status"])
    p_auto.set_defaults(func=_cmd_autostart)

    p_forget = sub.add_parser("forget", help="forget which photos you moved back out of "
                              "duplicates/ or similar/")  # fmt: skip
    p_forget.add_argument("folder", type=Path, metavar="FOLDER")
    p_forget.set_defaults(func=_cmd_forget)

    p_int = sub.add_parser("integrate", help='add or remove "Sort with ReMedia" in '
                           "file-manager menus (this user)")  # fmt: skip
    p_int.add_argument("action", choices=["install", "uninstall", "status"])
    p_int.add_argument(
        "--all", action="store_true",
        help="Linux: add entries for every supported file manager, not only the installed ones",
    )  # fmt: skip
    p_int.add_argument(
        "--reg", type=Path, metavar="FILE",
        help="Windows: write a .reg file for regedit instead of changing the registry",
    )  # fmt: skip
    p_int.set_defaults(func=_cmd_integrate)

    p_model = sub.add_parser("model", help="the AI model: download or import CLIP once, "
                             "or show status")  # fmt: skip
    p_model.add_argument("action", choices=["download", "import", "status"])
    p_model.add_argument("file", nargs="?", type=Path, default=None, metavar="FILE",
                         help="for import: a local open_clip ViT-B-32 checkpoint")  # fmt: skip
    p_model.add_argument("--clip-weights", type=Path, default=None, metavar="FILE")
    p_model.add_argument("--force", action="store_true", help="download again")
    p_model.set_defaults(func=_cmd_model)
    return parser


def _settle_seconds(text: str) -> float:
    from .desktop.settings import SETTLE_RANGE

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    lo, hi = SETTLE_RANGE
    if not lo <= value <= hi:
        raise argparse.ArgumentTypeError(f"settle time must be between {lo:g} and {hi:g} s")
    return value


def _tolerate_odd_names() -> None:
    # Names that are not UTF-8 arrive surrogate-escaped: print their real bytes (as `ls` does).
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="surrogateescape")
            except (ValueError, OSError):
                pass


def _os_error(exc: OSError) -> str:
    """An operating-system error the library did not word, as one line."""
    where = f" ({shown(exc.filename)})" if exc.filename else ""
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return f"disk full{where}; free some space and run the same command again"
    if exc.errno == errno.EROFS:
        return f"read-only file system{where}"
    return f"{exc.strerror or type(exc).__name__}{where}"


def _stdout_gone() -> int:
    """The reader of stdout left (`remedia sort ... | head`): stop printing, quietly. Exits
    141 (128 + SIGPIPE) as a program killed by the broken pipe would (for `set -o pipefail`)."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python's last flush must not fail again
        os.close(devnull)
    return 141


def main(argv: Sequence[str] | None = None) -> int:
    _tolerate_odd_names()
    args = build_parser().parse_args(argv)
    with TerminalAndLog(log_file()) as noise:
        try:
            status = int(args.func(args))
            sys.stdout.flush()
        except RemediaError as exc:
            print_err(f"remedia: {shown(exc)}")
            status = exc.exit_code
        except BrokenPipeError:
            return _stdout_gone()
        except KeyboardInterrupt:
            print_err("remedia: interrupted; run the same command again to continue")
            status = 130
        except OSError as exc:
            print_err(f"remedia: {_os_error(exc)}")
            status = 1
        except Exception as exc:
            noise.said = True  # the line below names the log
            logging.getLogger("remedia.crash").error("unexpected error", exc_info=True)
            print_err(
                f"remedia: unexpected error ({type(exc).__name__}: {shown(exc)}); "
                f"the details are in {shown(noise.path)}"
            )
            status = 1
        noise.say_where()
    return status
