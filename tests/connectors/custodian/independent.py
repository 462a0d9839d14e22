"""Build ISO 20022 files with libraries generated from ISO's own schemas, not with our writer.

`pyiso20022` (camt.053.001.01 to .12) and `python-iso20022` (semt.002.001.02, .001.11, .002.11)
are xsdata dataclasses generated from the ISO 20022 XSDs; xsdata serializes them. A test names the
elements it fills (by their XML names, e.g. {"BkToCstmrStmt": {...}}); the generated classes decide
the types, the order and the namespace, and a name the class does not have is an error, so no
element of ours slips in. The files are made at test time: nothing of those packages is copied.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import types
import typing
from decimal import Decimal
from functools import cache
from typing import Any

from xsdata.formats.dataclass.serializers import XmlSerializer
from xsdata.formats.dataclass.serializers.config import SerializerConfig
from xsdata.models.datatype import XmlDate, XmlDateTime

Spec = dict[str, Any]


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _unwrap(tp: Any) -> tuple[Any, bool]:
    """(the element type, repeated?) of `X | None`, `Optional[X]`, `list[X]`."""
    many = False
    while True:
        origin = typing.get_origin(tp)
        if origin in (typing.Union, types.UnionType):
            tp = next(a for a in typing.get_args(tp) if a is not type(None))
        elif origin is list:
            many, tp = True, typing.get_args(tp)[0]
        else:
            return tp, many


def _leaf(tp: Any, value: Any) -> Any:
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(value)
    if tp is Decimal:
        return Decimal(str(value))
    if tp is XmlDate:
        return XmlDate.from_string(value)
    if tp is XmlDateTime:
        return XmlDateTime.from_string(value)
    if tp is bool:
        return bool(value)
    return tp(value)


def build(cls: type, spec: Spec) -> Any:
    """An instance of generated class `cls` from a dict keyed by XML names ('value' for text)."""
    by_xml = {f.metadata.get("name", f.name): f for f in dataclasses.fields(cls)}
    unknown = set(spec) - set(by_xml)
    assert not unknown, f"{cls.__name__} has no element {sorted(unknown)}; it has {sorted(by_xml)}"
    kwargs = {}
    for name, value in spec.items():
        f = by_xml[name]
        tp, many = _unwrap(_hints(cls)[f.name])
        items = value if many else [value]
        made = [build(tp, v) if dataclasses.is_dataclass(tp) else _leaf(tp, v) for v in items]
        kwargs[f.name] = made if many else made[0]
    return cls(**kwargs)


def document(module: str, root: str, spec: Spec) -> bytes:
    """Serialize `{"<report>": {...}}` with the generated root class `root` of `module`."""
    doc_cls = getattr(importlib.import_module(module), root)
    if root != "Document":
        # python-iso20022 names the root element after its class (Semt00200111); this subclass
        # only gives it ISO's name, Document. Its fields, types and order are unchanged.
        meta = type("Meta", (), {"name": "Document", "namespace": doc_cls.Meta.namespace})
        doc_cls = type("Document", (doc_cls,), {"Meta": meta})
    serializer = XmlSerializer(config=SerializerConfig(xml_declaration=True, encoding="UTF-8"))
    return serializer.render(build(doc_cls, spec)).encode("utf-8")


def camt053(version: int, account: str, closing: str, ccy: str, on: str, *, debit: bool = False) -> bytes:
    """A camt.053.001.<version> statement with an opening and a closing booked balance (pyiso20022)."""
    n = f"{version:02d}"
    tp = {"CdOrPrtry": {"Cd": "CLBD"}}
    bal = {"Amt": {"value": closing, "Ccy": ccy}, "CdtDbtInd": "DBIT" if debit else "CRDT", "Dt": {"Dt": on}}
    opening = {
        **bal,
        "Tp": {"CdOrPrtry": {"Cd": "OPBD"}},
        "Amt": {"value": "1.00", "Ccy": ccy},
        "CdtDbtInd": "CRDT",
    }
    stmt: Spec = {
        "Id": f"STMT-{n}",
        "CreDtTm": f"{on}T18:00:00",
        "Acct": {"Id": {"Othr": {"Id": account}}, "Ccy": ccy},
        "Bal": [opening, {"Tp": tp, **bal}],
    }
    report = {"GrpHdr": {"MsgId": f"MSG-{n}", "CreDtTm": f"{on}T18:00:00"}, "Stmt": [stmt]}
    return document(
        f"pyiso20022.camt.camt_053_001_{n}.camt_053_001_{n}", "Document", {"BkToCstmrStmt": report}
    )
