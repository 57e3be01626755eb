"""benchmarks/ab.py: what it compares, normalises and ignores, on tiny inputs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import ab


def _report(root: str, groups: list[dict[str, object]]) -> dict[str, object]:
    return {"folder": root, "dry_run": True, "groups": groups}


def test_report_groups_are_relative_and_order_free() -> None:
    a = ab.describe_report(
        _report(
            "/tmp/x1/set",
            [
                {"kind": "similar", "kept": None,
                 "members": ["/tmp/x1/set/b.jpg", "/tmp/x1/set/a.jpg"]},
                {"kind": "duplicates", "kept": "/tmp/x1/set/c.jpg",
                 "members": ["/tmp/x1/set/c.jpg", "/tmp/x1/set/sub/d.png"]},
            ],
        )
    )  # fmt: skip
    b = ab.describe_report(
        _report(
            "/tmp/other/set",
            [
                {"kind": "duplicates", "kept": "/tmp/other/set/c.jpg",
                 "members": ["/tmp/other/set/sub/d.png", "/tmp/other/set/c.jpg"]},
                {"kind": "similar", "kept": None,
                 "members": ["/tmp/other/set/a.jpg", "/tmp/other/set/b.jpg"]},
            ],
        )
    )  # fmt: skip
    assert a == b
    assert a["groups"][0] == ["duplicates", ["c.jpg", "sub/d.png"], "c.jpg"]
    # Another kept copy is a difference.
    c = ab.describe_report(
        _report(
            "/tmp/x1/set",
            [{"kind": "duplicates", "kept": "/tmp/x1/set/sub/d.png",
              "members": ["/tmp/x1/set/c.jpg", "/tmp/x1/set/sub/d.png"]}],
        )
    )  # fmt: skip
    assert ab.differences(a, c)


def test_linkage_pairs_are_stored_once_and_groups_sorted() -> None:
    pairs: dict[str, object] = {}
    one = ab.describe_linkage(4, [0, 2], [1, 3], [0.1, 0.2], 0.5, [[3, 2], [1, 0]], pairs)
    two = ab.describe_linkage(4, [0, 2], [1, 3], [0.1, 0.2], 0.15, [[1, 0]], pairs)
    assert one["pairs"] == two["pairs"] and len(pairs) == 1
    assert one["groups"] == [[0, 1], [2, 3]]


def test_distances_compare_within_tolerance_everything_else_exactly() -> None:
    a = {"pairs": {"k": {"count": 2, "distances": [0.1, 0.2]}}, "recall": 0.9}
    assert not ab.differences(a, {"pairs": {"k": {"count": 2, "distances": [0.1, 0.2 + 1e-7]}},
                                  "recall": 0.9})  # fmt: skip
    assert ab.differences(a, {"pairs": {"k": {"count": 2, "distances": [0.1, 0.3]}},
                              "recall": 0.9})  # fmt: skip
    assert ab.differences(a, {**a, "recall": 0.9001})
    assert ab.differences({"x": 1}, {"x": 1.0})  # a changed type is a change
    assert ab.differences({"x": [1, 2]}, {"x": [1]}) == [".x: 2 items vs 1"]


def test_timings_are_dropped_results_kept() -> None:
    out = {
        "n": 100, "hash_group_s": 1.2, "exact_match": True, "setup_s (not timed below)": 3.0,
        "hash": {"pairs": 10, "search_s": 0.1, "planted_recovered": 1.0},
        "machine": {"cpu": "x"}, "warm_page_vs_target": 0.2, "share_of_pairs_read": 0.5,
        "recall": 0.99, "cached_rescan_all_s": [1.0, 2.0], "photos_mb": 3.0,
    }  # fmt: skip
    assert ab.strip_volatile(out) == {
        "n": 100, "exact_match": True, "hash": {"pairs": 10, "planted_recovered": 1.0},
        "recall": 0.99,
    }  # fmt: skip


def test_outputs_are_parsed_per_benchmark() -> None:
    text = "Holidays split=dev: 3 photos\nmodel: x; features in 12.5 s\n" + json.dumps({"a": 1})
    parsed = ab.parse_output("holidays", text)
    assert parsed["text"][1] == "model: x; features in - s" and parsed["json"] == [{"a": 1}]
    assert ab.timings("holidays", text, 20.0) == {"wall": 20.0, "features_s": 12.5}
    rows = "case: 5\n  built\n  " + json.dumps({"n": 5, "latency_s": 2.5, "sort_s": 1.0}) + "\nx"
    assert ab.parse_output("incremental", rows) == [{"n": 5, "latency_s": 2.5, "sort_s": 1.0}]
    assert ab.timings("incremental", rows, 9.0) == {"wall": 9.0, "latency_s": 2.5, "sort_s": 1.0}
    speed = "warning\n" + json.dumps({"remedia_cli_s": [3.0, 2.0], "rescan_images": 4}, indent=1)
    assert ab.timings("hash_speed", speed, 1.0)["remedia_cli_s.min"] == 2.0
    acc = json.dumps({"duplicates": {"strict": {"seconds": 1.5}, "loose": {"seconds": 2.5}}})
    assert ab.timings("hash_accuracy", acc, 1.0)["duplicates.*.seconds"] == 4.0


def _run(rc: int, stdout: str, sorts: list[object]) -> ab.Run:
    return ab.Run(rc, 1.0, stdout, "", {"sorts": sorts, "linkage": [], "pairs": {}})


def test_judge_identical_different_unstable_failed() -> None:
    same = [_run(0, json.dumps({"groups": 2, "x_s": 1.0}), [{"groups": []}])] * 2
    assert ab.judge("review_page", same, same).status == "identical"
    other = [_run(0, json.dumps({"groups": 3, "x_s": 1.0}), [{"groups": []}])] * 2
    assert ab.judge("review_page", same, other).status == "DIFFERENT"
    wobbly = [same[0], other[0]]
    assert ab.judge("review_page", wobbly, wobbly).status == "UNSTABLE"
    assert ab.judge("review_page", same, [_run(1, "", [])]).status == "FAILED"
