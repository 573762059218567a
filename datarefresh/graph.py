"""Table dependency order from foreign keys (no heavy imports: the DAG file uses it at parse time)."""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter

from datarefresh.config import TableConfig


def processing_order(tables: dict[str, TableConfig]) -> list[str]:
    """Parents before children; a cycle is broken at its alphabetically first table."""
    graph = {name: {fk.parent_table for fk in t.foreign_keys if fk.parent_table != name and fk.parent_table in tables}
             for name, t in tables.items()}
    while True:
        try:
            return list(TopologicalSorter({k: sorted(v) for k, v in sorted(graph.items())}).static_order())
        except CycleError as exc:
            cycle = exc.args[1]
            # drop one edge of the cycle: its first table no longer waits for its parent in the cycle
            graph[min(cycle[:-1])] -= set(cycle)


def levels(tables: dict[str, TableConfig]) -> dict[str, int]:
    """0 for tables without parents in the set, else one more than the deepest parent."""
    level: dict[str, int] = {}
    for t in processing_order(tables):
        parents = [fk.parent_table for fk in tables[t].foreign_keys if fk.parent_table in level and fk.parent_table != t]
        level[t] = 1 + max((level[p] for p in parents), default=-1)
    return level
