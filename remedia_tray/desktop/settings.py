"""Tray settings: one TOML file in the user's config folder, read at start, written atomically."""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from ..atomicfile import write_atomic
from ..core.keeper import KeepRuleError, parse_rules
from ..core.planning import SeriesMode
from ..core.strictness import DEFAULT_LEVEL, HIGHEST, LEVELS, LOWEST, in_range
from ..engines import DEFAULT_ENGINE, EngineChoice

log = logging.getLogger(__name__)

APP_DIR = "ReMedia"
FILE_NAME = "settings.toml"
SETTLE_RANGE = (0.1, 3600.0)


SERIES_MODES: tuple[SeriesMode, ...] = get_args(SeriesMode)  # the first is the default

UNUSABLE = "the folder is not sorted until this is fixed"


@dataclass(frozen=True)
class Invalid:
    """A value of a folder's table that is not valid, kept as written so a save keeps it."""

    key: str  # "" when the folder's whole entry is not a table
    toml: str  # the value in TOML
    why: str  # the problem, in words


@dataclass(frozen=True)
class FolderSettings:
    """What the user chose for one watched folder (`[folders."PATH"]` in the file)."""

    #: The keep rules in order (core/keeper.py names); None: the default rules.
    keep: tuple[str, ...] | None = None
    #: Reference folders; a relative one lies inside the watched folder.
    references: tuple[Path, ...] = ()
    series: SeriesMode = SERIES_MODES[0]
    #: Values the file gave that are not valid. A mistyped safety setting (a reference
    #: folder, a keep rule) must never quietly fall back to no protection, so while any is
    #: there the tray does not sort the folder.
    invalid: tuple[Invalid, ...] = ()

    @property
    def problem(self) -> str | None:
        """Why the folder cannot be sorted now; None when its settings are valid."""
        return "; ".join(i.why for i in self.invalid) or None

    def reference_dirs(self, folder: Path) -> tuple[Path, ...]:
        """The reference folders as absolute paths (relative ones inside `folder`)."""
        return tuple(Path(os.path.abspath(folder / p)) for p in self.references)


@dataclass(frozen=True)
class Settings:
    """What the user chose in the tray; every field has a safe default."""

    watched: tuple[Path, ...] = ()
    strictness: int = LEVELS[DEFAULT_LEVEL]
    engine: EngineChoice = DEFAULT_ENGINE
    paused: bool = False
    settle_seconds: float = 2.0
    #: Local CLIP weights file; None means the engine's own default (never a download).
    clip_weights: Path | None = None
    #: Per watched folder (absolute path): the choices that differ from the defaults.
    folders: tuple[tuple[Path, FolderSettings], ...] = ()

    def folder(self, path: Path) -> FolderSettings:
        """The choices for the watched folder `path` (the defaults when it has none)."""
        key = Path(os.path.abspath(path))
        return next((f for p, f in self.folders if p == key), FolderSettings())

    def with_folder(self, path: Path, **changes: Any) -> Settings:
        """These settings with `changes` to the folder `path`'s choices."""
        key = Path(os.path.abspath(path))
        old = self.folder(key)
        # A value chosen again replaces the invalid one the file gave for that key.
        invalid = tuple(i for i in old.invalid if i.key not in changes and i.key)
        new = dataclasses.replace(old, **changes, invalid=invalid)
        rest = tuple((p, f) for p, f in self.folders if p != key)
        return dataclasses.replace(
            self, folders=rest if new == FolderSettings() else (*rest, (key, new))
        )


@dataclass(frozen=True)
class LoadResult:
    settings: Settings
    #: Why the file on disk was not used, in words for a notification; None when it was fine.
    problem: str | None = None
    #: Where the unusable file was moved so that nothing the user wrote is lost.
    kept_aside: Path | None = None


def default_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_DIR, appauthor=False)) / FILE_NAME


