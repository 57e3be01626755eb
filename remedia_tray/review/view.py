"""The review page as a view model: every word, number and link the HTML shows, worked out.

`page_view` is pure (facts in, view out). Strings here are plain text and plain URLs; page.py
escapes them as it writes the markup. What differs between duplicates and similar photos is
one row of `KINDS`.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from .._platform import IS_WINDOWS
from ..core.mediasets import RULES
from ..core.planning import SortKind
from ..core.strictness import level_name
from ..core.videos import is_video
from ..core.wording import megabytes, plural, verification_words
from .facts import Change, FileNote, GroupFacts, MemberFacts, PageFacts

# ---------------------------------------------------------------- the kinds of group


@dataclass(frozen=True)
class KindWords:
    """How the page shows one kind of group."""

    heading: str  # the section's title
    nav: str  # its link in the bar
    intro: str
    empty: str
    layout: Literal["grid", "row"]  # duplicates wrap, a similar series reads left to right
    noun: str  # "3 copies", "3 similar photos"
    video_noun: str  # the same of a group of videos
    #: Members are copies of one picture: the sub line says the space the moved ones take
    #: and how the copies were verified.
    copies: bool
    lead: Literal["kept", "best"]  # the member the "why" line is about
    lead_words: str
    marks_best: bool  # the best member gets its badge
    can_keep: bool  # a member can be chosen as the copy to keep
    keep_words: str  # its button
    not_member: str  # the button that takes a member out of the group


KINDS: Mapping[SortKind, KindWords] = {
    "duplicates": KindWords(
        heading="Duplicates",
        nav="Duplicates",
        intro="The kept copy stays where it was; the other copies are in duplicates/. "
        "Click a picture to open the file.",
        empty="No duplicates found.",
        layout="grid",
        noun="copies",
        video_noun="copies of one video",
        copies=True,
        lead="kept",
        lead_words="Kept",
        marks_best=False,
        can_keep=True,
        keep_words="Keep this copy",
        not_member="Not a duplicate",
    ),
    "similar": KindWords(
        heading="Similar photos",
        nav="Similar",
        intro="Photos that belong together, side by side: the best shot stays where it was, "
        "the others are in similar/.",
        empty="No similar groups in this sort.",
        layout="row",
        noun="similar photos",
        video_noun="similar videos",
        copies=False,
        lead="best",
        lead_words="Best shot",
        marks_best=True,
        can_keep=True,  # where the best shot stayed in place (issue 25)
        keep_words="Keep this one",
        not_member="Not similar",
    ),
}

_CHANGE_WORDS: Mapping[Change, str] = {
    "new": "New in the latest sort",
    "grown": "Grown in the latest sort",
}
NEW_MEMBER_WORDS = "new in the latest sort"

# ---------------------------------------------------------------- videos

#: A video's tile when no poster frame could be made (the reason follows).
NO_POSTER_WORDS = "video: no poster frame"


@dataclass(frozen=True)
class VideoMark:
    """What a video's tile says beyond a photo's."""

    badge: str  # the play badge on the poster: "\u25b6 0:03"
    alt: str  # the poster's alternative text: "Video: clip.mp4, 0:03"
    placeholder: str  # the tile's words when it has no poster


def duration_words(seconds: float) -> str:
    """A video's length as players show it: "0:03", "12:05", "1:02:09"."""
    whole = max(1, int(seconds + 0.5)) if seconds > 0 else 0
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def is_video_member(m: MemberFacts) -> bool:
    """A video by what the scan read (its length), else by its name (a group no report knows)."""
    if m.detail is not None and m.detail.duration is not None:
        return True
    return is_video(Path(m.now))


def video_mark(m: MemberFacts) -> VideoMark | None:
    """The marks of a member that is a video; None for a photo."""
    if not is_video_member(m):
        return None
    d = m.detail
    length = duration_words(d.duration) if d is not None and d.duration is not None else ""
    name = os.path.basename(m.now)
    return VideoMark(
        badge="\u25b6 " + (length or "Video"),
        alt=f"Video: {name}" + (f", {length}" if length else ""),
        placeholder=NO_POSTER_WORDS,
    )


def group_media(g: GroupFacts) -> Literal["photo", "video"]:
    """A group of videos says videos where a group of photos says photos."""
    return "video" if g.members and all(is_video_member(m) for m in g.members) else "photo"


# ---------------------------------------------------------------- links


def _raw(s: str) -> bytes:
    """A name as its bytes: a name that is not UTF-8 keeps its raw bytes (surrogateescape)."""
    try:
        return s.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate of a Windows name
        return s.encode("utf-8", "surrogatepass")


