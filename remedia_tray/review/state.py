"""What the review page shows now: the latest sort's report plus the review actions since.

Each review action is a journal of its own (see filing/mover.apply_moves), so the state is
rebuilt from disk every time: the latest saved report, then every later active journal that
carries a {"op": "review"} record, replayed in order. `remedia undo` marks such a journal
undone, and the action disappears from the page with it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..core.keeper import CHOSEN_REASON
from ..errors import RemediaError
from ..filing.formats import Review, latest_report
from ..filing.journal import active_journals, iter_moves, read_records

Action = Literal["keep", "not-duplicate", "undo-group"]
ACTIONS: tuple[Action, ...] = ("keep", "not-duplicate", "undo-group")
#: Why a chosen copy is kept, on the page and in a later sort's report.


@dataclass(frozen=True)
class ReviewState:
    root: Path
    data: dict[str, Any]  # report data with the review actions applied
    report: Path  # the saved report of the sort under review
    actions: int  # review actions replayed on top of it


def group_key(group: Mapping[str, Any]) -> str:
    """The group's name in the page markup and in requests: "duplicates/NAME" or "similar/NAME"."""
    return f"{group['kind']}/{os.path.basename(str(group['folder']))}"


def load_state(root: Path) -> ReviewState:
    """The state of the latest sort of `root`, review actions included.

    Raises RemediaError when there is no sort, or the latest one was undone.
    """
    root = Path(root)
    latest = latest_report(root)
    if latest is None:
        raise RemediaError(
            f"no sort of {root} to review: run `remedia sort` on it first (or it was undone)"
        )
    report, data = latest.path, latest.report.to_dict()
    replayed = 0
    for path in active_journals(root):
        if path.name.split(".")[0] <= report.stem:
            continue  # the sort itself, or older
        records = read_records(path)
        review = next((r for r in records if isinstance(r, Review)), None)
        if review is None:
            continue
        moves = [
            (str(r.src), str(r.dst))
            for r in iter_moves(records)
            if os.path.lexists(r.dst) or not os.path.lexists(r.src)
        ]
        apply_action(data, review, moves)
        replayed += 1
    return ReviewState(root, data, report, replayed)


def _move_member(data: dict[str, Any], group: dict[str, Any], src: str, dst: str) -> None:
    """Record that the member now at `src` is at `dst` (its original path when it went back)."""
    for g in data.get("groups", ()):
        for m in list(g.get("moves", ())):
            if m["to"] == src:
                if dst == m["from"]:
                    g["moves"].remove(m)
                else:
                    m["to"] = dst
                return
    if src in group["members"]:  # a member still where it was: the kept copy
        group.setdefault("moves", []).append({"from": src, "to": dst})


def apply_action(data: dict[str, Any], record: Review, moves: Sequence[tuple[str, str]]) -> None:
    """Apply one journaled review action (its record and the moves it made) to report data."""
    group = next((g for g in data.get("groups", ()) if group_key(g) == record.group), None)
    if group is None:
        return
    for src, dst in moves:
        _move_member(data, group, src, dst)
    action = record.action
    path = str(record.path) if record.path is not None else None
    if action == "keep":
        group["kept"] = path
        group["reason"] = CHOSEN_REASON
    elif action == "not-duplicate" and path in group["members"]:
        k = group["members"].index(path)
        del group["members"][k]
        details = group.get("details")
        if details and k < len(details):
            del details[k]
        if group.get("kept") == path:
            group["kept"] = None
        group["moves"] = [m for m in group.get("moves", ()) if m["from"] != path]
    if action == "undo-group" or not group.get("moves"):
        data["groups"].remove(group)


@dataclass(frozen=True)
class Member:
    original: Path
    now: Path
    kept: bool


def members_now(data: Mapping[str, Any], group: Mapping[str, Any]) -> list[Member]:
    """The group's members and where each is now."""
    everywhere = {m["from"]: m["to"] for g in data.get("groups", ()) for m in g.get("moves", ())}
    return [
        Member(Path(p), Path(everywhere.get(p, p)), p == group.get("kept"))
        for p in group["members"]
    ]
