"""Generated text pictures: different pictures that share one layout, and their true copies.

A 64 x 64 thumbnail turns a line of text into a grey smear, so two chat screenshots with the
same layout and other words look alike there. This module draws such look-alikes at real sizes
with Pillow and the system DejaVu fonts, plus the copies a phone or a user makes of each, so a
duplicate finder can be scored on them:

- five families ("chat", "settings", "page", "slide", "caption"); within one family and seed
  every picture shares ONE layout (colours, geometry, pattern of bubbles, rows, lines) and
  differs only in words or values. "settings" pictures differ in exactly one value.
- each original gets three true copies: WhatsApp-like (JPEG q70, long side at most 1600 px), a
  PNG re-save (the same pixels, other PNG settings, so other bytes) and a half-size resize.

Everything random comes from `random.Random` seeded with strings built from the seed (string
seeds are hashed with SHA-512, independent of PYTHONHASHSEED), text is laid out with Pillow's
basic layout engine, so one seed and style give byte-identical files on one machine.

    pics = make_set(tmp / "set", seed=1, style="sans")   # 5 families x 15 x 4 = 300 files
    truth = true_pairs(pics)
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import combinations
from pathlib import Path
from typing import Literal

from PIL import Image, ImageDraw, ImageFont

Style = Literal["sans", "serif"]
Variant = Literal["original", "whatsapp", "png", "half"]
RGB = tuple[int, int, int]

FAMILIES: tuple[str, ...] = ("chat", "settings", "page", "slide", "caption")
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
_FONT_FILES = {
    ("sans", False): "DejaVuSans.ttf",
    ("sans", True): "DejaVuSans-Bold.ttf",
    ("serif", False): "DejaVuSerif.ttf",
    ("serif", True): "DejaVuSerif-Bold.ttf",
}
DATA = Path(__file__).parent / "data"
#: Bundled landscape photos the caption family may put its text on (one per family and seed).
CAPTION_PHOTOS = ("peaks", "sunset", "ridge", "life")

WHATSAPP_SIDE = 1600
WHATSAPP_QUALITY = 70
JPEG_ORIGINAL_QUALITY = 92
#: The original's PNG settings and the re-save's: other zlib levels, so other bytes.
PNG_ORIGINAL_LEVEL = 6
PNG_RESAVE_LEVEL = 1
#: "settings" derives one distinct battery value per index (10-99 %).
SETTINGS_VALUES = 90

_WORD_TEXT = (
    "about after again almost along also always another answer around back because before "
    "began being below better between both bring brought call came change children city close "
    "come could country course cover cross dark day did different does done door down during "
    "each early earth easy enough even every example eye face family far father feel feet few "
    "field find fire first follow food form found four free friend from front full game gave "
    "give good great green ground group grow half hand happen hard head hear heard help here "
    "high home horse hour house idea important inside island just keep kind know land large "
    "last later learn leave left less letter life light line list little live long look made "
    "make many mark mean measure might mile mind minute money month more morning most mother "
    "mountain move much music must name near need never next night north nothing notice number "
    "often once only open order other over page paper part pass people perhaps picture piece "
    "place plan plant play point port possible power press problem product pull question quick "
    "rain read ready real record red remember rest right river road rock room round rule run "
    "said same saw school science sea second seem sentence set several shape short should show "
    "side simple since sing size sleep slow small snow some song soon sound south space special "
    "stand star start state station still stood stop story street strong study such summer sun "
    "sure surface table take talk teacher tell test than that their them then there these thing "
    "think those though thought three through time today together told took top toward town "
    "travel tree true try turn under until upon usual very voice walk want warm watch water way "
    "weather week well went were west what wheel when where which while white whole why wide "
    "wind window winter with without wonder wood word work world would write year young"
)
_NAME_TEXT = (
    "Anna Ben Carla Dario Elena Farid Greta Hugo Ines Jonas Karim Lea Marco Nadia Oskar Paula "
    "Quentin Rosa Samir Tilda Umberto Vera Walter Xenia Yusuf Zoe"
)
_SURNAME_TEXT = (
    "Adler Berger Costa Dubois Eriksen Fischer Garcia Hansen Ivanova Jensen Keller Laine Moreau "
    "Novak Olsen Petrov Rossi Santos Tanaka Urban Vidal Weber"
)
WORDS = tuple(_WORD_TEXT.split())
NAMES = tuple(_NAME_TEXT.split())
SURNAMES = tuple(_SURNAME_TEXT.split())

_WHITE: RGB = (255, 255, 255)
_INK: RGB = (28, 28, 30)
_GREY: RGB = (110, 110, 118)


def font_path(style: Style, bold: bool = False) -> Path | None:
    """The DejaVu font file for `style`; None when it is not installed."""
    if (style, bold) not in _FONT_FILES:
        raise ValueError(f"Unknown font style {style!r}: use 'sans' or 'serif'")
    path = FONT_DIR / _FONT_FILES[(style, bold)]
    return path if path.is_file() else None


@cache
def _font(style: Style, bold: bool, size: int) -> ImageFont.FreeTypeFont:
    path = font_path(style, bold)
    if path is None:
        raise FileNotFoundError(f"DejaVu font not installed: {FONT_DIR / _FONT_FILES[style, bold]}")
    # The basic layout engine: no dependence on whether libraqm happens to be installed.
    return ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.BASIC)


def _rng(seed: int, *parts: object) -> random.Random:
    return random.Random(":".join(str(p) for p in (seed, *parts)))


class _Prose:
    """A stream of words from one picture's generator, with sentences (capitals, stops)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.capital = True

    def word(self) -> str:
        w = self.rng.choice(WORDS)
        if self.capital:
            w = w.capitalize()
        self.capital = self.rng.random() < 0.1
        return f"{w}." if self.capital else w

    def line(self, font: ImageFont.FreeTypeFont, width: float) -> str:
        """Words up to `width` pixels; a few more tries to come close to it."""
        text = self.word()
        misses = 0
        while misses < 3:
            saved = self.capital
            candidate = f"{text} {self.word()}"
            if font.getlength(candidate) <= width:
                text = candidate
            else:
                self.capital = saved
                misses += 1
        return text

    def end(self) -> None:
        """The end of a paragraph: the next word starts a sentence."""
        self.capital = True

    def plain(self, font: ImageFont.FreeTypeFont, width: float) -> str:
        """A line of words without sentence stops (titles, captions)."""
        return self.line(font, width).replace(".", "")

    def title(self, font: ImageFont.FreeTypeFont, width: float) -> str:
        words = self.plain(font, width).split()
        return " ".join(w.capitalize() if i == 0 or len(w) > 3 else w for i, w in enumerate(words))


