"""install.sh, `remedia sort` and uninstall.sh on a fresh Debian 12 root (mmdebstrap).

The root holds only what a user would add for ReMedia (python3, python3-venv, pipx) and
no compiler, so a dependency that needs building fails here. It is built with the
host's own apt sources (read from /etc/apt, never written down here) and cached per day
under /var/tmp/remedia-test-cache. pip inside reaches the index through the host's pip
configuration (pip.conf, its certificate bundle), copied in.

Needs root, mmdebstrap, unshare and network access to the Debian mirror and the index.
Times and sizes go to stdout (-s) and to fresh-machine.json in the test's tmp dir.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import INSTALLERS, listing, make_photos, remedia_paths

pytestmark = pytest.mark.slow

INCLUDE = ("python3", "python3-venv", "pipx", "ca-certificates")
CACHE = Path("/var/tmp/remedia-test-cache")
USER, UID = "tester", 1000
NETWORK_ERRORS = re.compile(
    r"Temporary failure resolving|Could not resolve|Failed to fetch|Unable to connect|"
    r"Network is unreachable|Connection (refused|timed out)|No route to host",
    re.I,
)


def _host_sources() -> str:
    """The host's Debian bookworm sources, as apt itself reads them (deb822 or one-line)."""
    parts: list[str] = []
    legacy = Path("/etc/apt/sources.list")
    files = [legacy] if legacy.is_file() else []
    folder = Path("/etc/apt/sources.list.d")
    if folder.is_dir():
        files += sorted(p for p in folder.iterdir() if p.suffix in (".list", ".sources"))
    for path in files:
        text = path.read_text(errors="replace")
        if "bookworm" not in text:
            continue
        if path.suffix == ".sources":
            parts += [s for s in re.split(r"\n\s*\n", text) if re.search(r"bookworm\b", s)]
        else:
            parts += [ln for ln in text.splitlines() if ln.startswith("deb ") and " bookworm" in ln]
    if not parts:
        pytest.skip("the host has no Debian bookworm apt sources to bootstrap from")
    return "\n\n".join(p.strip() for p in parts) + "\n"


def _base_tarball(sources: str) -> tuple[Path, float]:
    """A cached mmdebstrap tarball (one per day and package set); seconds spent building."""
    key = hashlib.sha256((sources + " ".join(INCLUDE)).encode()).hexdigest()[:12]
    tar = CACHE / f"bookworm-apt-{datetime.date.today():%Y%m%d}-{key}.tar"
    if tar.is_file():
        return tar, 0.0
    CACHE.mkdir(parents=True, exist_ok=True)
    for old in CACHE.glob("bookworm-apt-*.tar"):
        old.unlink()
    partial = tar.with_suffix(".partial.tar")
    t0 = time.monotonic()
    proc = subprocess.run(
        ["mmdebstrap", "--variant=apt", "--mode=root", f"--include={','.join(INCLUDE)}",
         "bookworm", str(partial), "-"],
        input=sources, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    seconds = time.monotonic() - t0
    if proc.returncode != 0:
        partial.unlink(missing_ok=True)
        if NETWORK_ERRORS.search(proc.stderr):
            pytest.skip(f"mmdebstrap could not reach the Debian mirror: {proc.stderr[-300:]}")
        pytest.fail(f"mmdebstrap failed:\n{proc.stderr[-3000:]}")
    partial.rename(tar)
    return tar, seconds


def _copy_pip_config(root: Path) -> None:
    """The host's system-wide pip configuration and the certificate bundle it names."""
    for src in (Path("/etc/pip.conf"), Path("/etc/xdg/pip")):
        if src.is_file():
            shutil.copy2(src, root / src.relative_to("/"))
        elif src.is_dir():
            shutil.copytree(src, root / src.relative_to("/"), dirs_exist_ok=True)
    cert = os.environ.get("PIP_CERT") or ""
    conf = Path("/etc/pip.conf")
    if not cert and conf.is_file():
        m = re.search(r"^\s*cert\s*=\s*(\S+)", conf.read_text(), re.M)
        cert = m.group(1) if m else ""
    if cert and Path(cert).is_file():
        target = root / cert.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)  # may be a link into the root's own bundle
        shutil.copy2(cert, target)


def _add_user(root: Path) -> Path:
    with open(root / "etc/passwd", "a") as f:
        f.write(f"{USER}:x:{UID}:{UID}:ReMedia tester:/home/{USER}:/bin/bash\n")
    with open(root / "etc/group", "a") as f:
        f.write(f"{USER}:x:{UID}:\n")
    home = root / "home" / USER
    home.mkdir(parents=True)
    shutil.copy2(root / "etc/skel/.bashrc", home / ".bashrc")
    shutil.copy2(root / "etc/skel/.profile", home / ".profile")
    return home


