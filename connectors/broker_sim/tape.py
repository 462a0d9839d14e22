"""The SIMULATED market's tape: a deterministic series of prints (time, price, size) per symbol.

One print every `step` seconds (of the simulator's clock): the reference price (the book's last
close under --prices-from-db, else 100) moved by up to `band` (0.2 %), and a size of 100 to 5,000,
both drawn from a hash of (seed, symbol, step number). The SIMULATED broker fills at the tape's
price of the moment (within a limit), and the OMS's MarketDataPort is this same tape (the same
seed and references), so the arrival price and the interval VWAP of transaction cost analysis come
from the simulated market, not from our own fills. Not a real market.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal

from engine.ports import MarketPrint

CENT = Decimal("0.01")
PIP = Decimal("0.00001")
PIP_JPY = Decimal("0.001")
DEFAULT_REF = Decimal(100)
SOURCE = "simulated"


def tick_size(symbol: str) -> Decimal:
    """A cent for securities; 5 decimals for an FX pair (3 against the yen)."""
    fx = len(symbol) == 6 and symbol.isalpha() and symbol.isupper()
    return (PIP_JPY if symbol.endswith("JPY") else PIP) if fx else CENT


class SimulatedTape:
    """The simulated market's prints; also the OMS's MarketDataPort (source "simulated")."""

    source = SOURCE

    def __init__(
        self,
        prices: Mapping[str, Decimal] | Callable[[], Mapping[str, Decimal]] | None = None,
        seed: int = 7,
        step: float = 0.25,
        band: Decimal = Decimal("0.002"),
    ) -> None:
        """`prices`: the references, or a function that loads them on first use (off the GUI thread)."""
        self._load = prices if callable(prices) else None
        self._prices: Mapping[str, Decimal] | None = None if callable(prices) else dict(prices or {})
        self._lock = threading.Lock()
        self.seed = seed
        self.step = step
        self.band = band

    @property
    def prices(self) -> Mapping[str, Decimal]:
        if self._prices is None:
            with self._lock:
                if self._prices is None and self._load is not None:
                    self._prices = dict(self._load())
        return self._prices or {}

    def reference(self, symbol: str) -> Decimal:
        return self.prices.get(symbol) or DEFAULT_REF

    def _bucket(self, at: datetime) -> int:
        return math.floor(at.timestamp() / self.step)

    def _print(self, symbol: str, k: int, ref: Decimal | None = None) -> MarketPrint:
        digest = hashlib.blake2b(f"{self.seed}|{symbol}|{k}".encode(), digest_size=8).digest()
        n = int.from_bytes(digest, "big")
        move = Decimal(n % 2_000_001 - 1_000_000) / Decimal(1_000_000)  # -1 .. 1 in 1e-6 steps
        price = ((ref or self.reference(symbol)) * (1 + self.band * move)).quantize(tick_size(symbol))
        size = Decimal(100 * (1 + (n >> 32) % 50))
        return MarketPrint(at=datetime.fromtimestamp(k * self.step, UTC), price=price, quantity=size)

    def price(self, symbol: str, at: datetime, ref: Decimal | None = None) -> Decimal:
        """The tape's price at `at` (around `ref` if given: the simulator's reference of an order)."""
        return self._print(symbol, self._bucket(at), ref).price

    def last(self, symbol: str, at: datetime) -> MarketPrint | None:
        """The print at or before `at`."""
        return self._print(symbol, self._bucket(at))

    def prints(self, symbol: str, start: datetime, end: datetime) -> list[MarketPrint]:
        """Every print from the one current at `start` to the one current at `end`."""
        return [self._print(symbol, k) for k in range(self._bucket(start), self._bucket(end) + 1)]