def _load_toml(text: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    data: dict[str, Any] = tomllib.loads(text)
    return data


def parse(data: dict[str, Any], problems: list[str] | None = None) -> Settings:
    """Validate a decoded TOML table; raises ValueError naming the bad key.

    A bad value in a folder's table (`[folders."PATH"]`), or a bad `folders` table, is
    appended to `problems` instead when `problems` is given: the rest of the settings still
    count, and a folder with a bad value is kept but not sorted (`FolderSettings.problem`).
    """
    defaults = Settings()
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key == "folders":
            values["folders"] = _folders(value, problems)
        elif key == "watched":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError("'watched' must be a list of folder paths")
            seen: dict[str, Path] = {}
            for v in value:
                seen.setdefault(v, Path(v).expanduser())
            values["watched"] = tuple(seen.values())
        elif key == "strictness":
            if isinstance(value, bool) or not isinstance(value, int) or not in_range(value):
                raise ValueError(f"'strictness' must be a whole number from {LOWEST} to {HIGHEST}")
            values["strictness"] = value
        elif key == "engine":
            if value not in get_args(EngineChoice):
                raise ValueError(f"'engine' must be one of {', '.join(get_args(EngineChoice))}")
            values["engine"] = value
        elif key == "paused":
            if not isinstance(value, bool):
                raise ValueError("'paused' must be true or false")
            values["paused"] = value
        elif key == "settle_seconds":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError("'settle_seconds' must be a number of seconds")
            lo, hi = SETTLE_RANGE
            if not (math.isfinite(value) and lo <= value <= hi):
                raise ValueError(f"'settle_seconds' must be between {lo:g} and {hi:g}")
            values["settle_seconds"] = float(value)
        elif key == "clip_weights":
            if not isinstance(value, str):
                raise ValueError("'clip_weights' must be a file path")
            values["clip_weights"] = Path(value).expanduser() if value else None
        else:
            # Newer versions may add keys; an older one must still start.
            log.info("ignoring unknown setting %r", key)
    return dataclasses.replace(defaults, **values)


def _folders(data: object, problems: list[str] | None) -> tuple[tuple[Path, FolderSettings], ...]:
    if not isinstance(data, dict):
        _bad(problems, "'folders' must be a table of folders (no folder settings are used)")
        return ()
    out: dict[Path, FolderSettings] = {}
    for name, table in data.items():
        folder = Path(os.path.abspath(Path(name).expanduser()))
        if not isinstance(table, dict):
            why = f"folders.{json.dumps(name)} must be a table ({UNUSABLE})"
            _bad(problems, why)
            out[folder] = FolderSettings(invalid=(Invalid("", _toml_value(table), why),))
            continue
        values: dict[str, Any] = {}
        invalid: list[Invalid] = []
        for key, value in table.items():
            try:
                values[key] = _folder_value(key, value, folder)
            except ValueError as exc:
                why = f"{folder}: {exc} ({UNUSABLE})"
                _bad(problems, why)
                invalid.append(Invalid(key, _toml_value(value), why))
        values = {k: v for k, v in values.items() if k in _FOLDER_KEYS}
        out[folder] = FolderSettings(**values, invalid=tuple(invalid))
    return tuple((p, f) for p, f in out.items() if f != FolderSettings())


_FOLDER_KEYS = frozenset({"keep", "references", "series"})


def _folder_value(key: str, value: object, folder: Path) -> object:
    """One value of a folder's table, checked; ValueError says what is wrong with it."""
    if key == "keep":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError("'keep' must be a list of keep rules, e.g. [\"newest\"]")
        try:
            return parse_rules(value, root=folder).asked
        except KeepRuleError as exc:
            raise ValueError(f"'keep': {exc}") from None
    if key == "references":
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ValueError("'references' must be a list of folder paths")
        return tuple(dict.fromkeys(Path(v).expanduser() for v in value))
    if key == "series":
        if value not in SERIES_MODES:
            raise ValueError(f"'series' must be one of {', '.join(SERIES_MODES)}")
        return value
    log.info("ignoring unknown folder setting %r", key)  # a newer version's
    return None


def _bad(problems: list[str] | None, message: str) -> None:
    if problems is None:
        raise ValueError(message)
    problems.append(message)


def _toml_string(text: str) -> str:
    # JSON string escapes (\" \\ \n \uXXXX) are all valid TOML basic-string escapes;
    # TOML also wants DEL escaped, which JSON leaves raw.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_value(value: object) -> str:
    """A value decoded from TOML, written back in TOML (for a value kept as written)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list):
        return f"[{', '.join(_toml_value(v) for v in value)}]"
    if isinstance(value, dict):
        items = (f"{_toml_string(str(k))} = {_toml_value(v)}" for k, v in value.items())
        return f"{{{', '.join(items)}}}"
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return repr(value) if isinstance(value, float) else str(value)  # int; nan and inf as TOML


def _utf8(path: Path) -> bool:
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        # TOML is UTF-8 only: a folder name in another encoding cannot be stored.
        log.warning("cannot store %r in the settings file (not UTF-8)", path)
        return False
    return True


def dumps(settings: Settings) -> str:
    watched = ", ".join(_toml_string(str(p)) for p in settings.watched if _utf8(p))
    lines = [
        "# ReMedia tray settings. Written by the tray; edit while it is not running.",
        f"watched = [{watched}]",
        f"strictness = {settings.strictness}",
        f"engine = {_toml_string(settings.engine)}",
        f"paused = {'true' if settings.paused else 'false'}",
        f"settle_seconds = {settings.settle_seconds!r}",
        f"clip_weights = {_toml_string(_weights_text(settings.clip_weights))}",
    ]
    folders = [(f, c) for f, c in settings.folders if _utf8(f)]
    # A folder whose whole entry is not a table stays as written, so it stays unusable.
    whole = [
        f"{_toml_string(str(f))} = {i.toml}" for f, c in folders for i in c.invalid if not i.key
    ]
    if whole:
        lines += ["", "[folders]", *whole]
    for folder, chosen in folders:
        if any(not i.key for i in chosen.invalid):
            continue
        lines += ["", f"[folders.{_toml_string(str(folder))}]"]
        bad = {i.key: i.toml for i in chosen.invalid}
        if "keep" in bad or chosen.keep is not None:
            keep = f"[{', '.join(_toml_string(r) for r in chosen.keep or ())}]"
            lines.append(f"keep = {bad.get('keep', keep)}")
        refs = ", ".join(_toml_string(str(p)) for p in chosen.references if _utf8(p))
        lines.append(f"references = {bad.get('references', f'[{refs}]')}")
        lines.append(f"series = {bad.get('series', _toml_string(chosen.series))}")
    return "\n".join(lines) + "\n"


def _weights_text(path: Path | None) -> str:
    return str(path) if path is not None and _utf8(path) else ""


def _keep_aside(path: Path) -> Path | None:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for k in range(1000):
        target = path.with_name(f"{path.name}.invalid-{stamp}" + (f"-{k}" if k else ""))
        if os.path.lexists(target):
            continue
        try:
            os.link(path, target)  # no-clobber, then drop the old name
            os.unlink(path)
        except OSError:
            try:
                if os.path.lexists(target):
                    continue
                os.rename(path, target)
            except OSError as exc:
                log.warning("could not move the invalid settings file aside: %s", exc)
                return None
        return target
    return None


def load(path: Path | None = None) -> LoadResult:
    """Read the settings; a missing file gives defaults, an invalid one is moved aside."""
    path = path if path is not None else default_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return LoadResult(Settings())
    except OSError as exc:
        return LoadResult(Settings(), f"cannot read {path} ({exc.strerror or exc}); using defaults")
    problems: list[str] = []
    try:
        settings = parse(_load_toml(raw.decode("utf-8")), problems)
    except (ValueError, UnicodeDecodeError) as exc:  # TOMLDecodeError is a ValueError
        aside = _keep_aside(path)
        where = f"kept as {aside}" if aside else f"left at {path}"
        return LoadResult(
            Settings(), f"settings file {path} is invalid ({exc}); using defaults, {where}", aside
        )
    if problems:
        return LoadResult(settings, f"in settings file {path}: {'; '.join(problems)}")
    return LoadResult(settings)


def configured_clip_weights(path: Path | None = None) -> Path | None:
    """`clip_weights` from the settings file, read only; an invalid file is left to the tray."""
    path = path if path is not None else default_path()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    try:
        parsed = parse(_load_toml(text), [])  # a bad folder value is the tray's to report
    except ValueError as exc:
        log.info("settings file %s not used for CLIP weights: %s", path, exc)
        return None
    return parsed.clip_weights


def save(settings: Settings, path: Path | None = None) -> Path:
    """Write atomically: a temporary file in the same folder, fsync, then rename over."""
    path = path if path is not None else default_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, dumps(settings).encode("utf-8"), durable=True)
    return path
