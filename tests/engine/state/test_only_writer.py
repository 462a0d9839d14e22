"""The state machines are the only writers of a status: no engine module outside engine/state
assigns `.status`/`.state`, passes `status=`/`state=` to a desk model or an UPDATE, or setattr()s
them. Orders (engine/oms) are the OMS's own machine and are scanned by its tests."""

from __future__ import annotations

import ast
from pathlib import Path

import engine

ROOT = Path(engine.__file__).parent
NAMES = {"status", "state"}
MODELS = {"Proposal", "ApprovalCase", "Break", "Adjustment", "CorporateAction"}
SKIP = ("state",)  # the machines themselves


def _targets(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        out: list[ast.expr] = []
        for t in node.targets:
            out.extend(t.elts if isinstance(t, ast.Tuple) else [t])
        return out
    if isinstance(node, ast.AugAssign | ast.AnnAssign):
        return [node.target]
    return []


def _name(func: ast.expr) -> str:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def status_writes(source: str, path: str) -> list[str]:
    """Every direct status write in `source`, as `path:line what`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        for t in _targets(node):
            if isinstance(t, ast.Attribute) and t.attr in NAMES:
                found.append(f"{path}:{node.lineno} assigns .{t.attr}")
        if isinstance(node, ast.Call):
            name = _name(node.func)
            kws = {k.arg for k in node.keywords} & NAMES
            if kws and (name in MODELS or name == "values"):
                found.append(f"{path}:{node.lineno} {name}({', '.join(sorted(kws))}=...)")
            if name == "setattr" and len(node.args) > 1:
                arg = node.args[1]
                if isinstance(arg, ast.Constant) and arg.value in NAMES:
                    found.append(f"{path}:{node.lineno} setattr(..., {arg.value!r})")
    return found


def test_the_scan_sees_each_kind_of_write() -> None:
    src = "b.status = 'x'\nb.status, b.owner = 1, 2\nc.state += 'y'\nBreak(status='open')\n" \
          "update(Proposal).values(status='ok')\nsetattr(p, 'state', 'x')\nq = b.status == 'x'\n"  # fmt: skip
    assert [w.split(" ", 1)[0] for w in status_writes(src, "m")] == ["m:1", "m:2", "m:3", "m:4", "m:5", "m:6"]


def test_no_engine_module_writes_a_status_directly() -> None:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in SKIP:
            continue
        found += status_writes(path.read_text(encoding="utf-8"), f"engine/{rel}")
    assert found == [], "status written outside engine/state: " + "; ".join(found)
