"""Shared fixtures: real photos, tree snapshots, an isolated cache per test."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).parent / "data"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
PHOTOS = ("sunset", "peaks", "life", "ridge", "umang", "seeding", "coffee", "cat")


@pytest.fixture(autouse=True)
def _isolated_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Never read or write the developer's real cache or settings.
    base = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_CACHE_HOME", str(base / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(base / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(base / "data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(base / "state"))  # the log


@pytest.fixture(autouse=True)
def _no_workers_left() -> Iterator[None]:
    # Scans keep their worker processes for the next scan; each test starts and ends without.
    from remedia_tray.pipeline.features import shutdown_workers

    shutdown_workers()
    yield
    shutdown_workers()


def photo(name: str) -> Path:
    return DATA / f"{name}.jpg"


def shared_data(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


def chromium() -> str:
    """The Chromium binary the page tests drive, or skip."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("Chromium is not installed (apt-get install chromium)")


#: Chromium's switches for the page tests: headless, no sandbox (a container), no GPU, no
#: first-run dialog, none of its own background traffic.
HEADLESS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
)


def headless(browser: str, profile: Path, *switches: str) -> list[str]:
    """The command line of a headless `browser` with its own profile, then `switches`."""
    return [browser, *HEADLESS, f"--user-data-dir={profile}", *switches]


def devtools_tab(chrome: Any) -> str:
    """A new tab, its page events on, of a Chromium driven over DevTools
    (tests/desktop/test_review_chromium.DevTools): its session."""
    target = chrome.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    attached = chrome.call("Target.attachToTarget", {"targetId": target, "flatten": True})
    session: str = attached["sessionId"]
    chrome.call("Page.enable", session=session)
    return session


def load_page(chrome: Any, session: str, url: str) -> int:
    """Open `url` in the tab and wait for its load event; returns where in `chrome.events`
    the page's own events start."""
    mark = len(chrome.events)
    chrome.call("Page.navigate", {"url": url}, session=session)
    chrome.wait_event("Page.loadEventFired", after=mark)
    return mark


def evaluated(chrome: Any, session: str, expression: str, *, timeout: float = 60) -> Any:
    """What the script `expression` gives in the tab (a promise awaited), by value."""
    params = {"expression": expression, "awaitPromise": True, "returnByValue": True}
    reply = chrome.call("Runtime.evaluate", params, session=session, timeout=timeout)
    return reply["result"]["value"]


def read_tree(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file, ReMedia's own data folder excluded."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".remedia"]
        for name in filenames:
            p = Path(dirpath) / name
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def all_dirs(root: Path) -> set[str]:
    return {
        str(Path(d).relative_to(root))
        for d, _, _ in os.walk(root)
        if ".remedia" not in Path(d).relative_to(root).parts
    }


def whatsapp_copy(src: Path, dst: Path, *, side: int = 320, quality: int = 60) -> Path:
    """Resized, recompressed, metadata stripped: what a messenger makes of a photo."""
    from PIL import Image

    with Image.open(src) as im:
        im = im.convert("RGB")
        im.thumbnail((side, side))
        dst.parent.mkdir(parents=True, exist_ok=True)
        im.save(dst, "JPEG", quality=quality)
    return dst


def save_as(src: Path, dst: Path, fmt: str, **kw: object) -> Path:
    from PIL import Image

    with Image.open(src) as im:
        dst.parent.mkdir(parents=True, exist_ok=True)
        im.convert("RGB").save(dst, fmt, **kw)
    return dst


@pytest.fixture
def make_tree(tmp_path: Path) -> Callable[[dict[str, bytes | Path]], Path]:
    """Build a folder from {relative path: bytes or source file}."""

    def build(spec: dict[str, bytes | Path]) -> Path:
        root = tmp_path / "photos"
        root.mkdir(exist_ok=True)
        for rel, content in spec.items():
            p = root / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(content.read_bytes() if isinstance(content, Path) else content)
        return root

    return build


def jpeg_bytes(im: object, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", **kw)  # type: ignore[attr-defined]
    return buf.getvalue()


def run_remedia(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m remedia_tray ARGS` as a user runs it: a real process."""
    return subprocess.run(
        [sys.executable, "-m", "remedia_tray", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )
