"""Every CLI command and option is listed by `--help` and in the README."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest

from remedia_tray.cli import build_parser

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _commands() -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def _options(parser: argparse.ArgumentParser) -> list[str]:
    """Long options, and the choices of positional actions (`autostart enable`)."""
    out: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        out += [s for s in action.option_strings if s.startswith("--")]
    return out


def _help(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "remedia_tray", *args, "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def test_the_program_options_are_in_help_and_readme() -> None:
    for option in _options(build_parser()):
        assert option in _help(), f"{option} missing from remedia --help"
        assert f"remedia {option}" in README, f"remedia {option} missing from the README"


def test_the_parser_has_the_commands_users_know() -> None:
    # Guards the test itself: an empty walk would pass every check below.
    assert {"sort", "undo", "review", "tray", "integrate", "model"} <= set(_commands())
    assert "--strictness" in _options(_commands()["sort"])


@pytest.mark.parametrize("command", sorted(_commands()))
def test_each_command_is_in_help_and_readme(command: str) -> None:
    assert re.search(rf"\b{command}\b", _help()), f"{command} missing from remedia --help"
    assert f"remedia {command}" in README, f"`remedia {command}` missing from the README"


@pytest.mark.parametrize(
    ("command", "option"),
    [(c, o) for c, p in sorted(_commands().items()) for o in _options(p)],
)
def test_each_option_is_in_help_and_readme(command: str, option: str) -> None:
    assert option in _help(command), f"{option} missing from remedia {command} --help"
    assert re.search(rf"{re.escape(option)}\b", README), f"{command} {option} missing from README"


@pytest.mark.parametrize(
    ("command", "choice"),
    [
        (c, choice)
        for c, p in sorted(_commands().items())
        for a in p._actions
        if not a.option_strings and a.choices
        for choice in a.choices
    ],
)
def test_each_action_word_is_in_the_readme(command: str, choice: str) -> None:
    assert f"remedia {command} {choice}" in README or re.search(
        rf"remedia {command} [^`\n]*\b{choice}\b", README
    ), f"`remedia {command} {choice}` missing from the README"