def _person(rng: random.Random) -> str:
    return f"{rng.choice(NAMES)} {rng.choice(SURNAMES)}"


def _clock(rng: random.Random) -> str:
    return f"{rng.randint(7, 22)}:{rng.randint(0, 59):02d}"


def _status_bar(d: ImageDraw.ImageDraw, width: int, s: float, clock: str, colour: RGB) -> None:
    """A phone status bar: the time on the left, signal, wifi and battery on the right."""
    font = _font("sans", True, round(34 * s))
    d.text((round(60 * s), round(22 * s)), clock, font=font, fill=colour)
    x = width - round(60 * s)
    bw, bh, top = round(56 * s), round(28 * s), round(30 * s)
    d.rounded_rectangle((x - bw, top, x, top + bh), radius=round(6 * s), outline=colour, width=3)
    d.rectangle((x - bw + 5, top + 5, x - round(18 * s), top + bh - 5), fill=colour)
    x -= bw + round(30 * s)
    for k in range(4):  # signal bars
        h = round((10 + 6 * k) * s)
        left = x - round((4 - k) * 12 * s)
        d.rectangle((left, top + bh - h, left + round(8 * s), top + bh), fill=colour)


def _chat(seed: int, index: int, style: Style) -> Image.Image:
    lay = _rng(seed, "chat", "layout")
    rng = _rng(seed, "chat", index)
    prose = _Prose(rng)
    width, height = ((1080, 2400), (1170, 2532))[index % 2]
    s = width / 1080
    header = lay.choice([(7, 94, 84), (0, 136, 204), (52, 58, 64), (94, 53, 177), (176, 42, 55)])
    wallpaper = lay.choice([(236, 229, 221), (223, 232, 240), (242, 242, 247), (230, 236, 226)])
    outgoing = lay.choice([(220, 248, 198), (207, 228, 255), (255, 236, 209)])
    body = _font(style, False, lay.randint(40, 45))
    small = _font("sans", False, round(28 * s))
    # The conversation's pattern: who speaks, how many lines, how long the last line is.
    pattern = [
        (lay.random() < 0.5, lay.choice([1, 1, 2, 2, 3, 4]), lay.uniform(0.25, 1.0))
        for _ in range(24)
    ]

    im = Image.new("RGB", (width, height), wallpaper)
    d = ImageDraw.Draw(im)
    bar = round(80 * s)
    d.rectangle((0, 0, width, bar + round(150 * s)), fill=header)
    _status_bar(d, width, s, _clock(rng), _WHITE)
    cy = bar + round(75 * s)
    arrow = [(70, cy - 25 * s), (45, cy), (70, cy + 25 * s)]  # the back arrow
    d.line([(round(x * s), round(y)) for x, y in arrow], fill=_WHITE, width=round(7 * s))
    r = round(48 * s)
    d.ellipse((round(100 * s), cy - r, round(100 * s) + 2 * r, cy + r), fill=(200, 205, 210))
    name_font = _font(style, True, round(44 * s))
    d.text((round(220 * s), cy - round(50 * s)), _person(rng), font=name_font, fill=_WHITE)
    d.text((round(220 * s), cy + round(8 * s)), f"last seen today at {_clock(rng)}",
           font=small, fill=(225, 235, 235))  # fmt: skip

    bottom = height - round(200 * s)
    d.rounded_rectangle(
        (round(24 * s), bottom + round(40 * s), width - round(150 * s), bottom + round(150 * s)),
        radius=round(55 * s), fill=_WHITE,
    )  # fmt: skip
    d.text((round(80 * s), bottom + round(72 * s)), "Message", font=small, fill=_GREY)
    d.ellipse((width - round(130 * s), bottom + round(40 * s), width - round(20 * s),
               bottom + round(150 * s)), fill=header)  # fmt: skip

    line_h = round(body.size * 1.32)
    pad = round(28 * s)
    max_text = 0.70 * width
    y = bar + round(190 * s)
    for mine, lines, last in pattern:
        texts = [prose.line(body, max_text * (last if k == lines - 1 else rng.uniform(0.93, 1.0)))
                 for k in range(lines)]  # fmt: skip
        w = max(body.getlength(t) for t in texts)
        w = max(w, small.getlength("00:00") + 20)
        h = lines * line_h + round(44 * s)
        if y + h + 2 * pad > bottom:
            break
        x0 = width - round(30 * s) - w - 2 * pad if mine else round(30 * s)
        box = (round(x0), y, round(x0 + w + 2 * pad), y + h + pad)
        d.rounded_rectangle(box, radius=round(26 * s), fill=outgoing if mine else _WHITE)
        for k, t in enumerate(texts):
            d.text((box[0] + pad, y + round(pad * 0.6) + k * line_h), t, font=body, fill=_INK)
        stamp = _clock(rng)
        d.text((box[2] - pad - small.getlength(stamp), box[3] - round(44 * s)), stamp,
               font=small, fill=_GREY)  # fmt: skip
        y = box[3] + round(22 * s)
    return im


