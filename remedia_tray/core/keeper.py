"""Which copy of a duplicate group stays in place: an ordered list of criteria, kept as data.

Each criterion has a name, a key (smaller is better) and the reason shown when it is the one
that set the kept copy apart from the runner-up. The README shows this table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

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
    Criterion(
        "set",
        "the copy that carries its companions (RAW, Live video, sidecars) over a bare copy",
        lambda c: (-len(set(c.companions)),),
        _carries,
    ),
    Criterion("oldest", "the older file time", lambda c: (c.file.mtime_ns,), lambda *_: "oldest"),
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


def choose(copies: Sequence[Copy]) -> KeeperChoice:
    """The best copy and the first criterion that set it apart from the runner-up."""
    if not copies:
        raise ValueError("empty group")
    ranks = [tuple(cr.key(c) for cr in CRITERIA) for c in copies]
    order = sorted(range(len(copies)), key=lambda k: ranks[k])
    best = order[0]
    if len(order) == 1:
        return KeeperChoice(best, "only copy")
    runner = order[1]
    for pos, cr in enumerate(CRITERIA):
        if ranks[best][pos] != ranks[runner][pos]:
            reason = cr.reason(copies[best], copies[runner])
            if pos > 1:  # resolution tied
                reason = f"{reason}, same resolution"
            return KeeperChoice(best, reason, cr.name)
    return KeeperChoice(best, "identical copies; first by name", "path")


def choose_keeper(files: Sequence[MediaFile], infos: Sequence[ImageInfo]) -> KeeperChoice:
    """`choose` for copies whose pixels were not compared (every pixel counts as detail)."""
    return choose([Copy.of(f, info) for f, info in zip(files, infos)])


def upscale_suspects(copies: Sequence[Copy]) -> tuple[int, int] | None:
    """(larger, smaller): the pair whose detail decides the choice now, if any.

    The copy the criteria pick has more pixels than a smaller one, and the metadata alone does
    not tell which is the original (a camera original keeps its place without a look at the
    pixels): then its extra pixels must hold more picture. The caller measures that and marks
    the larger copy `upscaled` when they do not, and asks again.
    """
    best = choose(copies).index
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
