"""Tray settings: TOML round trip, atomic save, invalid files kept aside, never lost."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from remedia_tray.desktop import settings as sm
from remedia_tray.desktop.settings import Settings


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    result = sm.load(tmp_path / "nothing.toml")
    assert result.settings == Settings()
    assert result.problem is None and result.kept_aside is None


def test_default_path_follows_xdg_config_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert sm.default_path() == tmp_path / "cfg" / "ReMedia" / "settings.toml"


def test_round_trip_with_awkward_paths(tmp_path: Path) -> None:
    s = Settings(
        watched=(Path('/home/zoë/Phone "Backup"'), Path("C:\\Users\\O'Brien\\Pics"), Path("/a\tb")),
        strictness=75,
        engine="hash",
        paused=True,
        settle_seconds=0.5,
        clip_weights=Path("/models/ViT-B-32 (openai).pt"),
    )
    path = sm.save(s, tmp_path / "cfg" / "settings.toml")
    assert sm.load(path) == sm.LoadResult(s)
    assert [p.name for p in path.parent.iterdir()] == ["settings.toml"]  # no temp file left


def test_save_replaces_atomically_and_keeps_a_single_file(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    sm.save(Settings(strictness=25), path)
    inode_before = path.stat().st_ino
    sm.save(Settings(strictness=100), path)
    assert sm.load(path).settings.strictness == 100
    assert path.stat().st_ino != inode_before  # written beside, then renamed over
    assert sorted(os.listdir(tmp_path)) == ["settings.toml"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("strictness = [unclosed", "invalid"),
        ("strictness = 200\n", "'strictness'"),
        ('engine = "magic"\n', "'engine'"),
        ('watched = "/just/one/string"\n', "'watched'"),
        ("paused = 1\n", "'paused'"),
        ("settle_seconds = -3\n", "'settle_seconds'"),
        ("settle_seconds = true\n", "'settle_seconds'"),
        (b"\xff\xfe not utf-8", "invalid"),
    ],
)
def test_invalid_file_is_kept_aside_and_defaults_are_used(
    tmp_path: Path, text: str | bytes, words: str
) -> None:
    path = tmp_path / "settings.toml"
    raw = text if isinstance(text, bytes) else text.encode()
    path.write_bytes(raw)
    result = sm.load(path)
    assert result.settings == Settings()
    assert result.problem is not None and words in result.problem
    assert str(path) in result.problem
    assert result.kept_aside is not None and str(result.kept_aside) in result.problem
    assert result.kept_aside.read_bytes() == raw  # the user's text is never lost
    assert not path.exists()  # the next save cannot overwrite it
    sm.save(Settings(), path)
    assert result.kept_aside.read_bytes() == raw


def test_a_second_invalid_file_does_not_replace_the_first_one_kept(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("engine = 1\n")
    first = sm.load(path).kept_aside
    path.write_text("engine = 2\n")
    second = sm.load(path).kept_aside
    assert first is not None and second is not None and first != second
    assert first.read_text() == "engine = 1\n" and second.read_text() == "engine = 2\n"


def test_unknown_keys_are_ignored_for_forward_compatibility(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('strictness = 75\nfuture_option = "x"\n')
    result = sm.load(path)
    assert result.problem is None and result.settings.strictness == 75


def test_duplicate_watched_folders_are_merged(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('watched = ["/a", "/b", "/a"]\n')
    assert sm.load(path).settings.watched == (Path("/a"), Path("/b"))


_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=40,
).filter(lambda t: not t.startswith("~"))  # "~" means the home folder, by design


@settings(max_examples=150, deadline=None)
@given(
    folders=st.lists(_text, max_size=4, unique=True),
    strictness=st.integers(0, 100),
    settle=st.floats(0.1, 3600.0, allow_nan=False),
    paused=st.booleans(),
)
def test_any_settings_survive_a_round_trip(
    folders: list[str], strictness: int, settle: float, paused: bool
) -> None:
    s = Settings(
        watched=tuple(Path(f) for f in folders),
        strictness=strictness,
        settle_seconds=settle,
        paused=paused,
    )
    # Path() normalises (e.g. trailing slashes); compare what Path made of each string.
    assert sm.parse(sm._load_toml(sm.dumps(s))) == s


# -- per watched folder: keep rules, reference folders, series (issue 25) ----------------------


def test_folder_choices_round_trip(tmp_path: Path) -> None:
    phone, pics = Path('/home/zoë/Phone "Backup"'), Path("/srv/pics")
    s = Settings(watched=(phone, pics)).with_folder(
        phone, keep=("folder:Library", "newest"), references=(Path("Library"), Path("/srv/ref"))
    )
    s = s.with_folder(pics, series="move-all")
    path = sm.save(s, tmp_path / "settings.toml")
    loaded = sm.load(path)
    assert loaded == sm.LoadResult(s)
    assert loaded.settings.folder(phone) == sm.FolderSettings(
        keep=("folder:Library", "newest"), references=(Path("Library"), Path("/srv/ref"))
    )
    assert loaded.settings.folder(pics).series == "move-all"
    assert loaded.settings.folder(Path("/elsewhere")) == sm.FolderSettings()
    # Relative reference folders lie inside the watched folder.
    assert loaded.settings.folder(phone).reference_dirs(phone) == (
        phone / "Library", Path("/srv/ref"),
    )  # fmt: skip


def test_back_to_the_defaults_leaves_no_table(tmp_path: Path) -> None:
    s = Settings().with_folder(Path("/a"), keep=("newest",))
    assert s.folders == ((Path("/a"), sm.FolderSettings(keep=("newest",))),)
    assert s.with_folder(Path("/a"), keep=None).folders == ()
    assert "[folders." not in sm.dumps(s.with_folder(Path("/a"), keep=None))


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ('keep = ["nwest"]', "/p: 'keep': unknown keep rule 'nwest'; the rules are original"),
        ('keep = "newest"', "/p: 'keep' must be a list of keep rules"),
        ('keep = ["oldest", "newest"]', "'oldest' and 'newest' contradict each other"),
        ("keep = []", "no keep rule given"),
        ("references = [1]", "/p: 'references' must be a list of folder paths"),
        ('references = "Lib"', "/p: 'references' must be a list of folder paths"),
        ('series = "best"', "/p: 'series' must be one of keep-best, move-all"),
        ('series = ["move-all"]', "/p: 'series' must be one of keep-best, move-all"),
    ],
)
def test_a_bad_folder_value_makes_the_folder_unusable_until_fixed(
    tmp_path: Path, table: str, words: str
) -> None:
    good = "" if table.startswith("series") else 'series = "move-all"\n'
    path = tmp_path / "settings.toml"
    path.write_text(f'strictness = 75\nwatched = ["/p"]\n\n[folders."/p"]\n{table}\n{good}')
    result = sm.load(path)
    assert result.problem is not None and words in result.problem, result.problem
    assert str(path) in result.problem and "(the folder is not sorted until this is fixed)" in (
        result.problem
    )
    assert result.kept_aside is None and path.exists()  # the rest of the file counts
    assert result.settings.strictness == 75 and result.settings.watched == (Path("/p"),)
    chosen = result.settings.folder(Path("/p"))
    # A mistyped safety setting never falls back to no protection: the folder is not sorted.
    assert chosen.problem is not None and words in chosen.problem
    assert chosen.series == ("move-all" if good else "keep-best")  # the good value is read
    assert result.settings.folder(Path("/q")).problem is None  # other folders are unaffected
    # A save (the tray saves on any change) keeps the bad value as written: still unusable.
    again = sm.load(sm.save(result.settings, tmp_path / "saved.toml"))
    assert again.settings == result.settings
    assert again.problem == result.problem.replace(str(path), str(tmp_path / "saved.toml"))
    # Choosing the value again (the Keep menu) fixes it.
    key = table.split(" =")[0]
    value = {"keep": ("newest",), "references": (Path("Lib"),), "series": "keep-best"}[key]
    fixed = result.settings.with_folder(Path("/p"), **{key: value}).folder(Path("/p"))
    assert fixed.problem is None and getattr(fixed, key) == value


def test_a_folder_entry_that_is_not_a_table_is_unusable(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('[folders]\n"/p" = 3\n\n[folders."/q"]\nseries = "move-all"\n')
    result = sm.load(path)
    assert result.problem is not None and 'folders."/p" must be a table' in result.problem
    assert result.settings.folder(Path("/p")).problem is not None
    assert result.settings.folder(Path("/q")) == sm.FolderSettings(series="move-all")
    again = sm.load(sm.save(result.settings, tmp_path / "saved.toml"))
    assert again.settings == result.settings


def test_folders_that_is_not_a_table_is_a_problem_of_that_key_only(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("strictness = 75\nfolders = 5\n")
    result = sm.load(path)
    assert result.problem is not None and "'folders' must be a table" in result.problem
    assert result.kept_aside is None and path.exists()
    assert result.settings == Settings(strictness=75)
    with pytest.raises(ValueError, match="'folders' must be a table"):
        sm.parse({"folders": "x"})  # without a list of problems, still an error


def test_a_bad_folder_value_does_not_hide_the_clip_weights(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('clip_weights = "/m/clip.onnx"\n\n[folders."/p"]\nkeep = ["nwest"]\n')
    assert sm.configured_clip_weights(path) == Path("/m/clip.onnx")