def _chown(path: Path) -> None:
    for p in [path, *path.rglob("*")]:
        os.lchown(p, UID, UID)


class Chroot:
    def __init__(self, root: Path) -> None:
        self.root = root

    def run(self, script: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
        """Run bash `script` as the user in a private mount and PID namespace."""
        env = (
            f"HOME=/home/{USER} USER={USER} LOGNAME={USER} LANG=C.UTF-8 "
            f"PATH=/home/{USER}/.local/bin:/usr/local/bin:/usr/bin:/bin"
        )
        r = str(self.root)
        outer = (
            f"mount --rbind /dev '{r}/dev' && mount -t proc proc '{r}/proc' && "
            f"exec chroot --userspec={UID}:{UID} '{r}' env -i {env} bash -euo pipefail -c "
            + shlex_quote(f"cd ~ && {script}")
        )
        return subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "--pid", "--fork",
             "sh", "-c", outer],
            capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip

    def check(self, script: str, timeout: int = 900) -> str:
        proc = self.run(script, timeout)
        assert proc.returncode == 0, f"{script}\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout


def shlex_quote(s: str) -> str:
    return "'" + s.replace("'", "'\\''") + "'"


def test_fresh_debian_install_sort_uninstall(wheel: Path, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (mmdebstrap --mode=root, chroot)")
    for tool in ("mmdebstrap", "unshare", "chroot"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (Debian: apt-get install mmdebstrap)")

    tar, bootstrap_s = _base_tarball(_host_sources())
    root = tmp_path / "root"
    root.mkdir()
    subprocess.run(["tar", "-xf", str(tar), "-C", str(root)], check=True)
    shutil.copy2("/etc/resolv.conf", root / "etc/resolv.conf")
    _copy_pip_config(root)
    home = _add_user(root)

    stage = home / "remedia-setup"
    stage.mkdir()
    for script in ("install.sh", "uninstall.sh"):
        shutil.copy2(INSTALLERS / "linux" / script, stage / script)
    shutil.copy2(wheel, stage / wheel.name)
    photos = home / "Pictures"
    small = make_photos(photos)
    _chown(home)
    box = Chroot(root)
    assert box.check("command -v pipx && command -v python3").strip()
    assert box.run("command -v cc || command -v gcc").returncode != 0, "the root has a compiler"

    before = listing(home)
    t0 = time.monotonic()
    out = box.check(f"bash remedia-setup/install.sh --all-file-managers remedia-setup/{wheel.name}")
    install_s = time.monotonic() - t0
    print(out)
    assert "with pipx" in out and "installed remedia" in out
    # No python3-gi in this root: no tray, and one line saying how to get it.
    assert sum("python3-gi" in ln for ln in out.splitlines()) == 1
    venv = home / ".local" / "pipx" / "venvs" / "remedia-tray"
    assert venv.is_dir()
    venv_bytes = sum(
        f.lstat().st_size for f in venv.rglob("*") if f.is_file() and not f.is_symlink()
    )
    assert (home / ".local/share/nemo/actions/remedia-sort.nemo_action").is_file()
    assert not (home / ".config/autostart/remedia-tray.desktop").exists()

    t1 = time.monotonic()
    sorted_out = box.check("remedia --version && remedia sort --engine hash ~/Pictures")
    sort_s = time.monotonic() - t1
    assert (photos / "duplicates" / "cat" / small.name).is_file(), sorted_out
    assert (photos / "cat.jpg").is_file() and (photos / "coffee.jpg").is_file()
    assert (home / ".cache" / "remedia").is_dir()

    out = box.check("bash remedia-setup/uninstall.sh")
    print(out)
    after = listing(home)
    assert (
        remedia_paths(after - {p for p in after if p.startswith(("remedia-setup", "Pictures"))})
        == set()
    ), sorted(remedia_paths(after))
    assert after - before == {p for p in after - before if p.startswith("Pictures/")}, sorted(
        after ^ before
    )
    assert before - after == {"Pictures/cat_small.jpg"}, sorted(before - after)
    assert box.run("command -v remedia").returncode != 0

    numbers = {
        "mmdebstrap_seconds": round(bootstrap_s, 1) if bootstrap_s else "cached",
        "install_seconds": round(install_s, 1),
        "sort_seconds": round(sort_s, 1),
        "venv_mb": round(venv_bytes / 2**20, 1),
    }
    (tmp_path / "fresh-machine.json").write_text(json.dumps(numbers, indent=2))
    print(f"fresh Debian 12: {json.dumps(numbers)} ({tmp_path / 'fresh-machine.json'})")
