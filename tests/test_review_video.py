"""Videos on the review page: a poster frame, a play badge, the length and the resolution.

Real clips made at test time with PyAV from real photos (a slow pan, at most 520 px and 3 s),
a portrait clip whose rotation tag is the display matrix a phone writes, and a truncated video
(byte-identical copies group without any decode, so a group can hold one). The report is built
from the typed report classes (no video engine on this branch), both pages are written by the
real writer and checked in headless Chromium: each poster loads, portrait ones upright.
"""

from __future__ import annotations

import os
import shutil
import struct
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageStat

from remedia_tray.core.planning import Move, PlannedGroup
from remedia_tray.core.wording import megabytes
from remedia_tray.errors import UnreadableImage
from remedia_tray.filing.report import MemberDetail, SortReport, save_report
from remedia_tray.layout import thumbs_dir
from remedia_tray.pipeline.placed import read_placed
from remedia_tray.pipeline.previews import save_preview, thumb_name
from remedia_tray.pipeline.video_poster import poster_frame, poster_time
from remedia_tray.pipeline.video_read import upright_turn
from remedia_tray.review import writer as review
from remedia_tray.review.facts import Detail, facts_from_report
from remedia_tray.review.folder import folder_facts
from remedia_tray.review.page import render_page
from remedia_tray.review.thumbnails import ensure_thumbnails
from remedia_tray.review.view import duration_words, page_view

from .conftest import chromium, devtools_tab, evaluated, headless, load_page, photo
from .mediafiles import video, video_seconds

av = pytest.importorskip("av")

# The display matrix an iPhone writes for a portrait clip (stored landscape, shown turned
# 90 degrees clockwise): 16.16 fixed point a, b, u, c, d, v; x, y as 16.16, w as 2.30.
_PORTRAIT_MATRIX = (0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000)


def _portrait_upright(src: Path) -> Image.Image:
    """The upright picture the portrait clip pans over: 520 px tall, up to 360 px wide."""
    with Image.open(src) as im:
        im = im.convert("RGB")
    side = 520 / im.height
    im = im.resize((max(300, round(im.width * side)), 520))
    return im.crop((0, 0, min(im.width, 360), 520))


def _portrait_frames(src: Path, frames: int) -> list[Image.Image]:
    """300 x 520 upright crops, panning slowly left to right."""
    still = _portrait_upright(src)
    span = still.width - 300
    return [
        still.crop((x, 0, x + 300, 520))
        for x in (round(span * k / (frames - 1)) for k in range(frames))
    ]


def portrait_clip(src: Path, dst: Path, *, seconds: float = 3.0, fps: int = 10) -> Path:
    """A phone's portrait clip: landscape frames (the picture turned 90 degrees counterclockwise,
    as the sensor stores it) and the display matrix that turns them upright."""
    frames = _portrait_frames(src, round(seconds * fps))
    dst.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(dst), "w", format="mov") as out:
        stream = out.add_stream(
            "libx264" if "libx264" in av.codecs_available else "mpeg4", rate=Fraction(fps)
        )
        stream.width, stream.height, stream.pix_fmt = 520, 300, "yuv420p"
        for frame in frames:
            stored = frame.transpose(Image.Transpose.ROTATE_90)
            for packet in stream.encode(av.VideoFrame.from_image(stored)):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    data = bytearray(dst.read_bytes())
    at = data.index(b"tkhd")
    version = data[at + 4]
    # tkhd: version and flags, times, track id, reserved, duration; reserved, layer, group,
    # volume, reserved; then the matrix.
    matrix = at + 8 + (32 if version == 1 else 20) + 16
    assert struct.unpack(">9i", data[matrix : matrix + 36])[0] == 0x10000  # identity before
    data[matrix : matrix + 36] = struct.pack(">9i", *_PORTRAIT_MATRIX)
    dst.write_bytes(bytes(data))
    return dst


def _difference(a: Image.Image, b: Image.Image) -> float:
    size = (30, 52)
    small_a, small_b = a.convert("L").resize(size), b.convert("L").resize(size)
    return float(ImageStat.Stat(ImageChops.difference(small_a, small_b)).mean[0])


def _upright_error(poster: Image.Image, src: Path) -> tuple[float, float]:
    """How far `poster` is from the nearest upright frame of the pan, and from the nearest
    frame upside down (what a wrong turn would give)."""
    frames = _portrait_frames(src, 30)
    upright = min(_difference(poster, f) for f in frames)
    flipped = min(_difference(poster.transpose(Image.Transpose.ROTATE_180), f) for f in frames)
    return upright, flipped


# ---------------------------------------------------------------- the poster frame


