"""The files ReMedia stores, declared in one place: journal records, the saved report, the
group manifest, and `sort-<stamp>` names. Readers and writers of each live together, so the
field names on disk have one definition.
"""

from __future__ import annotations

from .journal import (
    EFFECTS,
    Begin,
    End,
    Group,
    ManifestMade,
    ManifestUpdated,
    Mkdir,
    Moved,
    MoveIntent,
    Op,
    Record,
    Review,
    RunEnd,
    SetDone,
    Undone,
    Unknown,
    as_records,
    parse_record,
)
from .jsonfile import json_bytes, read_json
from .manifest import Manifest, grown_manifest, manifest_path, new_manifest, read_manifest
from .naming import sort_name, stamp
from .report import (
    MemberDetail,
    Report,
    ReportGroup,
    ReportMove,
    SavedReport,
    SortMode,
    latest_report,
    saved_reports,
)

__all__ = [
    "EFFECTS",
    "Begin",
    "End",
    "Group",
    "Manifest",
    "ManifestMade",
    "ManifestUpdated",
    "MemberDetail",
    "Mkdir",
    "MoveIntent",
    "Moved",
    "Op",
    "Record",
    "Report",
    "ReportGroup",
    "ReportMove",
    "Review",
    "RunEnd",
    "SavedReport",
    "SetDone",
    "SortMode",
    "Undone",
    "Unknown",
    "as_records",
    "grown_manifest",
    "json_bytes",
    "latest_report",
    "manifest_path",
    "new_manifest",
    "parse_record",
    "read_json",
    "read_manifest",
    "saved_reports",
    "sort_name",
    "stamp",
]
