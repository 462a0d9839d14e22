"""The sub-model graph: which models each model contains, the search for a cycle, and a write order.

One implementation for the model service (one model's new weights) and the models import (many
models at once): a model may not contain itself, directly or through sub-models.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store.accounts import Model, ModelComponent

Graph = dict[str, list[str]]
"""Model code -> the codes of its sub-models."""


def stored_graph(session: Session) -> Graph:
    """The sub-model links stored now, by model code."""
    code_of = dict(session.execute(select(Model.id, Model.code)).all())
    pairs = session.execute(
        select(ModelComponent.model_id, ModelComponent.sub_model_id).where(
            ModelComponent.sub_model_id.is_not(None)
        )
    ).all()
    graph: Graph = defaultdict(list)
    for parent, child in pairs:
        if child is not None:  # the query selects sub-model rows only
            graph[code_of[parent]].append(code_of[child])
    return graph


def find_path(graph: Graph, start: str, goal: str) -> list[str] | None:
    """A path of model codes from start to goal along sub-model links (both ends included), or None."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    visited: set[str] = set()
    while stack:
        node, path = stack.pop()
        if node == goal:
            return path
        if node in visited:
            continue
        visited.add(node)
        stack.extend((nxt, [*path, nxt]) for nxt in graph.get(node, ()))
    return None


def cycle_through(graph: Graph, code: str, subs: list[str]) -> list[str] | None:
    """`code -> ... -> code` if giving `code` the sub-models `subs` (in `graph`) lets it reach itself."""
    for sub in subs:
        path = find_path(graph, sub, code)
        if path is not None:
            return [code, *path]
    return None


def write_order(graph: Graph, codes: list[str]) -> list[str]:
    """`codes` ordered so that each model comes after those of `codes` it contains (an acyclic graph)."""
    wanted, done, out = set(codes), set[str](), list[str]()

    def visit(code: str, trail: frozenset[str]) -> None:
        if code in done or code in trail:
            return
        for sub in graph.get(code, ()):
            visit(sub, trail | {code})
        done.add(code)
        if code in wanted:
            out.append(code)

    for code in codes:
        visit(code, frozenset())
    return out