def test_the_poster_of_a_portrait_clip_comes_out_upright(tmp_path: Path) -> None:
    clip = portrait_clip(photo("peaks"), tmp_path / "IMG_0002.MOV")
    with av.open(str(clip)) as f:
        first = next(f.decode(video=0))
        assert (first.width, first.height, first.rotation) == (520, 300, -90)  # the tag reads
    poster = poster_frame(clip)
    assert poster.height > poster.width, poster.size
    upright, flipped = _upright_error(poster, photo("peaks"))
    assert upright < 12 and flipped > 2 * upright, (upright, flipped)


def test_the_poster_is_a_frame_of_the_clip(tmp_path: Path) -> None:
    clip = video(photo("sunset"), tmp_path / "beach.mp4", seconds=3, fps=10, side=480)
    poster = poster_frame(clip)
    with av.open(str(clip)) as f:
        frames = [fr.to_image() for fr in f.decode(video=0)]
    assert poster.size == frames[0].size
    same = [k for k, fr in enumerate(frames) if ImageChops.difference(poster, fr).getbbox() is None]
    assert same == [3], same  # 0.3 s in: 10 % of a 3 s clip, at 10 frames a second


def test_a_black_intro_is_passed_over(tmp_path: Path) -> None:
    clip = tmp_path / "intro.mp4"
    with av.open(str(clip), "w", format="mp4") as out:
        stream = out.add_stream("mpeg4", rate=Fraction(10))
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        with Image.open(photo("cat")) as im:
            picture = im.convert("RGB").resize((320, 240))
        black = Image.new("RGB", (320, 240))
        for k in range(30):  # 2 s of black, then the picture
            frame = av.VideoFrame.from_image(black if k < 20 else picture)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    poster = poster_frame(clip)
    assert _difference(poster, picture) < 8
    assert ImageStat.Stat(poster.convert("L")).mean[0] > 40


