"""The run report as one self-contained HTML page (inline SVG charts, no scripts, no CDN).

The markup is the jinja2 template `templates/report.html.j2` (package data; autoescaped, so a
table, column or reason is always text, never markup). This module words the results
(`leak_summary`, `k_summary`, ...) and lays out the charts; it writes no HTML itself.
"""

from __future__ import annotations

import functools

import jinja2

from datarefresh.validate.table_report import TableSummary

# The colours of a chart's series, in order (repeated when there are more series).
_BAR_COLORS = ["#3b6fd8", "#f59f00", "#12b886", "#e8590c", "#7048e8"]
_STEP_COLORS = _BAR_COLORS + ["#c2255c", "#868e96"]


@functools.cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("datarefresh.report", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("report.html.j2")


def _legend(series: list[str], colors: list[str]) -> list[tuple[str, str]]:
    return [(colors[i % len(colors)], s) for i, s in enumerate(series)]


def _bars(title: str, rows: list[tuple[str, list[float]]], series: list[str], unit: str = "") -> dict:
    """A horizontal grouped bar chart: one group per row, one bar per series."""
    peak = max((v for _, vals in rows for v in vals), default=1) or 1
    bar_h, gap, label_w, width = 14, 10, 150, 700
    groups, y = [], 20
    for label, vals in rows:
        group = {"label": label, "y": y + bar_h, "bars": []}
        for i, v in enumerate(vals):
            w = max(1.0, width * v / peak)
            text = f"{v:,.3g}{unit}" if isinstance(v, float) and v < 100 else f"{v:,.0f}{unit}"
            group["bars"].append(
                {
                    "x": label_w,
                    "y": y,
                    "width": f"{w:.1f}",
                    "height": bar_h - 2,
                    "fill": _BAR_COLORS[i % len(_BAR_COLORS)],
                    "text_x": f"{label_w + w + 4:.1f}",
                    "text_y": y + bar_h - 3,
                    "text": text,
                }
            )
            y += bar_h
        y += gap
        groups.append(group)
    return {
        "title": title,
        "width": width + label_w + 120,
        "height": len(rows) * (len(series) * bar_h + gap) + 30,
        "groups": groups,
        "legend_x": label_w,
        "legend": _legend(series, _BAR_COLORS),
    }


def _stacked(title: str, rows: list[tuple[str, list[float]]], series: list[str], unit: str = "") -> dict:
    """One horizontal bar per row, split into its series (the steps of a table's time)."""
    peak = max((sum(vals) for _, vals in rows), default=1) or 1
    bar_h, gap, label_w, width = 16, 8, 150, 700
    bars, y = [], 20
    for label, vals in rows:
        x = float(label_w)
        segments = []
        for i, v in enumerate(vals):
            w = width * v / peak
            if w > 0:
                fill = _STEP_COLORS[i % len(_STEP_COLORS)]
                segments.append(
                    {
                        "x": f"{x:.1f}",
                        "width": f"{w:.1f}",
                        "fill": fill,
                        "title": f"{series[i]}: {v:,.2f}{unit}",
                    }
                )
            x += w
        bars.append(
            {
                "label": label,
                "y": y,
                "height": bar_h - 2,
                "text_y": y + bar_h - 3,
                "segments": segments,
                "total_x": f"{x + 4:.1f}",
                "total": f"{sum(vals):,.2f}{unit}",
            }
        )
        y += bar_h + gap
    return {
        "title": title,
        "width": width + label_w + 120,
        "height": len(rows) * (bar_h + gap) + 30,
        "bars": bars,
        "legend_x": label_w,
        "legend": _legend(series, _STEP_COLORS),
    }


def rescan_summary(results: list[dict]) -> str:
    """Per text column: the hit rate, and the rows to look at with the entity found (never the text)."""
    parts = []
    for r in results:
        text = f"{r['column']}: {r['hit_rate']:.1%} of {r.get('texts', 0):,} sampled texts"
        rows = r.get("rows") or []
        if rows:
            shown = ", ".join(f"row {x['row']} ({'/'.join(x['entities'])})" for x in rows[:10])
            more = f" and {len(rows) - 10} more" if len(rows) > 10 else ""
            text += f"; look at {shown}{more}"
        parts.append(text)
    return "; ".join(parts)


def leak_summary(leaks: dict) -> str:
    """What the leak scan did, in words: "0 sampled originals" read as "nothing checked"."""
    if not leaks or not leaks.get("scanned"):
        return "no PII columns to scan"
    found = len(leaks.get("findings", []))
    pii = f"{leaks['scanned']} PII column{'s' if leaks['scanned'] > 1 else ''}"
    if not leaks.get("originals"):
        return f"checked {pii}: prod had no values in them to look for"
    return (
        f"checked {leaks.get('cells', 0):,} output cells against {leaks['originals']:,} prod values "
        f"sampled from {pii}: "
        + ("none found" if not found else f"{found} finding{'s' if found > 1 else ''}")
    )


def k_summary(k: dict | None) -> str:
    if not k:
        return "not configured"
    qis = ", ".join(k.get("quasi_identifiers", []))
    after = k.get("smallest_group_after", k["smallest_group"])
    met = "met" if k.get("passed") else "NOT met"
    text = f"k={k['k']} {met} on {qis}: smallest group {k['smallest_group']} before, {after} after"
    if "unique_share_after" in k:
        text += (
            f"; rows unique on them {k['unique_share_before']:.0%} -> {k['unique_share_after']:.0%}, "
            f"{k['cells_changed_share']:.0%} of their cells generalized"
            + (f" ({k['rows_changed_share']:.0%} of rows)" if "rows_changed_share" in k else "")
        )
    return text


def suppression_warning(k: dict | None) -> str:
    """A pass bought by blanking quasi-identifiers costs utility: say how much of the table
    (`k`: a table's k-anonymity result)."""
    k = k or {}
    n, rows = k.get("suppressed_rows", 0), k.get("rows") or 0
    if not n or not rows:
        return ""
    return (
        f"utility: quasi-identifiers of {n:,} of {rows:,} rows ({n / rows:.0%}) blanked to reach k={k['k']}"
    )


def _environment(env: str, r: dict) -> dict:
    ok, held = r.get("published"), r.get("held_back")
    state = f"published, {len(held)} held back" if ok and held else "published" if ok else "not published"
    return {
        "name": env,
        "state": state,
        "css": "ok" if ok and not held else "bad",
        "why": r.get("reason", "all gates passed" if ok else ""),
    }


def _gates(env: str, r: dict, tables: dict[str, TableSummary]) -> dict:
    checks = r.get("validation", {}).get("checks", [])
    rows = []
    for c in sorted(checks, key=lambda c: (c["ok"], c["table"], c["check"])):
        k_pass = c["ok"] and c["check"] == "k_anonymity"
        table = tables.get(c["table"])
        warning = suppression_warning(table.k_anonymity) if k_pass and table else ""
        css, word = (
            ("bad", "FAIL")
            if not c["ok"]
            else ("warn", "pass, utility warning")
            if warning
            else ("ok", "pass")
        )
        rows.append(
            {
                "table": c["table"],
                "check": c["check"],
                "css": css,
                "word": word,
                "detail": c["detail"],
                "warning": warning,
            }
        )
    suites = [
        {
            "table": t,
            "scope": ge.get("scope"),
            "passed": ge["passed"],
            "results": [
                {
                    "expectation": x["expectation"],
                    "column": x["column"] or "",
                    "source": x["source"],
                    "success": x["success"],
                }
                for x in ge["results"]
            ],
        }
        for t, ge in (r.get("expectations") or {}).items()
    ]
    return {
        "env": env,
        "passed": sum(1 for c in checks if c["ok"]),
        "total": len(checks),
        "checks": rows,
        "suites": suites,
    }


def render_html(report: dict) -> str:
    """The page for a run report in its JSON form (what report.json holds; each table's entry read
    as a TableSummary), so the HTML and the JSON stored next to it always say the same."""
    envs = report.get("environments", {})
    tables = {t: TableSummary.model_validate(v) for t, v in report.get("tables", {}).items()}
    env_names = list(envs)
    steps = sorted({k for v in tables.values() for k in v.seconds if k != "total"})
    context = {
        "snapshot_id": report.get("snapshot_id"),
        "as_of": report.get("as_of"),
        "versioned_source": report.get("versioned_source"),
        "warning": report.get("warning"),
        "env_names": env_names,
        "environments": [_environment(env, r) for env, r in envs.items()],
        "tables": [
            {
                "name": t,
                "rows_in": f"{v.rows_in:,}",
                "rows_out": [f"{v.rows_out.get(e, 0):,}" for e in env_names],
                "entities": ", ".join(f"{k} {n}" for k, n in sorted(v.text_entities.items())),
                "leaks": leak_summary(v.leaks or {}),
                "leaks_found": bool((v.leaks or {}).get("findings")),
                "rescan": rescan_summary((v.leaks or {}).get("text_rescan", [])),
                "k_anonymity": k_summary(v.k_anonymity),
                "warning": suppression_warning(v.k_anonymity),
                "columns": [
                    {"name": c, "action": p.action, "entity": p.entity or ""} for c, p in v.columns.items()
                ],
            }
            for t, v in tables.items()
        ],
        "rows_chart": _bars(
            "Rows per table",
            [
                (t, [float(v.rows_in)] + [float(v.rows_out.get(e, 0)) for e in env_names])
                for t, v in tables.items()
            ],
            ["prod"] + env_names,
        ),
        "time_chart": _stacked(
            "Time per table, by step (seconds)",
            [(t, [float(v.seconds.get(s, 0)) for s in steps]) for t, v in tables.items()],
            steps,
            " s",
        ),
        "gates": [_gates(env, r, tables) for env, r in envs.items()],
    }
    return _template().render(context)
