"""The desk turns numpy's huge-page requests off (ui.pages): the fresh book's arrays spent about
a second of system CPU in huge-page faults."""

from __future__ import annotations

import numpy as np

from engine.views.users import desk_users
from ui.desk import Desk
from ui.pages import use_small_pages
from ui.workers import Jobs


def test_a_desk_turns_numpys_huge_pages_off(qapp, demo_db) -> None:  # type: ignore[no-untyped-def]
    switch = np._core.multiarray._set_madvise_hugepage
    before = switch(True)  # returns the previous state
    try:
        desk = Desk(demo_db, desk_users(demo_db)[0], jobs=Jobs())
        assert switch(False) is False  # the desk had switched them off
        desk.close()
        switch(True)
        assert use_small_pages() is True
        assert switch(False) is False
    finally:
        switch(before)