def test_unreadable_videos_say_why(tmp_path: Path) -> None:
    clip = video(photo("cat"), tmp_path / "cat.mp4", seconds=2)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(clip.read_bytes()[: clip.stat().st_size // 3])
    empty = tmp_path / "empty.mov"
    empty.write_bytes(b"")
    for bad in (truncated, empty, tmp_path / "gone.mp4"):
        with pytest.raises(UnreadableImage, match="video"):
            poster_frame(bad)


def test_a_poster_has_a_time_limit(tmp_path: Path) -> None:
    clip = video(photo("cat"), tmp_path / "cat.mp4", seconds=2)
    assert poster_frame(clip, time_limit=5).size
    for limit in (0.0, 0.001):  # timed out on opening, and while decoding
        with pytest.raises(UnreadableImage, match=f"no poster frame within {limit:g} s"):
            poster_frame(clip, time_limit=limit)


def test_where_and_how_a_poster_is_taken() -> None:
    assert poster_time(3.0) == pytest.approx(0.3)
    assert poster_time(90.0) == 1.0 and poster_time(None) == 1.0
    assert [upright_turn(r) for r in (0, -90, 90, 180, -180, 270)] == [0, 3, 1, 2, 2, 3]


def test_a_video_s_preview_is_its_poster_not_a_failed_image(tmp_path: Path) -> None:
    """Without the routing, the image decoder refuses the video: no preview."""
    clip = video(photo("ridge"), tmp_path / "ridge.mp4", seconds=2, side=320)
    made = ensure_thumbnails([clip], tmp_path / "thumbs")
    assert made.made == 1 and not made.problems, made.problems
    with Image.open(made.thumbs[clip]) as im:
        assert im.format == "JPEG" and im.size == poster_frame(clip).size


# ---------------------------------------------------------------- the view model


def test_duration_words() -> None:
    cases = {0.0: "0:00", 0.2: "0:01", 2.97: "0:03", 3.0: "0:03", 59.6: "1:00", 754.0: "12:34"}
    cases[3725.0] = "1:02:05"
    assert {s: duration_words(s) for s in cases} == cases


# ---------------------------------------------------------------- a folder with video groups


def _detail(path: Path) -> MemberDetail:
    st = path.stat()
    try:
        with av.open(str(path)) as f:
            s = f.streams.video[0]
            w, h = s.codec_context.width, s.codec_context.height
        if path.suffix.upper() == ".MOV":
            w, h = h, w  # the portrait clip: shown as it is displayed
        return MemberDetail(
            st.st_size, st.st_mtime_ns, w, h, path.suffix[1:].upper(), 0, video_seconds(path)
        )
    except av.FFmpegError:  # found by its bytes alone: nothing decoded
        return MemberDetail(st.st_size, st.st_mtime_ns, 0, 0, "", 0)


def _group(root: Path, kept: Path, copy: Path, reason: str, verified: str) -> PlannedGroup:
    folder = root / "duplicates" / kept.stem
    return PlannedGroup(
        kind="duplicates",
        folder=folder,
        keeper=kept,
        best=kept,
        reason=reason,
        members=(kept, copy),
        moves=(Move(copy, folder / copy.name),),
        verified=verified,  # type: ignore[arg-type]
    )


def video_folder(root: Path) -> tuple[SortReport, dict[str, Path]]:
    """Three duplicate groups of videos, as a sort would leave them: a clip and its smaller
    re-encode, a portrait clip and its backup copy, a truncated clip and its byte copy. Also
    returns where each group's moved copy is now, by group name."""
    videos = root / "Videos"
    beach = video(photo("sunset"), videos / "beach.mp4", seconds=3, fps=10, side=480)
    small = video(photo("sunset"), videos / "WhatsApp" / "beach.mp4", seconds=3, fps=10, side=320)
    portrait = portrait_clip(photo("peaks"), videos / "IMG_0002.MOV")
    backup = videos / "Backup" / "IMG_0002.MOV"
    backup.parent.mkdir()
    shutil.copy2(portrait, backup)
    whole = video(photo("cat"), root / "cat.mp4", seconds=2)
    broken = videos / "party.mp4"
    broken.write_bytes(whole.read_bytes()[: whole.stat().st_size // 3])  # its index is lost
    whole.unlink()
    broken_copy = videos / "Backup" / "party.mp4"
    shutil.copy2(broken, broken_copy)
    groups = (
        _group(root, beach, small, "most pixels", "64px"),
        _group(root, portrait, backup, "oldest", "byte-identical"),
        _group(root, broken, broken_copy, "oldest", "byte-identical"),
    )
    details = {m: _detail(m) for g in groups for m in g.members}
    for g in groups:
        for mv in g.moves:
            mv.dst.parent.mkdir(parents=True, exist_ok=True)
            os.rename(mv.src, mv.dst)
    report = SortReport(
        folder=root,
        dry_run=False,
        strictness=50,
        engines={"video": "test"},
        files_seen=6,
        images=6,
        decoded=4,
        from_cache=0,
        groups=groups,
        skipped=(),
        failed=(),
        journal=None,  # no journal: nothing here is undone
        seconds=0.1,
        details=details,
    )
    saved = save_report(report, root / ".remedia")
    report = SortReport(**{**report.__dict__, "report_path": saved})
    return report, {g.folder.name: g.moves[0].dst for g in groups}


def test_the_view_says_videos(tmp_path: Path) -> None:
    report, _ = video_folder(tmp_path / "p")
    facts = facts_from_report(report.saved())
    view = page_view(facts, page_dir=tmp_path, thumbs={})
    dups, sims = view.sections
    assert not sims.groups
    beach, portrait, broken = dups.groups
    assert [g.media for g in dups.groups] == ["video"] * 3
    assert beach.sub.startswith("2 copies of one video · 1 moved · ")
    kept, small = beach.members
    assert kept.video is not None and small.video is not None
    assert kept.video.badge == "\u25b6 0:03" and kept.video.alt == "Video: beach.mp4, 0:03"
    assert kept.facts.startswith("480\u00d7320 · 0:03 · ") and kept.facts.endswith(" · MP4")
    assert small.facts.startswith("320\u00d7240 · 0:03 · ")
    assert portrait.members[0].facts.startswith("300\u00d7520 · 0:03 · ")
    # Found by its bytes alone, a video is still a video by its name: no length to show.
    assert broken.members[0].video is not None
    assert broken.members[0].video.badge == "\u25b6 Video"
    assert broken.members[0].facts == megabytes(report.details[report.groups[2].members[0]].size)


def test_a_photo_group_is_unchanged(tmp_path: Path) -> None:
    """The video words appear for videos only (the control)."""
    root = tmp_path / "p"
    report, _ = video_folder(root)
    facts = facts_from_report(report.saved())
    still = Detail(10, 0, 64, 48, "JPEG", 0)
    members = tuple(
        replace(m, original=m.original + ".jpg", now=m.now + ".jpg", detail=still)
        for m in facts.groups[0].members
    )
    facts = replace(facts, groups=(replace(facts.groups[0], members=members),))
    (g,) = page_view(facts, page_dir=tmp_path, thumbs={}).sections[0].groups
    assert g.media == "photo" and g.sub.startswith("2 copies · ")
    assert all(m.video is None for m in g.members)
    html = render_page(page_view(facts, page_dir=tmp_path, thumbs={}))
    assert 'class="play"' not in html and "data-media" not in html


def test_a_group_no_report_knows_shows_its_videos_by_name(tmp_path: Path) -> None:
    """The folder page from the disk alone (its report lost): the videos are still videos."""
    root = tmp_path / "p"
    report, _ = video_folder(root)
    unrelated = replace(facts_from_report(report.saved(), name="sort-x"), groups=())
    whole = folder_facts(read_placed(root), [unrelated])
    view = page_view(whole, page_dir=tmp_path, thumbs={})
    groups = view.sections[0].groups
    assert len(groups) == 3 and all(g.media == "video" for g in groups)
    assert all(
        m.video is not None and m.video.badge == "\u25b6 Video" for g in groups for m in g.members
    )


# ---------------------------------------------------------------- in Chromium


_CHECK = """
(async () => {
  const pause = (ms) => new Promise((r) => setTimeout(r, ms));
  const imgs = [...document.images];
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline && imgs.some((i) => !i.complete)) { await pause(50); }
  return [...document.querySelectorAll("figure")].map((f) => {
    const img = f.querySelector("img");
    const play = f.querySelector(".play");
    const none = f.querySelector(".noprev");
    const section = f.closest("section");
    return {
      path: f.getAttribute("data-path"),
      media: f.getAttribute("data-media"),
      group: section.getAttribute("data-media"),
      sub: section.querySelector(".sub").textContent,
      img: img ? {w: img.naturalWidth, h: img.naturalHeight, alt: img.alt} : null,
      play: play ? play.textContent : null,
      playShown: play ? play.getBoundingClientRect().width > 0 : false,
      placeholder: none ? none.textContent : null,
      label: none ? none.getAttribute("aria-label") : null,
      caption: f.querySelector("figcaption").innerText,
    };
  });
})();
"""


def _tiles(browser: str, pages: list[Path], profile: Path) -> list[list[dict[str, Any]]]:
    from tests.desktop.test_review_chromium import DevTools

    chrome = DevTools(headless(browser, profile, "about:blank"))
    try:
        session = devtools_tab(chrome)
        out = []
        for page in pages:
            load_page(chrome, session, page.as_uri())
            out.append(evaluated(chrome, session, _CHECK))
        return out
    finally:
        chrome.close()


def test_video_groups_in_chromium(tmp_path: Path) -> None:
    browser = chromium()
    root = tmp_path / "p"
    report, moved = video_folder(root)
    # The scan made the re-encode's preview already (the video engine's, keyed like a
    # picture's): the page uses it and decodes nothing for it.
    scan_preview = thumbs_dir(root) / thumb_name(os.stat(moved["beach"]))
    scan_preview.parent.mkdir(parents=True)
    save_preview(poster_frame(moved["beach"]), scan_preview)
    scan_bytes = scan_preview.read_bytes()
    page = review.write_review(report)
    # The kept beach.mp4 and both portrait clips (a copy is another file: its own preview).
    assert page.thumbnails_made == 3, page.thumbnails_made
    assert {p.path.name for p in page.no_preview} == {"party.mp4"}
    assert all("unreadable video" in p.reason for p in page.no_preview)

    sort_page, folder_page = _tiles(browser, [page.path, page.index], tmp_path / "profile")
    assert sort_page == folder_page  # the folder is just what the sort made
    by_path = {t["path"]: t for t in sort_page}
    assert len(by_path) == 6
    for tile in sort_page:
        assert tile["media"] == "video" and tile["group"] == "video", tile
        assert tile["sub"].startswith("2 copies of one video"), tile
        assert tile["playShown"], tile
    beach = by_path["Videos/beach.mp4"]
    assert beach["img"]["w"] > 0 and beach["img"]["w"] > beach["img"]["h"]
    assert beach["img"]["alt"] == "Video: beach.mp4, 0:03"
    assert beach["play"] == "\u25b6 0:03"
    assert "480\u00d7320 \u00b7 0:03" in beach["caption"]
    small = by_path["duplicates/beach/beach.mp4"]
    assert small["img"]["w"] > 0 and "320\u00d7240 \u00b7 0:03" in small["caption"]
    for rel in ("Videos/IMG_0002.MOV", "duplicates/IMG_0002/IMG_0002.MOV"):
        tile = by_path[rel]
        assert 0 < tile["img"]["w"] < tile["img"]["h"], tile  # upright
        assert "300\u00d7520 \u00b7 0:03" in tile["caption"]
    for rel in ("Videos/party.mp4", "duplicates/party/party.mp4"):
        tile = by_path[rel]
        assert tile["img"] is None and tile["play"] == "\u25b6 Video"
        assert tile["placeholder"].startswith("video: no poster frameunreadable video ("), tile
        assert tile["label"].startswith("Video: party.mp4: unreadable video ("), tile

    # The poster file itself: upright; and the scan's preview was used as it was.
    portrait = thumbs_dir(root) / thumb_name(os.stat(root / "Videos/IMG_0002.MOV"))
    with Image.open(portrait) as im:
        upright, flipped = _upright_error(im.convert("RGB"), photo("peaks"))
    assert upright < 12 and flipped > 2 * upright, (upright, flipped)
    assert scan_preview.read_bytes() == scan_bytes
