"""The state tables of the day cycle (engine.daycycle): a date's close, its steps, inbox files.

Day run (`day_runs.status`):
    (started by a close)  running
    running --close-->  closed          every step done
    running --fail-->   failed          a step raised; the run resumes at that step
    failed  --resume--> running         `day close` again for the date
    closed  --rerun-->  running         `day close --rerun`: every step runs again

Day step (`day_steps.status`):
    (started by the cycle)  running
    running --finish--> done            with its counts and exceptions
    running --fail-->   failed          with the error as its exception
    failed  --retry-->  running         the run resumed at this step
    running --retry-->  running         the process died mid-step; the next close retries it
    done    --rerun-->  running         `--rerun`

Inbox file (`inbox_files.status`):
    (met for the first time)  loaded | refused
    refused --retry--> loaded | refused  a later close tried the same bytes again (computed)
    (a loaded file is never read again: its bytes are in the book)

Audit actions: day.run.<event>, day.step.<event>, day.inbox.<event> (entity day_run, day_step,
inbox_file), with the date, the step and its counts in `after`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.state.machine import AuditJournal, Computed, StateMachine

RUNNING, CLOSED, FAILED, DONE = "running", "closed", "failed", "done"
LOADED, REFUSED = "loaded", "refused"


def _outcome(obj: Any, facts: Mapping[str, Any]) -> str:
    return LOADED if facts.get("loaded") else REFUSED


DAY_RUNS = StateMachine(
    "day.run",
    {
        (RUNNING, "close"): CLOSED,
        (RUNNING, "fail"): FAILED,
        (FAILED, "resume"): RUNNING,
        (CLOSED, "rerun"): RUNNING,
    },
    journal=AuditJournal(
        entity=lambda r, change: ("day_run", change.entity_id), extra=lambda r: {"day": r.day}
    ),
    initial=frozenset({RUNNING}),
)

DAY_STEPS = StateMachine(
    "day.step",
    {
        (RUNNING, "finish"): DONE,
        (RUNNING, "fail"): FAILED,
        (FAILED, "retry"): RUNNING,
        # A close that died mid-step (the process ended) left it running: the next close retries it.
        (RUNNING, "retry"): RUNNING,
        (DONE, "rerun"): RUNNING,
    },
    journal=AuditJournal(
        entity=lambda s, change: ("day_step", change.entity_id),
        extra=lambda s: {"day": s.day, "step": s.step},
    ),
    initial=frozenset({RUNNING}),
)

INBOX_FILES = StateMachine(
    "day.inbox",
    {
        (REFUSED, "retry"): Computed("loaded, or refused again", _outcome),
    },
    journal=AuditJournal(
        entity=lambda f, change: ("inbox_file", change.entity_id),
        extra=lambda f: {"file": f.name, "sha256": f.sha256, "kind": f.kind},
    ),
    initial=frozenset({LOADED, REFUSED}),
)
