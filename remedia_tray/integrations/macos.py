"""macOS Finder: a Quick Action (Services workflow bundle) in ~/Library/Services.

The bundle holds two property lists written with plistlib: Info.plist registers the
service for folders in Finder, document.wflow is an Automator workflow with one "Run Shell
Script" action whose input arrives as arguments (`inputMethod` 1), so the folders stay in
"$@" and are never spliced into the script text.
"""

from __future__ import annotations

import plistlib
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .base import LABEL, ChangeReport, EntryStatus, Launcher, Platform
from .commands import check_launcher, sh_command, sort_argv
from .userfiles import FileSpec, UserFiles

FINDER_ID = "com.apple.finder"
FINDER_PATH = "/System/Library/CoreServices/Finder.app"
FOLDER_INPUT = "com.apple.Automator.fileSystemObject.folder"
NOTHING = "com.apple.Automator.nothing"
RUN_SHELL = "/System/Library/Automator/Run Shell Script.action"
# Fixed ids: the same launcher always gives the same bytes (install stays idempotent).
_NS = uuid.UUID("4f0b7a52-2b1e-4c51-9a57-0c6d2f3c9e11")


def _id(name: str) -> str:
    return str(uuid.uuid5(_NS, name)).upper()


def shell_script(command: Sequence[str]) -> str:
    return (
        f"# {LABEL}: installed by `remedia integrate install`.\n"
        '# Finder passes the selected folders as arguments; they stay in "$@".\n'
        f'exec {sh_command(command)} "$@"\n'
    )


def info_plist() -> dict[str, Any]:
    return {
        "NSServices": [
            {
                "NSMenuItem": {"default": LABEL},
                "NSMessage": "runWorkflowAsService",
                "NSRequiredContext": {"NSApplicationIdentifier": FINDER_ID},
                "NSSendFileTypes": ["public.folder"],
            }
        ]
    }


def _argument(index: int, name: str, default: Any) -> dict[str, Any]:
    return {
        "default value": default,
        "name": name,
        "required": "0",
        "type": "0",
        "uuid": str(index),
    }


def document_wflow(command: Sequence[str]) -> dict[str, Any]:
    action = {
        "AMAccepts": {"Container": "List", "Optional": True, "Types": ["com.apple.cocoa.string"]},
        "AMActionVersion": "2.0.3",
        "AMApplication": ["Automator"],
        "AMParameterProperties": {
            "COMMAND_STRING": {},
            "CheckedForUserDefaultShell": {},
            "inputMethod": {},
            "shell": {},
            "source": {},
        },
        "AMProvides": {"Container": "List", "Types": ["com.apple.cocoa.string"]},
        "ActionBundlePath": RUN_SHELL,
        "ActionName": "Run Shell Script",
        "ActionParameters": {
            "COMMAND_STRING": shell_script(command),
            "CheckedForUserDefaultShell": True,
            "inputMethod": 1,  # as arguments
            "shell": "/bin/bash",
            "source": "",
        },
        "BundleIdentifier": "com.apple.RunShellScript",
        "CFBundleVersion": "2.0.3",
        "CanShowSelectedItemsWhenRun": False,
        "CanShowWhenRun": True,
        "Category": ["AMCategoryUtilities"],
        "Class Name": "RunShellScriptAction",
        "InputUUID": _id("input"),
        "Keywords": ["Shell", "Script", "Command", "Run", "Unix"],
        "OutputUUID": _id("output"),
        "UUID": _id("action"),
        "UnlocalizedApplications": ["Automator"],
        "arguments": {
            "0": _argument(0, "inputMethod", 0),
            "1": _argument(1, "CheckedForUserDefaultShell", False),
            "2": _argument(2, "source", ""),
            "3": _argument(3, "COMMAND_STRING", ""),
            "4": _argument(4, "shell", "/bin/sh"),
        },
        "isViewVisible": 1,
        "location": "309.000000:253.000000",
        "nibPath": f"{RUN_SHELL}/Contents/Resources/Base.lproj/main.nib",
    }
    return {
        "AMApplicationBuild": "523",
        "AMApplicationVersion": "2.10",
        "AMDocumentVersion": "2",
        "actions": [{"action": action, "isViewVisible": 1}],
        "connectors": {},
        "workflowMetaData": {
            "applicationBundleID": FINDER_ID,
            "applicationBundleIDsByPath": {FINDER_PATH: FINDER_ID},
            "applicationPath": FINDER_PATH,
            "applicationPaths": [FINDER_PATH],
            "inputTypeIdentifier": FOLDER_INPUT,
            "outputTypeIdentifier": NOTHING,
            "presentationMode": 15,
            "processesInput": False,
            "serviceApplicationBundleID": FINDER_ID,
            "serviceApplicationPath": FINDER_PATH,
            "serviceInputTypeIdentifier": FOLDER_INPUT,
            "serviceOutputTypeIdentifier": NOTHING,
            "serviceProcessesInput": False,
            "systemImageName": "NSActionTemplate",
            "useAutomaticInputType": False,
            "workflowTypeIdentifier": "com.apple.Automator.servicesMenu",
        },
    }


class MacInstaller:
    platform: Platform = "macos"

    def __init__(self, *, home: Path | None = None, launcher: Launcher | None = None) -> None:
        self.home = Path(home) if home is not None else Path.home()
        self.launcher = launcher or Launcher.current()
        check_launcher(self.launcher.argv)
        self.command = sort_argv(self.launcher.argv)
        support = self.home / "Library" / "Application Support" / "ReMedia"
        self.files = UserFiles(support / "integrations.json")

    @property
    def bundle(self) -> Path:
        return self.home / "Library" / "Services" / f"{LABEL}.workflow"

    def specs(self) -> list[FileSpec]:
        contents = self.bundle / "Contents"
        return [
            FileSpec(contents / "Info.plist", plistlib.dumps(info_plist())),
            FileSpec(contents / "document.wflow", plistlib.dumps(document_wflow(self.command))),
        ]

    def install(self) -> ChangeReport:
        changed, unchanged = self.files.sync(self.specs(), [])
        notes = (
            (
                "Finder lists it under Quick Actions and Services; if it does not show, run "
                "`/System/Library/CoreServices/pbs -update` or log out and in",
            )
            if changed
            else ()
        )
        return ChangeReport("install", tuple(changed), tuple(unchanged), notes)

    def uninstall(self) -> ChangeReport:
        changed, unchanged = self.files.remove_all([])
        return ChangeReport("uninstall", tuple(changed), tuple(unchanged))

    def status(self) -> tuple[EntryStatus, ...]:
        specs = self.specs()
        states = {UserFiles.state(s) for s in specs}
        state = states.pop() if len(states) == 1 else "outdated"
        return (EntryStatus("finder", state, (str(self.bundle),)),)
