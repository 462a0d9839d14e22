"""`workstation desktop` opens the main window; `workstation screenshot` renders workspaces to PNG."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from workstation.cli.args import output_dir

THEMES = ("light", "dark")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add this group's subcommands to the CLI."""
    d = sub.add_parser("desktop", help="open the desktop workstation (the default with no command)")
    d.add_argument("--theme", choices=THEMES, help="light or dark (default: the user's last choice)")
    d.add_argument("--user", help="preselect this user in the login dialog")
    d.set_defaults(func=cmd_desktop)

    s = sub.add_parser(
        "screenshot",
        help="render a workspace to PNG offscreen (no display needed)",
        description="Render the pm, compliance, trader or operations workspace against the book to DIR/<workspace>-<theme>.png.",
    )
    s.add_argument("--workspace", choices=("pm", "compliance", "trader", "operations", "all"), default="all")
    s.add_argument("--out", required=True, type=output_dir, metavar="DIR", help="folder for the PNG files")
    s.add_argument("--theme", choices=(*THEMES, "both"), default="both")
    s.add_argument(
        "--size",
        default="1600x960",
        help="window size WxH, e.g. 1280x720 or 2560x1440 (default 1600x960); the PNG has this size",
    )
    s.add_argument(
        "--scale",
        type=float,
        default=None,
        metavar="N",
        help="device pixel ratio, e.g. 2 renders a 1280x720 window as a 2560x1440 PNG (high-DPI check)",
    )
    s.set_defaults(func=cmd_screenshot)


def cmd_desktop(args: argparse.Namespace) -> int:
    from workstation.app import run_desktop

    # Also called by main.py when `workstation` is run with no command (args lacks theme/user).
    return run_desktop(
        getattr(args, "db", None), theme=getattr(args, "theme", None), user=getattr(args, "user", None)
    )


def cmd_screenshot(args: argparse.Namespace) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    scale = getattr(args, "scale", None)
    if scale is not None:
        if not 1 <= scale <= 4:
            from engine.errors import ConfigurationError

            raise ConfigurationError(f"--scale {scale:g}: a device pixel ratio from 1 to 4")
        os.environ["QT_SCALE_FACTOR"] = f"{scale:g}"  # read when QApplication starts, below
    from PySide6.QtWidgets import QApplication

    from engine.errors import ConfigurationError
    from ui.screenshot import render
    from ui.startup import account_count
    from ui.theme import apply_theme
    from workstation.compose import open_store

    try:
        w, h = (int(x) for x in args.size.lower().split("x"))
    except ValueError:
        raise ConfigurationError(f"--size {args.size!r}: expected WIDTHxHEIGHT, e.g. 1280x720") from None
    if not (640 <= w <= 7680 and 480 <= h <= 4320):
        raise ConfigurationError(f"--size {args.size}: width 640-7680 and height 480-4320 pixels")
    database = open_store(args.db)
    if account_count(database) == 0:
        raise ConfigurationError("the book is empty: build it first with `workstation demo` (or import one)")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    workspaces = (
        ("pm", "compliance", "trader", "operations") if args.workspace == "all" else (args.workspace,)
    )
    themes = THEMES if args.theme == "both" else (args.theme,)
    for ws in workspaces:
        sim = start_simulated_orders(database) if ws == "trader" else None
        try:
            for theme in themes:
                apply_theme(app, theme)
                prepare = sim.attach if sim is not None else None
                try:
                    out = render(
                        database, ws, theme, args.out / f"{ws}-{theme}.png", size=(w, h), prepare=prepare
                    )
                except ValueError as exc:  # the window cannot be that small
                    raise ConfigurationError(f"--size {args.size}: {exc}") from None
                print(out)
        finally:
            if sim is not None:
                sim.stop()
    return 0


def start_simulated_orders(database: Any) -> Any:
    """A demo book without orders gets real ones for the trader screenshot: the SIMULATED broker on
    127.0.0.1 and the real OMS (workstation.trader_demo). Any other book is shown as it is."""
    from workstation.trader_demo import SimulatedTrading, wants_simulated_orders

    if not wants_simulated_orders(database):
        return None
    sim = SimulatedTrading.start(database)
    print(f"trader screenshot: {sim.label}; {len(sim.order_ids)} demo orders routed", file=sys.stderr)
    # The picture shows orders working: wait for two rounds of partial fills (the SIMULATED broker
    # fills in parts every few seconds), or 30 s at most.
    sim.wait(lambda: _fills_per_sent_order(database) >= 2.0, seconds=30.0)
    return sim


def _fills_per_sent_order(database: Any) -> float:
    """Fill executions received per order at the broker (0 when none was sent)."""
    from sqlalchemy import func, select

    from engine.oms.tables import Execution, Order

    with database.session() as s:
        sent = s.scalar(select(func.count()).select_from(Order).where(Order.sent_at.is_not(None))) or 0
        fills = s.scalar(select(func.count()).select_from(Execution).where(Execution.exec_type == "F")) or 0
    return fills / sent if sent else 0.0