def _settings(seed: int, index: int, style: Style) -> Image.Image:
    if not 0 <= index < SETTINGS_VALUES:
        raise ValueError(f"settings pictures have {SETTINGS_VALUES} values; index {index} is out")
    lay = _rng(seed, "settings", "layout")
    # Everything comes from the layout's generator; only the battery value depends on `index`.
    prose = _Prose(lay)
    width, height, s = 1080, 2400, 1.0
    accent = lay.choice([(26, 115, 232), (0, 150, 136), (103, 58, 183), (230, 81, 0)])
    im = Image.new("RGB", (width, height), (246, 246, 250))
    d = ImageDraw.Draw(im)
    _status_bar(d, width, s, _clock(lay), _INK)
    d.text((60, 150), "Settings", font=_font(style, True, 76), fill=_INK)
    d.rounded_rectangle((48, 290, width - 48, 400), radius=55, fill=(232, 232, 238))
    d.text((120, 322), "Search settings", font=_font(style, False, 40), fill=_GREY)
    labels = ["Network & internet", "Connected devices", "Apps", "Notifications", "Battery",
              "Storage", "Sound & vibration", "Display", "Wallpaper & style", "Accessibility",
              "Security & privacy", "Location", "Passwords & accounts"]  # fmt: skip
    lay.shuffle(labels)
    labels = labels[:11]
    if "Battery" not in labels:
        labels[lay.randrange(len(labels))] = "Battery"
    label_font, sub_font = _font(style, False, 44), _font(style, False, 32)
    start = lay.randrange(SETTINGS_VALUES)
    y = 450
    for label in labels:
        colour = lay.choice([accent, (67, 160, 71), (229, 57, 53), (251, 140, 0), (94, 53, 177)])
        d.ellipse((60, y + 30, 150, y + 120), fill=colour)
        d.text((105, y + 75), label[0], font=_font("sans", True, 44), fill=_WHITE, anchor="mm")
        d.text((190, y + 22), label, font=label_font, fill=_INK)
        if label == "Battery":
            sub = f"{10 + (start + index) % SETTINGS_VALUES} % - {prose.plain(sub_font, 420)}"
        else:
            sub = prose.plain(sub_font, lay.uniform(420, 760)).lower()
        d.text((190, y + 86), sub, font=sub_font, fill=_GREY)
        y += 170
    return im


