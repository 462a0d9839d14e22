"""Pro rata allocation in round lots: exact sums, fair remainders (property-tested)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.oms.allocation import Want, pick_lots, pro_rata


def test_worked_example() -> None:
    wants = [Want("a", Decimal(300)), Want("b", Decimal(500)), Want("c", Decimal(700))]
    out = pro_rata(Decimal(1200), wants, Decimal(100), "BK-1")
    # exact shares 240 / 400 / 560 -> 200 / 400 / 500 in whole lots, remainder 100 to the largest
    # fractional part (c: 60 over, a: 40 over) -> c
    assert out == {"a": Decimal(200), "b": Decimal(400), "c": Decimal(600)}


def test_full_fill_gives_everyone_what_they_asked() -> None:
    wants = [Want("a", Decimal(3)), Want("b", Decimal(7))]
    assert pro_rata(Decimal(10), wants, Decimal(1), "x") == {"a": 3, "b": 7}


def test_tie_break_differs_between_blocks() -> None:
    wants = [Want(k, Decimal(100)) for k in "abcd"]
    winners = {
        next(k for k, v in pro_rata(Decimal(100), wants, Decimal(100), f"BK-{n}").items() if v)
        for n in range(40)
    }
    assert len(winners) > 1  # no account always wins the odd lot


@settings(max_examples=150, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 50), min_size=1, max_size=12),
    lot=st.sampled_from([1, 10, 100]),
    frac=st.fractions(0, 1),
    odd=st.integers(0, 99),
)
def test_properties(sizes: list[int], lot: int, frac, odd: int) -> None:  # type: ignore[no-untyped-def]
    wants = [Want(f"c{i}", Decimal(n * lot)) for i, n in enumerate(sizes)]
    total = sum(w.quantity for w in wants)
    filled = min(total, Decimal(int(int(total) * frac) // lot * lot) + Decimal(odd % lot))
    out = pro_rata(filled, wants, Decimal(lot), "BK")
    assert sum(out.values()) == filled
    odd_pieces = 0
    for w in wants:
        q = out[w.key]
        assert 0 <= q <= w.quantity
        share = filled * w.quantity / total
        assert abs(q - share) < 2 * lot
        if q % lot:
            odd_pieces += 1
    assert odd_pieces <= 1


def test_pick_lots_trims_to_allocation() -> None:
    lots = [{"lot_ref": "L1", "quantity": "60"}, {"lot_ref": "L2", "quantity": "80"}]
    assert pick_lots(lots, Decimal(100)) == [("L1", Decimal(60)), ("L2", Decimal(40))]
    assert pick_lots(None, Decimal(5)) == []
