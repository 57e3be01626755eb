"""Media sets: one picture and its companions, found by name in the same folder.

A phone or camera writes more than one file per picture: a Live Photo's short video, Apple's
edit sidecars and edited rendition, XMP sidecars, Google Takeout's metadata, a camera's THM
thumbnail, the RAW beside a JPEG. To the user they are one thing, so they are grouped and moved
as one. Everything here is pure: names in, sets out; `RULES` is the table the README shows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Literal

#: What a companion is to its picture.
Role = Literal["live", "aae", "edited", "xmp", "json", "thm", "raw"]

#: Pictures a companion can belong to, best first when several share a stem.
PRIMARY_SUFFIXES = (".heic", ".heif", ".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff")
#: Camera RAW formats (lower case). DNG, CR2, NEF, ARW, PEF, SRW, NRW, 3FR, ERF, IIQ and MOS
#: are TIFF-based; CR3 is ISO-BMFF, RAF, ORF and RW2 have their own headers.
RAW_SUFFIXES = (
    ".dng", ".cr2", ".cr3", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".raf", ".orf", ".rw2",
    ".pef", ".srw", ".3fr", ".erf", ".iiq", ".mos", ".mrw", ".x3f", ".rwl", ".kdc", ".dcr",
)  # fmt: skip
LIVE_SUFFIXES = (".mov", ".mp4")
#: The longest a Live Photo's video runs (Apple records about 3 s).
LIVE_MAX_SECONDS = 4.0


@dataclass(frozen=True)
class CompanionRule:
    role: Role
    badge: str  # shown on the review page
    names: str  # how it is named, for the README


RULES: tuple[CompanionRule, ...] = (
    CompanionRule(
        "live", "Live",
        f"`STEM.MOV` or `STEM.MP4` beside `STEM.HEIC`/`STEM.JPG`, at most {LIVE_MAX_SECONDS:g} s "
        "long by its movie header (any other video is a video of its own)",
    ),
    CompanionRule("aae", "AAE", "Apple's edit sidecars `STEM.AAE` and `IMG_O1234.AAE`"),
    CompanionRule("edited", "Edited", "Apple's edited rendition `IMG_E1234.*` of `IMG_1234.*`"),
    CompanionRule("xmp", "XMP", "XMP sidecars `STEM.xmp` and `NAME.EXT.xmp`"),
    CompanionRule(
        "json", "JSON",
        "Google Takeout metadata `NAME.EXT.json`, `NAME.EXT.supplemental-metadata.json` and its "
        "truncated forms; `NAME(1).EXT` goes with `NAME.EXT(1).json`",
    ),
    CompanionRule("thm", "THM", "a camera's thumbnail `STEM.THM`"),
    CompanionRule("raw", "RAW", "a RAW (DNG, CR2, CR3, NEF, ARW, RAF, ORF, RW2, …) beside a "
                  "JPEG or HEIC of the same stem; the JPEG or HEIC stands for the pair"),
)  # fmt: skip
BADGES: dict[Role, str] = {r.role: r.badge for r in RULES}


@dataclass(frozen=True)
class MediaSet:
    """A picture and its companions (names within one folder)."""

    primary: str
    companions: tuple[tuple[Role, str], ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return (self.primary, *(name for _, name in self.companions))

    @property
    def roles(self) -> tuple[Role, ...]:
        return tuple(role for role, _ in self.companions)


_APPLE = re.compile(r"^(?P<prefix>IMG_)(?P<mark>[EO])(?P<number>\d+)$", re.IGNORECASE)
_NUMBERED = re.compile(r"^(?P<stem>.*)\((?P<n>\d+)\)$")
_SUPPLEMENTAL = "supplemental-metadata"


def _split(name: str) -> tuple[str, str]:
    """(stem, suffix in lower case) of a file name."""
    p = PurePath(name)
    return p.stem, p.suffix.lower()


def is_raw(name: str) -> bool:
    return _split(name)[1] in RAW_SUFFIXES


def _json_target(name: str) -> str | None:
    """The picture name a Takeout JSON describes (lower case), or None when it is not one.

    `IMG_1.jpg.json`, `IMG_1.jpg.supplemental-metadata.json`, truncated forms such as
    `IMG_1.jpg.supplemental-met.json` or `IMG_1.jpg.suppl.json`, and the numbered-copy quirk
    `IMG_1.jpg(1).json` (and `….supplemental-metadata(1).json`) for `IMG_1(1).jpg`.
    """
    low = name.lower()
    if not low.endswith(".json"):
        return None
    body = low[: -len(".json")]
    number = ""
    m = _NUMBERED.match(body)
    if m:
        body, number = m["stem"], f"({m['n']})"
    head, dot, tail = body.rpartition(".")
    if dot and tail and _SUPPLEMENTAL.startswith(tail) and "." in head:
        body = head  # the supplemental-metadata part, whole or truncated
    stem, suffix = _split(body)
    if suffix not in PRIMARY_SUFFIXES + RAW_SUFFIXES:
        return None
    return f"{stem}{number}{suffix}".lower()


def _role_for(
    name: str, by_stem: dict[str, str], by_name: dict[str, str]
) -> tuple[Role, str] | None:
    """(role, the picture name it belongs to) for a companion name, or None."""
    stem, suffix = _split(name)
    low_stem = stem.lower()
    if suffix == ".json":
        target = _json_target(name)
        return ("json", by_name[target]) if target in by_name else None
    if suffix == ".xmp":
        if low_stem in by_name:  # NAME.EXT.xmp
            return "xmp", by_name[low_stem]
        return ("xmp", by_stem[low_stem]) if low_stem in by_stem else None
    apple = _APPLE.match(stem)
    if apple:  # IMG_E1234.* (edited rendition, and its AAE/MOV), IMG_O1234.AAE
        base = f"{apple['prefix']}{apple['number']}".lower()
        if base not in by_stem:
            return None
        if suffix == ".aae":
            return "aae", by_stem[base]
        return "edited", by_stem[base]
    if low_stem not in by_stem:
        return None
    if suffix == ".aae":
        return "aae", by_stem[low_stem]
    if suffix == ".thm":
        return "thm", by_stem[low_stem]
    if suffix in LIVE_SUFFIXES:
        return "live", by_stem[low_stem]
    if suffix in RAW_SUFFIXES:
        return "raw", by_stem[low_stem]
    return None


def find_sets(
    names: Iterable[str], *, live_ok: Callable[[str], bool] = lambda name: True
) -> list[MediaSet]:
    """The media sets among the file names of ONE folder, every name in exactly one set.

    A name that is no companion is a set of its own (a lone RAW, a video, a text file): the
    caller decides what it is. `live_ok(video_name)` says whether a same-stem video is short
    enough (or carries the picture's content identifier) to be a Live Photo's motion.
    """
    ordered = sorted(set(names))
    pictures = [
        n for n in ordered if _split(n)[1] in PRIMARY_SUFFIXES and not _APPLE.match(_split(n)[0])
    ]
    rank = {s: k for k, s in enumerate(PRIMARY_SUFFIXES)}
    by_stem: dict[str, str] = {}
    for n in sorted(pictures, key=lambda n: (rank[_split(n)[1]], n)):
        by_stem.setdefault(_split(n)[0].lower(), n)
    by_name = {n.lower(): n for n in pictures}
    # A lone RAW keeps its own sidecars (its XMP, its Takeout JSON).
    for n in ordered:
        stem, suffix = _split(n)
        if suffix in RAW_SUFFIXES and stem.lower() not in by_stem:
            by_stem.setdefault(stem.lower(), n)
            by_name[n.lower()] = n
    owners = set(by_stem.values())
    companions: dict[str, list[tuple[Role, str]]] = {}
    for n in ordered:
        if n in owners:
            continue
        found = _role_for(n, by_stem, by_name)
        if found is None:
            continue
        role, owner = found
        if role == "live" and not live_ok(n):
            continue
        if role == "raw" and is_raw(owner):
            continue  # two RAWs of one stem are two pictures
        companions.setdefault(owner, []).append((role, n))
    taken = {name for group in companions.values() for _, name in group}
    return [MediaSet(n, tuple(companions.get(n, ()))) for n in ordered if n not in taken]


def renamed(companion: str, primary: str, new_primary: str) -> str:
    """The companion's name once its picture `primary` is renamed `new_primary`, so that the
    two still pair by name (`IMG_1.MOV` -> `IMG_1 (2).MOV` beside `IMG_1 (2).HEIC`)."""
    if new_primary == primary:
        return companion
    old_stem, new_stem = PurePath(primary).stem, PurePath(new_primary).stem
    if companion.lower().startswith(primary.lower() + "."):  # NAME.EXT.xmp, NAME.EXT.json …
        rest = companion[len(primary) :]
        if _NUMBERED.match(PurePath(rest).stem or ""):
            rest = ".json"
        return new_primary + rest
    if companion.lower().startswith(old_stem.lower()):
        return new_stem + companion[len(old_stem) :]
    apple = _APPLE.match(PurePath(companion).stem)
    if apple and new_stem.lower().startswith(f"{apple['prefix']}{apple['number']}".lower()):
        tail = new_stem[len(apple["prefix"]) + len(apple["number"]) :]
        return (
            f"{apple['prefix']}{apple['mark']}{apple['number']}{tail}{PurePath(companion).suffix}"
        )
    if _json_target(companion) is not None:
        return new_primary + ".json"  # Takeout's numbered-copy form, said plainly
    return new_stem + PurePath(companion).suffix


def sets_in_folder(names: Sequence[str]) -> dict[str, MediaSet]:
    """Each name's set, looked up by any of its names."""
    return {name: s for s in find_sets(names) for name in s.names}
