"""Filesystem probes for the watcher: is a folder on a network share, and how many inotify
watches may we still take (Linux), and the advice when a folder needs more."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from .._platform import IS_LINUX, IS_MACOS, IS_WINDOWS

log = logging.getLogger(__name__)

#: Filesystems whose changes made by other machines never reach inotify/FSEvents.
NETWORK_FS = frozenset(
    {
        "nfs", "nfs4", "cifs", "smb3", "smbfs", "afpfs", "webdav", "davfs", "9p", "afs",
        "ncpfs", "ceph", "glusterfs", "lustre", "fuse.sshfs", "sshfs", "fuse.rclone",
        "fuse.s3fs", "fuse.gvfsd-fuse", "fuse.davfs2", "fuse.glusterfs", "fuse.cephfs",
    }
)  # fmt: skip
HEADROOM = 0.9  # share of the free inotify watches we allow ourselves


def _unescape_mount(field: str) -> str:
    # /proc/mounts writes space, tab, newline and backslash as octal escapes.
    return (
        field.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
    )


def fs_type_from_mounts(path: Path, mounts_text: str) -> str | None:
    """Filesystem type of the longest mount point containing `path` (pure: /proc/mounts text)."""
    best: tuple[int, str] | None = None
    for line in mounts_text.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        mount_point = Path(_unescape_mount(fields[1]))
        if path == mount_point or mount_point in path.parents:
            depth = len(mount_point.parts)
            if best is None or depth >= best[0]:
                best = (depth, fields[2])
    return best[1] if best else None


def is_network_path(path: Path) -> bool:
    """True for NFS/SMB/SSHFS-like folders, where only polling sees others' changes."""
    path = Path(os.path.realpath(path))
    try:
        if IS_LINUX:
            with open("/proc/mounts", encoding="utf-8", errors="replace") as fh:
                return (fs_type_from_mounts(path, fh.read()) or "") in NETWORK_FS
        if IS_WINDOWS:
            import ctypes

            if str(path).startswith("\\\\"):
                return True
            drive = os.path.splitdrive(str(path))[0] + "\\"
            return bool(ctypes.windll.kernel32.GetDriveTypeW(drive) == 4)  # type: ignore[attr-defined]
        if IS_MACOS:
            import subprocess

            out = subprocess.run(
                ["mount"], capture_output=True, text=True, timeout=5, check=False
            ).stdout
            for line in out.splitlines():  # "//srv/share on /Volumes/share (smbfs, ...)"
                _head, _, rest = line.partition(" on ")
                point, _, opts = rest.rpartition(" (")
                inside = point and (path == Path(point) or Path(point) in path.parents)
                if inside and opts.split(",")[0].strip() in NETWORK_FS:
                    return True
    except (OSError, ValueError):
        log.debug("cannot tell whether %s is a network folder", path, exc_info=True)
    return False


def count_dirs(root: Path, limit: int) -> int:
    """Folders below `root` (each costs one inotify watch), counting at most `limit` + 1."""
    count = 0
    stack = [root]
    while stack and count <= limit:
        folder = stack.pop()
        count += 1
        try:
            with os.scandir(folder) as it:
                stack.extend(Path(e.path) for e in it if e.is_dir(follow_symlinks=False))
        except OSError:
            continue
    return count


def _read_int(path: str) -> int | None:
    try:
        with open(path, encoding="ascii") as fh:
            return int(fh.read().strip())
    except (OSError, ValueError):
        return None


def inotify_watches_in_use() -> int:
    """Watches held by this user's processes (best effort: /proc/*/fdinfo)."""
    uid = os.getuid() if hasattr(os, "getuid") else -1
    used = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.stat(f"/proc/{pid}").st_uid != uid:
                continue
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") != "anon_inode:inotify":
                    continue
                with open(f"/proc/{pid}/fdinfo/{fd}", encoding="ascii", errors="replace") as fh:
                    used += sum(1 for line in fh if line.startswith("inotify wd:"))
        except OSError:
            continue
    return used


def inotify_budget() -> int | None:
    """How many more inotify watches we may take, or None where there is no such limit."""
    if not IS_LINUX:
        return None
    limit = _read_int("/proc/sys/fs/inotify/max_user_watches")
    if limit is None:
        return None
    return max(0, int((limit - inotify_watches_in_use()) * HEADROOM))


def watch_limit_advice(folder: Path, budget: int) -> str:
    return (
        f"{folder} has more than {budget} folders, the number of watches the kernel still "
        "allows (fs.inotify.max_user_watches); watching it by polling instead. "
        "To raise the limit: echo fs.inotify.max_user_watches=524288 | "
        "sudo tee /etc/sysctl.d/90-remedia.conf && sudo sysctl --system"
    )