def file_url(target: str, page_dir: str) -> str:
    """A relative URL from the page to `target`, every byte of the name percent-encoded."""
    try:
        rel = os.path.relpath(target, page_dir)
    except ValueError:  # another drive on Windows: no relative path exists
        return Path(target).as_uri()
    raw = os.fsencode(rel)
    if os.sep != "/":
        raw = raw.replace(os.sep.encode(), b"/")
    return quote(raw, safe="/")


def form_value(name: str) -> str:
    """A name in a form field: percent-encoded bytes, as a field can carry only text."""
    return quote(_raw(name), safe="/")


@dataclass(frozen=True)
class Served:
    """The page is served by `remedia review --serve`: action buttons, links through the server.

    `token` goes into every link when the page was asked for with it; None when the browser
    holds the session cookie instead. Names travel in URLs as their bytes, percent-encoded.
    """

    token: str | None = None

    def url(self, route: str, **query: str) -> str:
        """The URL (not yet escaped for HTML) of `route` with `query`."""
        if self.token is not None:
            query = {**query, "token": self.token}
        pairs = "&".join(f"{quote(k)}={quote(_raw(v), safe='')}" for k, v in query.items())
        return f"{route}?{pairs}" if pairs else route


def undo_command(folder: str, *, windows: bool = IS_WINDOWS) -> str:
    """The exact command that undoes the latest sort of `folder`, quoted for the user's shell."""
    if windows:
        return subprocess.list2cmdline(["remedia", "undo", folder])
    return f"remedia undo {shlex.quote(folder)}"


# ---------------------------------------------------------------- the view model


@dataclass(frozen=True)
class Form:
    """A review action form: the group (and member) it is about, and its buttons."""

    url: str
    group: str  # percent-encoded, as form_value gives it
    path: str | None
    buttons: tuple[tuple[str, str], ...]  # (action, label)


@dataclass(frozen=True)
class SetBadge:
    """One kind of companion a picture carries: "Live", "AAE", "Edited", "XMP", ..."""

    role: str
    label: str
    title: str  # the tooltip: the companion files it stands for


@dataclass(frozen=True)
class MemberView:
    name: str
    rel: str  # the member's path in the folder, "/"-separated (data-path)
    href: str  # opens the file
    thumb: str | None  # the preview's URL; None: no preview, for `no_preview`
    no_preview: str
    css: Literal["", "kept", "best"]
    badge: str
    facts: str  # size in pixels, megabytes, format
    more: str  # "12 EXIF fields · modified …", may be empty
    where: str
    failed: bool  # `where` says why it was not moved
    new: str  # the new-member mark, or ""
    form: Form | None
    #: The picture's media set: one badge per kind of companion, in `RULES` order. The
    #: companions are no tiles of their own: they go wherever the picture goes.
    sets: tuple[SetBadge, ...] = ()
    companions: tuple[str, ...] = ()  # their file names
    video: VideoMark | None = None  # a video: its play badge and length


@dataclass(frozen=True)
class GroupView:
    kind: SortKind
    layout: Literal["grid", "row"]
    anchor: str  # d0, s3, …
    title: str  # "duplicates/NAME"
    href: str | None  # the group folder, when the title links to it
    names: str  # what the filter matches, lower case
    sub: str
    why: str
    change: Change | None
    change_words: str
    members: tuple[MemberView, ...]
    undo: Form | None
    media: Literal["photo", "video"] = "photo"


@dataclass(frozen=True)
class SectionView:
    kind: SortKind
    heading: str
    nav: str
    intro: str
    empty: str
    groups: tuple[GroupView, ...]


@dataclass(frozen=True)
class Total:
    label: str
    value: str
    css: Literal["", "warn"]


@dataclass(frozen=True)
class FileRow:
    href: str
    shown: str
    reason: str


@dataclass(frozen=True)
class PageView:
    title: str
    folder: str
    sorted_line: str
    totals: tuple[Total, ...]
    undo: str | None  # the undo command, when the sort moved anything
    notes: tuple[str, ...]
    changes: str  # what the newest sort changed in the folder, or ""
    undone: tuple[tuple[str, str], ...]  # (report name, words) of each sort undone since
    sections: tuple[SectionView, ...]
    skipped: tuple[FileRow, ...]
    failed: tuple[FileRow, ...]
    served: Served | None


# ---------------------------------------------------------------- building it


@dataclass(frozen=True)
class _Context:
    folder: str
    page_dir: str
    thumbs: Mapping[str, Path]
    no_preview: Mapping[str, str]
    served: Served | None


def when(iso: str) -> str:
    """An ISO time as the page shows it ("2026-12-07 23:19")."""
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def shown_path(path: str, folder: str) -> str:
    """`path` relative to the sorted folder when inside it (shorter to read)."""
    try:
        rel = os.path.relpath(path, folder)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def _rel_path(path: str, folder: str) -> str:
    rel = os.path.relpath(path, folder)
    return rel.replace(os.sep, "/") if os.sep != "/" else rel


