"""Which copy of a duplicate group stays in place: an ordered list of criteria, kept as data.

Each criterion has a name, a key (smaller is better) and the reason shown when it is the one
that set the kept copy apart from the runner-up. The README shows this table. The keep rules
(`parse_rules`) are the user's order of them (`remedia sort --keep newest,largest`), else
`DEFAULT_RULES`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..errors import RemediaError
from .media import ImageInfo, MediaFile
from .mediasets import RAW_SUFFIXES, Role


@dataclass(frozen=True)
class KeeperChoice:
    index: int  # position within the group's members
    reason: str
    #: The criterion that decided ("" when there was one copy only).
    criterion: str = ""


#: Camera RAW kinds, as `ImageInfo.format` names them ("DNG", "CR2", "CR3", "NEF", ...).
RAW_FORMATS = frozenset(suffix[1:].upper() for suffix in RAW_SUFFIXES)
#: What cameras and phones write; PNG, WebP, GIF and BMP copies of a photo are re-saves.
CAMERA_FORMATS = frozenset({"JPEG", "MPO", "HEIF", "AVIF", "TIFF"}) | RAW_FORMATS
#: What screenshots are saved as: their JPEG copies are lossy re-saves.
LOSSLESS_FORMATS = frozenset({"PNG", "TIFF", "BMP"})


@dataclass(frozen=True)
class Copy:
    """One member of a group, as the criteria see it."""

    file: MediaFile
    info: ImageInfo
    #: Pixels that hold picture: an upscale counts only those of the copy it was made from.
    detail_pixels: int
    #: More pixels than a smaller copy but no more detail (measured on the pixels).
    upscaled: bool = False
    #: A screenshot, page or slide (mostly flat), whose original is lossless, not a photo.
    graphic: bool = False
    #: The companions this copy's media set carries (its RAW, Live video, sidecars).
    companions: tuple[Role, ...] = ()
    #: The date taken, where the rules read it (None: unknown or not read; the file time counts).
    taken: datetime | None = None

    @property
    def raw(self) -> bool:
        return self.info.format in RAW_FORMATS

    @classmethod
    def of(cls, file: MediaFile, info: ImageInfo) -> Copy:
        return cls(file, info, info.pixels)


Key = tuple[int | bool | str, ...]

#: Why a copy stays when the user chose it on the review page: that choice comes before
#: every criterion below (the review page and the sorter both word it so).
CHOSEN_REASON = "your choice on the review page"


@dataclass(frozen=True)
class Criterion:
    name: str
    means: str  # one line for the README
    key: Callable[[Copy], Key]
    reason: Callable[[Copy, Copy], str]  # (kept, runner-up) -> why


def _size(c: Copy) -> str:
    return f"{c.info.width}x{c.info.height}"


def _original(best: Copy, other: Copy) -> str:
    if best.raw and not other.raw:
        return f"camera RAW ({best.info.format}; the other copy is a {other.info.format} rendition)"
    return f"camera original (EXIF: {best.info.camera})"


#: How a companion reads in a reason: "carries its Live video and XMP sidecar".
_CARRIED: dict[Role, str] = {
    "raw": "RAW",
    "live": "Live video",
    "aae": "Apple edits (AAE)",
    "edited": "edited rendition",
    "xmp": "XMP sidecar",
    "json": "Takeout metadata (JSON)",
    "thm": "camera thumbnail (THM)",
}


def _carried(c: Copy) -> list[str]:
    return [_CARRIED[role] for role in _CARRIED if role in c.companions]


def _carries(best: Copy, other: Copy) -> str:
    words = _carried(best)
    text = words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"
    if other.companions:
        return f"carries its {text} (the other copy carries less)"
    return f"carries its {text}"


def _dated(word: str) -> Callable[[Copy, Copy], str]:
    """The reason of `oldest` / `newest`: the date taken where it decided, else the file time."""

    def reason(best: Copy, other: Copy) -> str:
        if best.taken is not None and best.taken != other.taken:
            close = other.taken is not None and abs(best.taken - other.taken).total_seconds() < 60
            return f"{word} (taken {best.taken:%Y-%m-%d %H:%M{':%S' if close else ''}})"
        same = ", same date taken" if best.taken is not None else ""
        return f"{word} by file time{same}"

    return reason


def _when(c: Copy) -> int:
    """Seconds since the epoch: the date taken, else the file time (local time, as EXIF)."""
    return int(c.taken.timestamp()) if c.taken is not None else c.file.mtime_ns // 1_000_000_000


CRITERIA: tuple[Criterion, ...] = (
    Criterion(
        "original",
        "the camera's own file: its RAW (DNG, CR2, CR3, NEF, ...) over any JPEG or HEIC "
        "rendition of it, then the camera's own metadata (EXIF make, model or date taken)",
        lambda c: (not (c.raw or c.info.camera), not c.raw),
        _original,
    ),
    Criterion(
        "resolution",
        "more real detail: more pixels, where an upscale counts only the pixels of the copy "
        "it was made from and loses to it",
        lambda c: (-c.detail_pixels, c.upscaled),
        lambda best, other: (
            f"the original of an upscale ({_size(best)}; {_size(other)} holds no more detail)"
            if other.upscaled and best.detail_pixels >= other.detail_pixels
            else f"most pixels ({_size(best)})"
        ),
    ),
    Criterion(
        "format",
        "the format the original was made in: for a photo a camera format (RAW, JPEG, HEIC, "
        "AVIF, TIFF) over a re-save (PNG, WebP, GIF, BMP); for a screenshot, page or slide a "
        "lossless format (PNG, TIFF, BMP) over a lossy re-save",
        lambda c: (c.info.format not in (LOSSLESS_FORMATS if c.graphic else CAMERA_FORMATS),),
        lambda best, other: (
            f"{'lossless' if best.graphic else 'original'} format ({best.info.format}; "
            f"the other copy is {other.info.format})"
        ),
    ),
    Criterion(
        "metadata",
        "more EXIF fields",
        lambda c: (-c.info.exif_fields,),
        lambda best, _: f"most metadata ({best.info.exif_fields} EXIF fields)",
    ),
    Criterion("largest", "the larger file", lambda c: (-c.file.size,), lambda *_: "largest file"),
    Criterion("smallest", "the smaller file", lambda c: (c.file.size,), lambda *_: "smallest file"),
    Criterion(
        "set",
        "the copy that carries its companions (RAW, Live video, sidecars) over a bare copy",
        lambda c: (-len(set(c.companions)),),
        _carries,
    ),
    Criterion(
        "oldest",
        "the earlier date taken (EXIF DateTimeOriginal or DateTime; a video's creation time), "
        "else the older file time",
        lambda c: (_when(c), c.file.mtime_ns),
        _dated("oldest"),
    ),
    Criterion(
        "newest",
        "the later date taken, else the newer file time",
        lambda c: (-_when(c), -c.file.mtime_ns),
        _dated("newest"),
    ),
    Criterion(
        "path",
        "the shorter path, then the first by name",
        lambda c: (len(str(c.file.path)), str(c.file.path)),
        lambda best, other: (
            "shortest path"
            if len(str(best.file.path)) != len(str(other.file.path))
            else "first by name"
        ),
    ),
)
_BY_NAME = {c.name: c for c in CRITERIA}
#: The criteria that read the date taken: only they make a sort read it.
DATED = frozenset({"oldest", "newest"})
#: Rules that cannot both decide: a list may name one of each pair.
_OPPOSITES = {"largest": "smallest", "smallest": "largest", "oldest": "newest", "newest": "oldest"}
#: `folder:PATH` prefers copies under PATH (relative: inside the sorted folder).
FOLDER_RULE = "folder:"
#: The keep rules when the user sets none, in order. `set` comes after `metadata` and
#: `largest` (measured on benchmarks/phone_folder.py; the README has the numbers).
DEFAULT_RULES: tuple[str, ...] = (
    "original",
    "resolution",
    "format",
    "metadata",
    "largest",
    "set",
    "oldest",
)
#: Every rule a user may name, for messages and `--help` (`folder:PATH` besides).
RULE_NAMES: tuple[str, ...] = tuple(c.name for c in CRITERIA if c.name != "path")
#: How a reason says the user's own rule decided (the page: "Kept x.jpg: newest, as you asked").
AS_ASKED = "as you asked"


class KeepRuleError(RemediaError, ValueError):
    """A keep rule that is not one: the message names it and lists the valid ones."""

    exit_code = 2


@dataclass(frozen=True)
class KeepRules:
    """The criteria in the order they decide (the `path` tie-break last), and which of them
    the user asked for: where one of those decides, the reason says so."""

    criteria: tuple[Criterion, ...]
    #: The rules the user named, in their order (empty: the default rules).
    asked: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.criteria)


#: Finds the folder a `folder:PATH` rule names, as the sort names its files (symlinks
#: resolved); raises when there is none. The second argument names the rule for the error.
FolderResolver = Callable[[Path, str], Path]


def _folder_rule(text: str, root: Path | None, resolve: FolderResolver | None) -> Criterion:
    where = text[len(FOLDER_RULE) :].strip()
    if not where:
        raise KeepRuleError(f"keep rule {text!r} names no folder (write folder:PATH)")
    target = Path(where).expanduser()
    if not target.is_absolute() and root is not None:
        target = root / target
    base = Path(os.path.abspath(target))
    if resolve is not None:
        base = resolve(base, f"the folder of keep rule {text!r}")
    shown_as = where.rstrip("/\\") + "/"
    return Criterion(
        f"{FOLDER_RULE}{where}",
        f"copies under {where}",
        lambda c: (not c.file.path.is_relative_to(base),),
        lambda *_: f"under {shown_as}",
    )


def parse_rules(
    rules: Sequence[str] | None,
    *,
    root: Path | None = None,
    resolve: FolderResolver | None = None,
) -> KeepRules:
    """The keep rules from their names (None: the default). A relative `folder:PATH` lies in
    `root`, the sorted folder, and `resolve` (a sort's) finds the folder on disk. The default
    rules the list leaves out follow it, then `path`.

    Raises KeepRuleError naming the bad rule and listing the valid ones; `resolve` raises
    for a folder that is not there.
    """
    if rules is None:
        return DEFAULT_KEEP
    names = [r.strip() for r in rules]
    if not any(names):
        raise KeepRuleError(f"no keep rule given; the rules are {_valid()}")
    chosen: list[Criterion] = []
    for name in names:
        if name.startswith(FOLDER_RULE):
            criterion = _folder_rule(name, root, resolve)
        elif name in _BY_NAME and name != "path":
            criterion = _BY_NAME[name]
        else:
            raise KeepRuleError(f"unknown keep rule {name!r}; the rules are {_valid()}")
        if any(c.name == criterion.name for c in chosen):
            raise KeepRuleError(f"keep rule {name!r} is named twice")
        opposite = _OPPOSITES.get(name)
        if opposite is not None and any(c.name == opposite for c in chosen):
            raise KeepRuleError(f"keep rules {opposite!r} and {name!r} contradict each other")
        chosen.append(criterion)
    named = {c.name for c in chosen}
    rest = [_BY_NAME[n] for n in DEFAULT_RULES if n not in named and _OPPOSITES.get(n) not in named]
    return KeepRules((*chosen, *rest, _BY_NAME["path"]), tuple(c.name for c in chosen))


def split_rules(text: str) -> tuple[str, ...]:
    """`RULE[,RULE...]` as a list (`--keep newest,largest`)."""
    return tuple(part.strip() for part in text.split(","))


def _valid() -> str:
    return ", ".join(RULE_NAMES) + f", {FOLDER_RULE}PATH"


DEFAULT_KEEP = KeepRules((*(_BY_NAME[n] for n in DEFAULT_RULES), _BY_NAME["path"]))

#: Reads a copy's date taken (None: none found; its file time counts).
DateReader = Callable[[Copy], datetime | None]


def _ranks(copies: Sequence[Copy], rules: KeepRules) -> list[tuple[Key, ...]]:
    return [tuple(cr.key(c) for cr in rules.criteria) for c in copies]


def choose(
    copies: Sequence[Copy], rules: KeepRules = DEFAULT_KEEP, *, taken: DateReader | None = None
) -> KeeperChoice:
    """The best copy and the first criterion that set it apart from the runner-up.

    `taken` reads the date taken of the copies still tied when a dated rule (`oldest`,
    `newest`) is reached; without it their file times count.
    """
    if not copies:
        raise ValueError("empty group")
    ranks = _ranks(copies, rules)
    dated = next((k for k, c in enumerate(rules.criteria) if c.name in DATED), None)
    if taken is not None and dated is not None and len(copies) > 1:
        top = min(ranks)[:dated]
        tied = [k for k, r in enumerate(ranks) if r[:dated] == top]
        if len(tied) > 1:  # only then the date decides: read it for these copies only
            copies = [
                dataclasses.replace(c, taken=taken(c)) if k in tied else c
                for k, c in enumerate(copies)
            ]
            ranks = _ranks(copies, rules)
    order = sorted(range(len(copies)), key=lambda k: ranks[k])
    best = order[0]
    if len(order) == 1:
        return KeeperChoice(best, "only copy")
    runner = order[1]
    names = rules.names
    for pos, cr in enumerate(rules.criteria):
        if ranks[best][pos] != ranks[runner][pos]:
            reason = cr.reason(copies[best], copies[runner])
            if "resolution" in names[:pos] and cr.name != "original":
                reason = f"{reason}, same resolution"
            if cr.name in rules.asked:
                reason = f"{reason}, {AS_ASKED}"
            return KeeperChoice(best, reason, cr.name)
    return KeeperChoice(best, "identical copies; first by name", "path")


def choose_keeper(
    files: Sequence[MediaFile], infos: Sequence[ImageInfo], rules: KeepRules = DEFAULT_KEEP
) -> KeeperChoice:
    """`choose` for copies whose pixels were not compared (every pixel counts as detail)."""
    return choose([Copy.of(f, info) for f, info in zip(files, infos)], rules)


def upscale_suspects(
    copies: Sequence[Copy], rules: KeepRules = DEFAULT_KEEP
) -> tuple[int, int] | None:
    """(larger, smaller): the pair whose detail decides the choice now, if any.

    The copy the criteria pick has more pixels than a smaller one, and the metadata alone does
    not tell which is the original (a camera original keeps its place without a look at the
    pixels): then its extra pixels must hold more picture. The caller measures that and marks
    the larger copy `upscaled` when they do not, and asks again.
    """
    best = choose(copies, rules).index
    top = copies[best]
    if top.upscaled or top.raw:  # a RAW is the camera's own picture, never an upscale
        return None
    smaller = [
        k
        for k, c in enumerate(copies)
        if c.info.pixels * 1.1 < top.info.pixels
        and not c.upscaled
        and not (top.info.camera and not c.info.camera)
    ]
    if not smaller:
        return None
    return best, max(smaller, key=lambda k: (copies[k].info.pixels, -k))
