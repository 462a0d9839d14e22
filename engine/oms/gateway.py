"""The port through which the OMS hands messages to broker sessions (connectors.fix implements it)."""

from __future__ import annotations

from typing import Protocol

from engine.oms.messages import Outbound


class OrderGateway(Protocol):
    """Sends one message on the session of `message.broker`; raises RouteError if it cannot."""

    def send(self, message: Outbound) -> None: ...

    def is_logged_on(self, broker: str) -> bool: ...