def _page(seed: int, index: int, style: Style) -> Image.Image:
    lay = _rng(seed, "page", "layout")
    rng = _rng(seed, "page", index)
    prose = _Prose(rng)
    width, height = 2480, 3508  # A4 at 300 dpi
    margin = lay.choice([236, 295, 354])  # 2, 2.5 or 3 cm
    top = lay.choice([300, 354])
    body = _font(style, False, 46)  # 11 pt at 300 dpi
    line_h = round(46 * lay.choice([1.25, 1.35, 1.45]))
    indent = lay.choice([0, 90])
    running = _Prose(lay).title(_font(style, False, 36), 900)  # the document's running head
    im = Image.new("RGB", (width, height), _WHITE)
    d = ImageDraw.Draw(im)
    head = _font(style, False, 36)
    d.text((margin, top - 130), running, font=head, fill=_GREY)
    d.line([(margin, top - 70), (width - margin, top - 70)], fill=_GREY, width=3)
    number = 2 + index
    d.text((width / 2, height - 200), str(number), font=head, fill=_GREY, anchor="mm")
    text_w = width - 2 * margin
    heading = _font(style, True, 70)
    y = top
    d.text((margin, y), f"{lay.randint(1, 9)}.{index + 1} {prose.title(heading, text_w * 0.6)}",
           font=heading, fill=_INK)  # fmt: skip
    y += 150
    paragraphs = [(lay.randint(3, 9), lay.uniform(0.15, 0.9)) for _ in range(30)]
    for lines, last in paragraphs:
        for k in range(lines):
            if y + line_h > height - 330:
                return im
            first = indent if k == 0 else 0
            target = text_w * last if k == lines - 1 else text_w - first
            text = prose.line(body, target)
            if k == lines - 1:
                text = text if text.endswith(".") else f"{text}."
                prose.end()
            d.text((margin + first, y), text, font=body, fill=_INK)
            y += line_h
        y += round(line_h * 0.5)
    return im