def _facts_line(m: MemberFacts) -> tuple[str, str]:
    d = m.detail
    if d is None:
        return "", ""
    facts = []
    if d.width and d.height:
        facts.append(f"{d.width}\u00d7{d.height}")
    if d.duration is not None:
        facts.append(duration_words(d.duration))
    if d.bytes is not None:
        facts.append(megabytes(d.bytes))
    if d.format:
        facts.append(str(d.format))
    more = []
    if d.exif_fields:
        more.append(f"{d.exif_fields} EXIF fields")
    if d.mtime_ns:
        more.append("modified " + time.strftime("%Y-%m-%d %H:%M", time.localtime(d.mtime_ns / 1e9)))
    return " · ".join(facts), " · ".join(more)


def _role(
    m: MemberFacts, words: KindWords, folder: str
) -> tuple[Literal["", "kept", "best"], str, str]:
    """The member's frame, badge and where-it-is line."""
    if m.kept:
        where = shown_path(m.now, folder)
        if m.now != m.original:
            return "kept", "Kept", f"kept; now with its series at {where}"
        if words.marks_best:  # a series' best shot
            return "best", "Best", f"stays at {where}"
        return "kept", "Kept", f"stays at {where}"
    if m.best and words.marks_best:
        return "best", "Best", f"from {shown_path(m.original, folder)}"
    return "", "", f"from {shown_path(m.original, folder)}"


def set_badges(m: MemberFacts) -> tuple[SetBadge, ...]:
    """One badge per kind of companion `m` carries, in the order of the table of kinds."""
    badges = []
    for rule in RULES:
        names = [os.path.basename(c) for role, c in m.companions if role == rule.role]
        if names:
            badges.append(SetBadge(rule.role, rule.badge, f"{rule.badge}: {', '.join(names)}"))
    return tuple(badges)


def _with_companions(where: str, m: MemberFacts) -> str:
    n = len(m.companions)
    return f"{where} + {plural(n, 'companion')}" if n else where


def _member(m: MemberFacts, g: GroupFacts, title: str, ctx: _Context) -> MemberView:
    words = KINDS[g.kind]
    rel = _rel_path(m.now, ctx.folder)
    served = ctx.served
    thumb = ctx.thumbs.get(m.now)
    src = None
    if thumb is not None:
        src = served.url(f"/thumbs/{thumb.name}") if served else file_url(str(thumb), ctx.page_dir)
    css, badge, where = _role(m, words, ctx.folder)
    facts, more = _facts_line(m)
    form = None
    if served is not None and os.path.dirname(m.now) == g.folder and m.now != m.original:
        kept = any(x.kept for x in g.members)  # a series that moved whole has none to swap
        keep = (("keep", words.keep_words),) if words.can_keep and kept else ()
        buttons = (*keep, ("not-duplicate", words.not_member))
        form = Form(served.url("/action"), form_value(title), form_value(rel), buttons)
    return MemberView(
        name=os.path.basename(m.now),
        rel=rel,
        href=served.url("/photo", path=rel) if served else file_url(m.now, ctx.page_dir),
        thumb=src,
        no_preview=ctx.no_preview.get(m.now, "no preview"),
        css=css,
        badge=badge,
        facts=facts,
        more=more,
        where=f"not moved: {m.not_moved}" if m.not_moved else _with_companions(where, m),
        failed=bool(m.not_moved),
        new=NEW_MEMBER_WORDS if m.new else "",
        form=form,
        sets=set_badges(m),
        companions=tuple(os.path.basename(c) for _, c in m.companions),
        video=video_mark(m),
    )


def _sub_line(g: GroupFacts, words: KindWords) -> str:
    moved = [m for m in g.members if m.moved]
    noun = words.video_noun if group_media(g) == "video" else words.noun
    sub = f"{len(g.members)} {noun} · {len(moved)} moved"
    if words.copies:
        extra = sum((m.detail.bytes or 0) if m.detail else 0 for m in moved)
        sub += f" · {megabytes(extra)} in duplicates"
        verified = verification_words(str(g.verified))
        if verified:
            sub += f" · verified: {verified}"
    return sub


