"""The AI stack is imported only when it is used (checked in fresh interpreters)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from . import ai_support
from .conftest import photo, whatsapp_copy

# Fixtures shared by the AI tests (pytest finds them as this module's own).
_shared_model_cache = ai_support._shared_model_cache
ai_models = ai_support.ai_models

HEAVY = (
    "torch",
    "torchvision",
    "open_clip",
    "timm",
    "onnxruntime",
    "onnx",
    "efficientnet_lite_pytorch",
    "safetensors",
    "huggingface_hub",
    "scipy",
    "imagehash",
    "pystray",
    "av",
)

PROBE = """
import json, sys
{body}
heavy = sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r}))
print("PROBE " + json.dumps(heavy))
"""


def loaded_after(body: str) -> list[str]:
    code = PROBE.format(body=body, heavy=HEAVY)
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
        cwd=Path(__file__).resolve().parents[1],
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("PROBE "))
    result: list[str] = json.loads(line[len("PROBE ") :])
    return result


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    root.mkdir()
    for name in ("sunset", "peaks", "cat"):
        (root / f"{name}.jpg").write_bytes(photo(name).read_bytes())
    whatsapp_copy(photo("sunset"), root / "sunset-wa.jpg")
    return root


def test_importing_remedia_tray_loads_no_ai_stack() -> None:
    assert loaded_after("import remedia_tray, remedia_tray.engines, remedia_tray.cli") == []


def test_a_hash_sort_never_imports_torch(folder: Path) -> None:
    body = (
        "from remedia_tray.cli import main\n"
        f"assert main(['sort', {str(folder)!r}, '--engine', 'hash', '--workers', '1']) == 0\n"
    )
    assert loaded_after(body) == []
    assert (folder / "duplicates" / "sunset" / "sunset-wa.jpg").is_file()


def test_an_ai_sort_needs_no_torch_the_model_ships_ready(folder: Path) -> None:
    body = (
        "from remedia_tray.cli import main\n"
        f"assert main(['sort', {str(folder)!r}, '--workers', '1']) == 0\n"
    )
    loaded = loaded_after(body)
    assert "onnxruntime" in loaded
    assert "torch" not in loaded and "open_clip" not in loaded
    assert "scipy" not in loaded and "pystray" not in loaded
    assert (folder / "duplicates" / "sunset" / "sunset-wa.jpg").is_file()