def _slide(seed: int, index: int, style: Style) -> Image.Image:
    lay = _rng(seed, "slide", "layout")
    rng = _rng(seed, "slide", index)
    prose = _Prose(rng)
    width, height = 1920, 1080
    theme = lay.choice([(31, 56, 100), (0, 105, 92), (120, 33, 66), (55, 55, 60)])
    paper = lay.choice([_WHITE, (248, 246, 240), (240, 244, 248)])
    size = lay.randint(36, 48)
    bullets = [(lay.randint(0, 1) if k else 0, lay.uniform(0.35, 1.0)) for k in range(7)]
    deck = _Prose(lay).title(_font(style, False, 28), 600)
    im = Image.new("RGB", (width, height), paper)
    d = ImageDraw.Draw(im)
    d.rectangle((0, 0, width, 190), fill=theme)
    d.rectangle((0, 190, width, 202), fill=(235, 170, 40))
    d.text((100, 95), prose.title(_font(style, True, 64), 1500), font=_font(style, True, 64),
           fill=_WHITE, anchor="lm")  # fmt: skip
    body = _font(style, False, size)
    line_h = round(size * 1.9)
    y = 270
    for level, length in bullets:
        if y + line_h > height - 140:
            break
        x = 140 + level * 80
        r = 9 if level == 0 else 7
        cy = y + size // 2 + 4
        d.ellipse((x - 40 - r, cy - r, x - 40 + r, cy + r), fill=theme)
        d.text((x, y), prose.line(body, (width - 240 - x) * length), font=body, fill=_INK)
        y += line_h
    d.rectangle((0, height - 80, width, height), fill=(230, 230, 234))
    small = _font(style, False, 28)
    d.text((100, height - 40), deck, font=small, fill=_GREY, anchor="lm")
    d.text((width - 100, height - 40), str(index + 2), font=small, fill=_GREY, anchor="rm")
    return im


@cache
def _caption_photo(name: str) -> Image.Image:
    with Image.open(DATA / f"{name}.jpg") as src:
        im = src.convert("RGB")
    w, h = im.size
    ch = min(h, round(w * 2 / 3))
    cw = round(ch * 3 / 2)
    x0, y0 = (w - cw) // 2, (h - ch) // 2
    frame: Image.Image = im.crop((x0, y0, x0 + cw, y0 + ch))
    return frame.resize((1600, 1067), Image.Resampling.LANCZOS)


def _caption(seed: int, index: int, style: Style) -> Image.Image:
    lay = _rng(seed, "caption", "layout")
    rng = _rng(seed, "caption", index)
    prose = _Prose(rng)
    im = _caption_photo(lay.choice(CAPTION_PHOTOS)).copy()
    width, height = im.size
    font = _font(style, True, lay.randint(88, 104))
    top_lines, bottom_lines = lay.randint(1, 2), lay.randint(1, 2)
    lengths = [lay.uniform(0.55, 0.92) for _ in range(top_lines + bottom_lines)]
    d = ImageDraw.Draw(im)
    line_h = round(font.size * 1.15)
    for k in range(top_lines + bottom_lines):
        text = prose.plain(font, width * lengths[k]).upper()
        if k < top_lines:
            y = 30 + k * line_h
        else:
            y = height - 40 - (top_lines + bottom_lines - k) * line_h
        d.text((width / 2, y), text, font=font, fill=_WHITE, anchor="ma",
               stroke_width=6, stroke_fill=(0, 0, 0))  # fmt: skip
    return im


_DRAW: dict[str, Callable[[int, int, Style], Image.Image]] = {
    "chat": _chat,
    "settings": _settings,
    "page": _page,
    "slide": _slide,
    "caption": _caption,
}
#: The format each family's original is saved in ("page" as a lossless export, not a scan).
ORIGINAL_FORMAT: dict[str, Literal["PNG", "JPEG"]] = {
    "chat": "PNG", "settings": "PNG", "page": "PNG", "slide": "PNG", "caption": "JPEG",
}  # fmt: skip


def draw(family: str, index: int, *, seed: int, style: Style) -> Image.Image:
    """One original picture of `family` (RGB): the family's layout for `seed`, the words of
    `index`."""
    if family not in _DRAW:
        raise ValueError(f"Unknown family {family!r}: use one of {', '.join(FAMILIES)}")
    if style not in ("sans", "serif"):
        raise ValueError(f"Unknown font style {style!r}: use 'sans' or 'serif'")
    if index < 0:
        raise ValueError(f"index must be >= 0, got {index}")
    return _DRAW[family](seed, index, style)


