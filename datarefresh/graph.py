"""Table dependency order from foreign keys (no heavy imports: the DAG file uses it at parse time)."""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter

from datarefresh.config import TableConfig


def dependencies(tables: dict[str, TableConfig]) -> dict[str, set[str]]:
    """table -> the tables whose dev sample it needs first: its parents, except along
    `sampling: pull` keys, where the parent needs the child's sample instead."""
    graph: dict[str, set[str]] = {name: set() for name in tables}
    for name, t in tables.items():
        for fk in t.foreign_keys:
            parent = fk.parent_table
            if parent == name or parent not in tables:
                continue
            if fk.sampling == "pull":
                graph[parent].add(name)
            else:
                graph[name].add(parent)
    return graph


def processing_order(tables: dict[str, TableConfig]) -> list[str]:
    """Dependencies first; a cycle is broken at its alphabetically first table."""
    graph = dependencies(tables)
    while True:
        try:
            return list(TopologicalSorter({k: sorted(v) for k, v in sorted(graph.items())}).static_order())
        except CycleError as exc:
            cycle = exc.args[1]
            # drop one edge of the cycle: its first table no longer waits for its parent in the cycle
            graph[min(cycle[:-1])] -= set(cycle)


def levels(tables: dict[str, TableConfig]) -> dict[str, int]:
    """0 for tables without dependencies in the set, else one more than the deepest one."""
    graph = dependencies(tables)
    level: dict[str, int] = {}
    for t in processing_order(tables):
        level[t] = 1 + max((level[d] for d in graph[t] if d in level), default=-1)
    return level