def _group(g: GroupFacts, idx: int, ctx: _Context) -> GroupView:
    words = KINDS[g.kind]
    title = f"{g.kind}/{os.path.basename(g.folder)}"
    members = tuple(_member(m, g, title, ctx) for m in g.members)
    lead = next((m for m in g.members if getattr(m, words.lead)), g.members[0])
    names = " ".join(" ".join((m.name, *m.companions)) for m in members)
    undo = None
    if ctx.served is not None and any(m.now != m.original for m in g.members):
        undo = Form(
            ctx.served.url("/action"), form_value(title), None, (("undo-group", "Undo this group"),)
        )
    return GroupView(
        kind=g.kind,
        layout=words.layout,
        anchor=f"{g.kind[0]}{idx}",
        title=title,
        href=file_url(g.folder, ctx.page_dir) + "/" if g.linked and ctx.served is None else None,
        names=f"{title} {names}".lower(),
        sub=_sub_line(g, words),
        why=f"{words.lead_words} {os.path.basename(lead.now)}: {g.reason}",
        change=g.change,
        change_words=_CHANGE_WORDS[g.change] if g.change else "",
        members=members,
        undo=undo,
        media=group_media(g),
    )


def _sections(facts: PageFacts, ctx: _Context) -> tuple[SectionView, ...]:
    by_kind: dict[SortKind, list[GroupFacts]] = {kind: [] for kind in KINDS}
    for g in facts.groups:
        by_kind[g.kind].append(g)
    return tuple(
        SectionView(
            kind=kind,
            heading=words.heading,
            nav=words.nav,
            intro=words.intro,
            empty=words.empty,
            groups=tuple(_group(g, k, ctx) for k, g in enumerate(by_kind[kind])),
        )
        for kind, words in KINDS.items()
    )


def _totals(facts: PageFacts, dups: int, sims: int) -> tuple[Total, ...]:
    rows: list[Total] = [
        Total("Photos checked", f"{facts.images:,}", ""),
        Total("Duplicate groups", f"{dups:,}", ""),
        Total("Copies moved to duplicates/", f"{facts.duplicates_moved:,}", ""),
        Total("Space the duplicates take up", megabytes(facts.duplicate_bytes), ""),
        Total("Similar groups", f"{sims:,}", ""),
    ]
    if sims:  # without similar groups the row would only repeat a zero
        rows.append(Total("Photos moved to similar/", f"{facts.similar_moved:,}", ""))
    rows += [
        Total("Files skipped", f"{len(facts.skipped):,}", ""),
        Total("Not moved (problems)", f"{len(facts.failed):,}", "warn" if facts.failed else ""),
        Total("Time", f"{facts.seconds:.1f} s", ""),
    ]
    return tuple(rows)


def _changes(groups: tuple[GroupFacts, ...]) -> str:
    new = sum(g.change == "new" for g in groups)
    grown = sum(g.change == "grown" for g in groups)
    parts = [f"{plural(new, 'new group')}"] if new else []
    if grown:
        parts.append(f"{plural(grown, 'group')} grown")
    if not parts:
        return ""
    return f"The latest sort changed this folder: {' and '.join(parts)}, marked below."


def _undone_words(finished: str, groups: int) -> str:
    into = f" into {plural(groups, 'group')}" if groups else ""
    return f"The sort of {when(finished)} was undone: the files it moved{into} are back."


def _file_rows(rows: tuple[FileNote, ...], ctx: _Context) -> tuple[FileRow, ...]:
    return tuple(
        FileRow(file_url(r.path, ctx.page_dir), shown_path(r.path, ctx.folder), r.reason)
        for r in rows
    )


def page_view(
    facts: PageFacts,
    *,
    page_dir: Path,
    thumbs: Mapping[str, Path],
    no_preview: Mapping[str, str] | None = None,
    windows: bool = IS_WINDOWS,
    served: Served | None = None,
) -> PageView:
    """The view of one page. `thumbs` maps a member's current path to its preview file; links
    are relative to `page_dir`. With `served`, links go through the local review server and
    each group has its action buttons."""
    folder = facts.folder
    ctx = _Context(folder, str(page_dir), thumbs, no_preview or {}, served)
    sections = _sections(facts, ctx)
    dups, sims = (len(s.groups) for s in sections)
    engines = ", ".join(f"{k}: {v}" for k, v in facts.engines)
    sorted_line = f"Sorted {when(facts.finished)} · strictness {level_name(facts.strictness)}"
    return PageView(
        title=f"ReMedia review: {os.path.basename(folder.rstrip(os.sep)) or folder}",
        folder=folder,
        sorted_line=sorted_line + (f" · {engines}" if engines else ""),
        totals=_totals(facts, dups, sims),
        undo=undo_command(folder, windows=windows) if facts.journal and facts.sort_moved else None,
        notes=facts.notes,
        changes=_changes(facts.groups),
        undone=tuple((u.name, _undone_words(u.finished, u.groups)) for u in facts.undone),
        sections=sections,
        skipped=_file_rows(facts.skipped, ctx),
        failed=_file_rows(facts.failed, ctx),
        served=served,
    )
