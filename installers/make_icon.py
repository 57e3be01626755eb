"""Draw ReMedia's application icon (used by the Explorer menu entry) with Pillow.

Writes remedia_tray/assets/remedia.ico (16-256 px; shipped in the wheel as package data).
Run from the repository root after changing the drawing:

    .venv/bin/python installers/make_icon.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

SIZE = 256
BLUE = (37, 99, 235, 255)
DEEP = (29, 78, 216, 255)
WHITE = (255, 255, 255, 255)
SKY = (191, 219, 254, 255)
HILL = (22, 163, 74, 255)
SUN = (250, 204, 21, 255)
ASSETS = Path(__file__).resolve().parents[1] / "remedia_tray" / "assets"


def draw() -> Image.Image:
    im = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    d.rounded_rectangle((8, 8, 248, 248), radius=48, fill=BLUE)
    # The copy behind: the duplicate that gets sorted away.
    d.rounded_rectangle((78, 44, 218, 154), radius=14, fill=DEEP, outline=SKY, width=8)
    # The photo in front.
    d.rounded_rectangle((38, 92, 190, 212), radius=14, fill=WHITE)
    d.rectangle((54, 108, 174, 196), fill=SKY)
    d.ellipse((134, 116, 160, 142), fill=SUN)
    d.polygon([(54, 196), (96, 140), (128, 178), (146, 160), (174, 196)], fill=HILL)
    return im


def main() -> None:
    im = draw()
    ASSETS.mkdir(exist_ok=True)
    sizes = [(s, s) for s in (16, 24, 32, 48, 64, 128, 256)]
    im.save(ASSETS / "remedia.ico", format="ICO", sizes=sizes)
    print(f"wrote {ASSETS / 'remedia.ico'}")


if __name__ == "__main__":
    main()