def _whatsapp_bytes(im: Image.Image) -> bytes:
    small = im.convert("RGB")
    if max(small.size) > WHATSAPP_SIDE:
        small = small.copy()
        small.thumbnail((WHATSAPP_SIDE, WHATSAPP_SIDE), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    small.save(buf, "JPEG", quality=WHATSAPP_QUALITY)
    return buf.getvalue()


def whatsapp_copy(im: Image.Image) -> Image.Image:
    """What a messenger makes of a picture: long side at most 1600 px, JPEG q70 (decoded)."""
    with Image.open(io.BytesIO(_whatsapp_bytes(im))) as out:
        decoded: Image.Image = out.convert("RGB")
    return decoded


def half_size(im: Image.Image) -> Image.Image:
    """A LANCZOS resize to half the width and height."""
    return im.resize((max(1, im.width // 2), max(1, im.height // 2)), Image.Resampling.LANCZOS)


@dataclass(frozen=True)
class TextPicture:
    path: Path
    family: str
    source: str  # pictures with the same source are true duplicates of each other
    variant: Variant


def _save(im: Image.Image, path: Path, fmt: Literal["PNG", "JPEG"], *, level: int) -> None:
    if fmt == "PNG":
        im.save(path, "PNG", compress_level=level)
    else:
        im.save(path, "JPEG", quality=JPEG_ORIGINAL_QUALITY)


def _same_bytes(a: Path, b: Path) -> bool:
    return a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()


def make_set(
    out: Path,
    *,
    seed: int,
    style: Style,
    per_family: int = 15,
    families: Sequence[str] = FAMILIES,
) -> list[TextPicture]:
    """Write `per_family` originals of each family and their three copies into
    `out/<family>/`; returns the truth (one TextPicture per file, originals first).

    Files: `<family>-<index>.png|jpg` (original), `-whatsapp.jpg`, `-resave.png` (PNG of the
    original's pixels with other settings: other bytes) and `-half.png|jpg` (half size, in the
    original's format).
    """
    unknown = [f for f in families if f not in _DRAW]
    if unknown:
        raise ValueError(f"Unknown families {unknown}: use {', '.join(FAMILIES)}")
    if "settings" in families and per_family > SETTINGS_VALUES:
        raise ValueError(f"settings has {SETTINGS_VALUES} distinct pictures, not {per_family}")
    pics: list[TextPicture] = []
    for family in families:
        folder = Path(out) / family
        folder.mkdir(parents=True, exist_ok=True)
        fmt = ORIGINAL_FORMAT[family]
        ext = ".png" if fmt == "PNG" else ".jpg"
        for index in range(per_family):
            stem = f"{family}-{index:02d}"
            source = f"{family}/{index:02d}"
            original = folder / f"{stem}{ext}"
            im = draw(family, index, seed=seed, style=style)
            _save(im, original, fmt, level=PNG_ORIGINAL_LEVEL)
            if fmt == "PNG":
                pixels = im  # lossless: the file holds exactly these pixels
            else:
                with Image.open(original) as saved:
                    pixels = saved.convert("RGB")  # what the file holds: the decoded JPEG
            whatsapp = folder / f"{stem}-whatsapp.jpg"
            whatsapp.write_bytes(_whatsapp_bytes(pixels))
            resave = folder / f"{stem}-resave.png"
            pixels.save(resave, "PNG", compress_level=PNG_RESAVE_LEVEL)
            if _same_bytes(resave, original):  # never expected; keep the set honest
                raise RuntimeError(f"PNG re-save of {original} has the original's bytes")
            half = folder / f"{stem}-half{ext}"
            _save(half_size(pixels), half, fmt, level=PNG_ORIGINAL_LEVEL)
            files: tuple[tuple[Path, Variant], ...] = (
                (original, "original"), (whatsapp, "whatsapp"), (resave, "png"), (half, "half"),
            )  # fmt: skip
            pics.extend(TextPicture(path, family, source, variant) for path, variant in files)
    return pics


def true_pairs(pics: Iterable[TextPicture]) -> set[frozenset[Path]]:
    """Every pair of pictures with the same source (the duplicates a perfect sort groups)."""
    by_source: dict[str, list[Path]] = {}
    for p in pics:
        by_source.setdefault(p.source, []).append(p.path)
    return {frozenset(pair) for paths in by_source.values() for pair in combinations(paths, 2)}
