"""The tray's batch queue, with the clock in the test's hand (like the watcher's Settler)."""

from __future__ import annotations

from pathlib import Path

from remedia_tray.desktop.batch_queue import BUSY_RETRY, BatchQueue, Job

A = Path("/photos/a")
B = Path("/photos/b")


def nothing_arriving(folder: Path) -> bool:
    return False


def test_a_folder_batch_waits_until_nothing_of_it_is_arriving() -> None:
    q = BatchQueue()
    q.add(A, [A / "1.jpg"])
    q.add(A, [A / "2.jpg"])
    assert q.next_job(0.0, paused=False, arriving=lambda f: f == A) is None
    assert q.waiting() == 2 and q.is_ready(A, A / "1.jpg")
    job = q.next_job(0.0, paused=False, arriving=nothing_arriving)
    assert job == Job(A, frozenset({A / "1.jpg", A / "2.jpg"}), forced=False, full=False)
    assert job.arrived_only
    assert q.waiting() == 0 and not q.has_ready()
    assert q.next_job(0.0, paused=False, arriving=nothing_arriving) is None


def test_one_folder_still_arriving_does_not_hold_back_another() -> None:
    q = BatchQueue()
    q.add(A, [A / "1.jpg"])
    q.add(B, [B / "1.jpg"])
    job = q.next_job(0.0, paused=False, arriving=lambda f: f == A)
    assert job is not None and job.folder == B
    assert q.ready_paths() == {A: frozenset({A / "1.jpg"})}


def test_pause_holds_ready_files_but_sort_now_still_runs() -> None:
    q = BatchQueue()
    q.add(A, [A / "1.jpg"])
    assert q.next_job(0.0, paused=True, arriving=nothing_arriving) is None
    assert q.waiting() == 1  # held, not lost
    q.force([A])
    job = q.next_job(0.0, paused=True, arriving=nothing_arriving)
    # A forced sort walks the whole folder and takes the waiting files with it.
    assert job == Job(A, frozenset({A / "1.jpg"}), forced=True, full=False)
    assert not job.arrived_only and q.waiting() == 0


def test_forced_folders_go_first_in_order_each_once() -> None:
    q = BatchQueue()
    q.add(A, [A / "1.jpg"])
    q.force([B, A])
    q.force([B])
    order = []
    while (job := q.next_job(0.0, paused=False, arriving=nothing_arriving)) is not None:
        order.append((job.folder, job.forced))
    assert order == [(B, True), (A, True)]


def test_a_full_sort_is_taken_by_one_job_only() -> None:
    q = BatchQueue()
    q.force([A], full=True)
    first = q.next_job(0.0, paused=False, arriving=nothing_arriving)
    assert first is not None and first.full and first.forced and not first.arrived_only
    q.force([A])
    second = q.next_job(0.0, paused=False, arriving=nothing_arriving)
    assert second is not None and not second.full


def test_a_busy_folder_is_retried_later_and_loses_nothing() -> None:
    q = BatchQueue()
    q.add(A, [A / "1.jpg"])
    job = q.next_job(10.0, paused=False, arriving=nothing_arriving)
    assert job is not None
    q.add(A, [A / "2.jpg"])  # arrived while the sort waited for the folder
    q.retry(job, now=10.0)
    assert q.waiting() == 2
    assert q.next_job(10.0 + BUSY_RETRY - 0.1, paused=False, arriving=nothing_arriving) is None
    again = q.next_job(10.0 + BUSY_RETRY, paused=False, arriving=nothing_arriving)
    assert again == Job(A, frozenset({A / "1.jpg", A / "2.jpg"}), forced=False, full=False)


def test_a_busy_forced_full_sort_stays_forced_and_full() -> None:
    q = BatchQueue()
    q.force([A], full=True)
    job = q.next_job(0.0, paused=False, arriving=nothing_arriving)
    assert job is not None
    q.retry(job, now=0.0)
    # Forced sorts do not wait for the retry time: the sort itself waits for the lock.
    again = q.next_job(0.0, paused=True, arriving=nothing_arriving)
    assert again == Job(A, frozenset(), forced=True, full=True)


def test_a_folder_no_longer_watched_forgets_its_waiting_files() -> None:
    q = BatchQueue()
    q.add(A, [A / "1.jpg"])
    q.add(B, [B / "1.jpg"])
    q.forget(A)
    assert q.waiting() == 1 and not q.is_ready(A, A / "1.jpg")
    job = q.next_job(0.0, paused=False, arriving=nothing_arriving)
    assert job is not None and job.folder == B


def test_a_held_folder_waits_until_it_may_be_sorted_and_loses_nothing() -> None:
    q = BatchQueue()
    q.add(A, [A / "1.jpg"])
    q.add(B, [B / "1.jpg"])
    q.force([A], full=True)
    bad = {A}
    job = q.next_job(0.0, paused=False, arriving=nothing_arriving, held=bad.__contains__)
    assert job == Job(A, frozenset({A / "1.jpg"}), forced=True, full=True)
    q.hold(job)  # its settings are invalid: the files wait
    q.add(A, [A / "2.jpg"])
    assert q.next_job(0.0, paused=False, arriving=nothing_arriving, held=bad.__contains__) == Job(
        B, frozenset({B / "1.jpg"}), forced=False, full=False
    )
    assert q.next_job(0.0, paused=False, arriving=nothing_arriving, held=bad.__contains__) is None
    assert q.waiting() == 2
    q.force([A])  # "Sort now" still takes it, to say why again
    job = q.next_job(0.0, paused=False, arriving=nothing_arriving, held=bad.__contains__)
    assert job is not None and job.folder == A and job.full
    q.hold(job)
    bad.clear()  # fixed: the batch runs, still full, with every file that waited
    assert q.next_job(0.0, paused=False, arriving=nothing_arriving, held=bad.__contains__) == Job(
        A, frozenset({A / "1.jpg", A / "2.jpg"}), forced=False, full=True
    )
