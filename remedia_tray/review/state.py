"""What the review page shows now: the latest sort's report plus the review actions since.

Each review action is a journal of its own (see filing/mover.apply_moves), so the state is
rebuilt from disk every time: the latest saved report, then every later active journal that
carries a {"op": "review"} record, replayed in order. `remedia undo` marks such a journal
undone, and the action disappears from the page with it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from ..core.keeper import CHOSEN_REASON
from ..errors import RemediaError
from ..filing.formats import Report, ReportGroup, ReportMove, Review, latest_report
from ..filing.journal import active_journals, iter_moves, read_records

Action = Literal["keep", "not-duplicate", "undo-group"]
ACTIONS: tuple[Action, ...] = ("keep", "not-duplicate", "undo-group")


@dataclass(frozen=True)
class ReviewState:
    root: Path
    sort: Report  # the saved report with the review actions since applied
    report: Path  # the saved report of the sort under review
    actions: int  # review actions replayed on top of it

    def group(self, key: str) -> ReportGroup | None:
        """The group named `key` ("duplicates/NAME"), as the review actions left it."""
        return next((g for g in self.sort.groups if g.key == key), None)


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
    sort = latest.report
    replayed = 0
    for path in active_journals(root):
        if path.name.split(".")[0] <= latest.path.stem:
            continue  # the sort itself, or older
        records = read_records(path)
        review = next((r for r in records if isinstance(r, Review)), None)
        if review is None:
            continue
        moves = [
            (r.src, r.dst)
            for r in iter_moves(records)
            if os.path.lexists(r.dst) or not os.path.lexists(r.src)
        ]
        sort = apply_action(sort, review, moves)
        replayed += 1
    return ReviewState(root, sort, latest.path, replayed)


def _move_companion(groups: list[ReportGroup], src: Path, dst: Path) -> None:
    """Record that a companion now at `src` is at `dst`, in every set that names it."""
    for i, g in enumerate(groups):
        if any(c == src for _, found in g.companions for _, c in found):
            sets = tuple(
                (member, tuple((role, dst if c == src else c) for role, c in found))
                for member, found in g.companions
            )
            groups[i] = replace(g, companions=sets)


def _move_member(groups: list[ReportGroup], k: int, src: Path, dst: Path) -> None:
    """Record that the member now at `src` is at `dst` (its original path when it went back)."""
    _move_companion(groups, src, dst)
    for i, g in enumerate(groups):
        j = next((j for j, m in enumerate(g.moves) if m.dst == src), None)
        if j is None:
            continue
        m = g.moves[j]
        back = () if dst == m.src else (replace(m, dst=dst),)
        groups[i] = replace(g, moves=(*g.moves[:j], *back, *g.moves[j + 1 :]))
        return
    group = groups[k]
    if src in group.members:  # a member still where it was: the kept copy
        groups[k] = replace(group, moves=(*group.moves, ReportMove(src, dst)))


def _without(group: ReportGroup, path: Path) -> ReportGroup:
    """`group` with the member at `path` (where it was) no longer in it."""
    k = group.members.index(path)
    return replace(
        group,
        members=group.members[:k] + group.members[k + 1 :],
        details=group.details[:k] + group.details[k + 1 :],
        kept=None if group.kept == path else group.kept,
        moves=tuple(m for m in group.moves if m.src != path),
        companions=tuple((m, found) for m, found in group.companions if m != path),
    )


def apply_action(report: Report, record: Review, moves: Sequence[tuple[Path, Path]]) -> Report:
    """`report` with one journaled review action (its record and the moves it made) applied."""
    groups = list(report.groups)
    k = next((k for k, g in enumerate(groups) if g.key == record.group), None)
    if k is None:
        return report
    for src, dst in moves:
        _move_member(groups, k, src, dst)
    group, path = groups[k], record.path
    if record.action == "keep":  # a series' best shot is the one kept (issue 25)
        best = path if group.kind == "similar" and path is not None else group.best
        chosen = CHOSEN_REASON
        group = replace(group, kept=path, best=best, reason=chosen, best_reason=chosen)
    elif record.action == "not-duplicate" and path is not None and path in group.members:
        group = _without(group, path)
    if record.action == "undo-group" or not group.moves:
        del groups[k]
    else:
        groups[k] = group
    return replace(report, groups=tuple(groups))


@dataclass(frozen=True)
class Member:
    original: Path
    now: Path
    kept: bool


def members_now(report: Report, group: ReportGroup) -> list[Member]:
    """The group's members and where each is now."""
    everywhere = {m.src: m.dst for g in report.groups for m in g.moves}
    return [Member(p, everywhere.get(p, p), p == group.kept) for p in group.members]
