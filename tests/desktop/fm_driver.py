"""fm_driver.py: open a real file manager under a private Xvfb, right-click, screenshot, click.

Adapted from the shared desktop test helpers tools/desktop/nautilus_click.sh and
tools/desktop/fm_shot.sh (same screen, environment, waits and menu coordinates, Debian 12),
turned into a context manager so a test can wait for what the clicked entry started before
the file manager is stopped.

What it does
  Starts `Xvfb -displayfd` on a free display (1280x800x24) and `dbus-run-session -- FM FOLDER`
  with HOME, XDG_CONFIG_HOME, XDG_DATA_HOME and XDG_CACHE_HOME inside TEST_HOME (where the
  test installed the entries; the file managers read them at start-up), waits for the
  window, moves it to 0,0 (and resizes it to 900x600 where fm_shot.sh does), waits until
  the first item is drawn (instead of the scripts' fixed START_WAIT: a loaded machine or a
  fresh HOME can show "Loading..." for longer), then lets the test right-click an item or the
  background, save screenshots (ImageMagick `import`) and click a menu entry with xdotool.
  The file manager's output goes to OUTDIR/<label>.log. On exit both process groups are
  stopped. GSK_RENDERER=cairo: GTK 4's default GL renderer (llvmpipe under Xvfb) can starve
  Nautilus' folder listing for minutes on a loaded machine.

What it expects
  Debian 12: xvfb, xdotool, imagemagick, dbus, and nautilus (+ python3-nautilus), nemo,
  thunar or dolphin. `missing_tools()` names what is absent so tests can skip.

Coordinates (screen pixels after the move; folder whose entries are sub-folders, icon view)
  Nautilus 43.2  first item 330,110; background 600,450; the entry 408,474 (several folders
                 selected; 408,429 for one) and 677,628 (background menu); a fresh HOME
                 needs ~15 s before the listing shows
  Nemo 5.6.4     first item 246,150; background 700,450; entry 339,274 / 752,518
  Thunar 4.18.4  first item 210,150; background 700,450; entry 260,422 (several folders
                 selected; 301,442 for one) / 750,569
  Dolphin 22.12  first item 330,190; background 700,450; entry 384,433 / 754,618
  Menus open at the pointer and depend on the entries present; check the screenshots when
  they move.

Usage
  with FileManager("nemo", folder, test_home, outdir) as fm:
      fm.right_click(246, 150, select_all=True, shot="nemo_menu.png")
      fm.click(339, 274)
      ... wait for the effect ...
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType


@dataclass(frozen=True)
class FmRecipe:
    argv: tuple[str, ...]
    find: tuple[str, ...]  # xdotool search arguments for the window
    start_wait: float
    size: tuple[int, int] | None
    item: tuple[int, int]
    background: tuple[int, int]
    item_entry: tuple[int, int]
    background_entry: tuple[int, int]
    packages: str


RECIPES = {
    "nautilus": FmRecipe(
        ("nautilus", "--new-window"), ("--class", "nautilus"), 15.0, None,
        (330, 110), (600, 450), (408, 474), (677, 628), "nautilus python3-nautilus",
    ),
    "nemo": FmRecipe(
        ("nemo",), ("--class", "nemo"), 6.0, (900, 600),
        (246, 150), (700, 450), (339, 274), (752, 518), "nemo",
    ),
    "thunar": FmRecipe(
        ("thunar",), ("--class", "thunar"), 6.0, (900, 600),
        (210, 150), (700, 450), (260, 422), (750, 569), "thunar",
    ),
    "dolphin": FmRecipe(
        ("dolphin",), ("--class", "dolphin"), 8.0, (900, 600),
        (330, 190), (700, 450), (384, 433), (754, 618), "dolphin",
    ),
}  # fmt: skip

TOOLS = {"Xvfb": "xvfb", "xdotool": "xdotool", "import": "imagemagick", "dbus-run-session": "dbus"}


def missing_tools(name: str) -> str | None:
    """Why this file manager cannot be driven here, or None."""
    need = dict(TOOLS)
    need[RECIPES[name].argv[0]] = RECIPES[name].packages
    missing = sorted({pkg for tool, pkg in need.items() if shutil.which(tool) is None})
    return f"missing Debian packages: {' '.join(missing)}" if missing else None


def _xdotool(display: str, *args: str) -> str:
    env = {**os.environ, "DISPLAY": display}
    out = subprocess.run(["xdotool", *args], env=env, capture_output=True, text=True, timeout=30)
    return out.stdout


class FileManager:
    def __init__(
        self, name: str, folder: Path, home: Path, outdir: Path, label: str | None = None
    ) -> None:
        self.name = name
        self.label = label or name  # names the log and failure screenshots
        self.recipe = RECIPES[name]
        self.folder = folder
        self.home = home
        self.outdir = outdir
        self.display = ""
        self._xvfb: subprocess.Popen[bytes] | None = None
        self._fm: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> FileManager:
        self.outdir.mkdir(parents=True, exist_ok=True)
        read, write = os.pipe()
        self._xvfb = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        os.close(write)
        with os.fdopen(read) as r:
            self.display = ":" + r.readline().strip()
        env = {k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
        env.update(
            DISPLAY=self.display,
            HOME=str(self.home),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            XDG_DATA_HOME=str(self.home / ".local" / "share"),
            XDG_CACHE_HOME=str(self.home / ".cache"),
            # GTK 4 (Nautilus) draws with OpenGL by default, i.e. llvmpipe under Xvfb; on a
            # loaded 2-CPU runner its "Loading..." spinner then starved the folder listing
            # for up to 114 s. The cairo renderer listed in ~2 s every time.
            GSK_RENDERER="cairo",
            GTK_A11Y="none",
            NO_AT_BRIDGE="1",
            NAUTILUS_PYTHON_DEBUG="misc",
        )
        try:
            for attempt in (1, 2):
                try:
                    self._start(env, attempt)
                    break
                except RuntimeError:
                    # Seen under heavy load: Nautilus stuck at "Loading..." for over a minute.
                    self._stop(self._fm)
                    if attempt == 2:
                        raise
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self, env: dict[str, str], attempt: int) -> None:
        started = time.monotonic()
        with open(self.outdir / f"{self.label}.log", "ab" if attempt > 1 else "wb") as log:
            self._fm = subprocess.Popen(
                ["dbus-run-session", "--", *self.recipe.argv, str(self.folder)],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        wid = self._wait_window(started)
        _xdotool(self.display, "windowmove", wid, "0", "0")
        if self.recipe.size:
            _xdotool(self.display, "windowsize", wid, *map(str, self.recipe.size))
        self._wait_listing(started)

    def _wait_window(self, started: float) -> str:
        find = list(self.recipe.find)
        while time.monotonic() - started < self.recipe.start_wait + 20:
            wids = _xdotool(self.display, "search", "--onlyvisible", *find).split()
            if wids:
                return wids[0]
            assert self._fm is not None
            if self._fm.poll() is not None:
                break
            time.sleep(0.5)
        raise RuntimeError(f"{self.name}: no window (see {self.outdir / (self.label + '.log')})")

    def _wait_listing(self, started: float) -> None:
        """Until the first item is drawn (a fresh HOME can show "Loading..." for long)."""
        from PIL import Image

        x, y = self.recipe.item
        probe = self.outdir / f".{self.label}-probe.png"
        # Loaded machines: listings after ~63 s were seen (Nautilus, fresh HOME, load 8 on 2 CPUs).
        deadline = started + self.recipe.start_wait + 75
        try:
            while time.monotonic() < deadline:
                self.screenshot(probe.name)
                with Image.open(probe) as im:
                    box = im.convert("RGB").crop((x - 25, y - 25, x + 25, y + 25))
                    colors = box.getcolors(2500) or []
                common = max(colors)[1] if colors else (0, 0, 0)
                drawn = sum(n for n, c in colors if sum(abs(a - b) for a, b in zip(c, common)) > 90)
                if drawn > 40:
                    probe.unlink()
                    time.sleep(1.0)  # let the rest of the view settle
                    return
                time.sleep(1.5)  # each capture briefly holds the X server
        finally:
            if probe.exists():
                probe.replace(self.outdir / f"{self.label}_not_listed.png")
        raise RuntimeError(
            f"{self.name}: the folder listing never appeared (see {self.label}_not_listed.png)"
        )

    def screenshot(self, name: str) -> Path:
        path = self.outdir / name
        subprocess.run(
            ["import", "-window", "root", str(path)],
            env={**os.environ, "DISPLAY": self.display}, check=True, timeout=30,
        )  # fmt: skip
        return path

    def right_click(
        self, x: int, y: int, *, select: bool, select_all: bool = False, shot: str
    ) -> Path:
        """Select the item at x,y (and with select_all, everything) and open its menu."""
        if select:
            _xdotool(self.display, "mousemove", str(x), str(y), "click", "1")
            time.sleep(0.5)
            if select_all:
                _xdotool(self.display, "key", "ctrl+a")
                time.sleep(0.5)
        else:
            _xdotool(self.display, "mousemove", str(x), str(y))
        _xdotool(self.display, "click", "3")
        time.sleep(1.5)
        return self.screenshot(shot)

    def click(self, x: int, y: int) -> None:
        _xdotool(self.display, "mousemove", str(x), str(y), "click", "1")
        time.sleep(1.0)

    @staticmethod
    def _stop(proc: subprocess.Popen[bytes] | None) -> None:
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop(self._fm)
        self._stop(self._xvfb)
