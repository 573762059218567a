"""The run report as one self-contained HTML page (inline SVG charts, no scripts, no CDN)."""

from __future__ import annotations

import html

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#1d2430}
h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #dde3ea}
.muted{color:#667085} table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #eef1f5} th{background:#f6f8fa}
.ok{color:#12794a;font-weight:600} .bad{color:#b42318;font-weight:600} .warn{color:#9a6700;font-weight:600}
.pill{display:inline-block;padding:.1rem .55rem;border-radius:1rem;font-size:.85rem}
.pill.ok{background:#e7f6ee} .pill.bad{background:#fdecea} details{margin:.3rem 0} code{font-size:.85rem}
"""


def _e(v) -> str:
    return html.escape(str(v))


def _bars(title: str, rows: list[tuple[str, list[float]]], series: list[str], unit: str = "") -> str:
    """A horizontal grouped bar chart as inline SVG."""
    colors = ["#3b6fd8", "#f59f00", "#12b886", "#e8590c", "#7048e8"]
    peak = max((v for _, vals in rows for v in vals), default=1) or 1
    bar_h, gap, label_w, width = 14, 10, 150, 700
    height = len(rows) * (len(series) * bar_h + gap) + 30
    out = [f'<svg role="img" aria-label="{_e(title)}" width="{width + label_w + 120}" height="{height}">']
    y = 20
    for label, vals in rows:
        out.append(f'<text x="0" y="{y + bar_h}" font-size="12">{_e(label)}</text>')
        for i, v in enumerate(vals):
            w = max(1.0, width * v / peak)
            out.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h - 2}" fill="{colors[i % 5]}"/>')
            out.append(f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 3}" font-size="11">'
                       f'{v:,.3g}{_e(unit)}</text>' if isinstance(v, float) and v < 100 else
                       f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 3}" font-size="11">{v:,.0f}{_e(unit)}</text>')
            y += bar_h
        y += gap
    legend = "".join(f'<tspan fill="{colors[i % 5]}">■ {_e(s)}</tspan>  ' for i, s in enumerate(series))
    out.append(f'<text x="{label_w}" y="12" font-size="12">{legend}</text></svg>')
    return f"<h3>{_e(title)}</h3>" + "".join(out)


def _stacked(title: str, rows: list[tuple[str, list[float]]], series: list[str], unit: str = "") -> str:
    """One horizontal bar per row, split into its series (the steps of a table's time), inline SVG."""
    colors = ["#3b6fd8", "#f59f00", "#12b886", "#e8590c", "#7048e8", "#c2255c", "#868e96"]
    peak = max((sum(vals) for _, vals in rows), default=1) or 1
    bar_h, gap, label_w, width = 16, 8, 150, 700
    out = [f'<svg role="img" aria-label="{_e(title)}" width="{width + label_w + 120}" '
           f'height="{len(rows) * (bar_h + gap) + 30}">']
    y = 20
    for label, vals in rows:
        out.append(f'<text x="0" y="{y + bar_h - 3}" font-size="12">{_e(label)}</text>')
        x = float(label_w)
        for i, v in enumerate(vals):
            w = width * v / peak
            if w > 0:
                out.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h - 2}" fill="{colors[i % 7]}">'
                           f'<title>{_e(series[i])}: {v:,.2f}{_e(unit)}</title></rect>')
            x += w
        out.append(f'<text x="{x + 4:.1f}" y="{y + bar_h - 3}" font-size="11">{sum(vals):,.2f}{_e(unit)}</text>')
        y += bar_h + gap
    legend = "".join(f'<tspan fill="{colors[i % 7]}">■ {_e(s)}</tspan>  ' for i, s in enumerate(series))
    out.append(f'<text x="{label_w}" y="12" font-size="12">{legend}</text></svg>')
    return f"<h3>{_e(title)}</h3>" + "".join(out)


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
    what = f"checked {leaks['scanned']} PII columns of the output"
    if not leaks.get("originals"):
        return f"{what}: prod had no values in them to look for"
    return (f"{what} against {leaks['originals']:,} prod values: "
            + ("none found" if not found else f"{found} finding{'s' if found > 1 else ''}"))


def k_summary(k: dict | None) -> str:
    if not k:
        return "not configured"
    qis = ", ".join(k.get("quasi_identifiers", []))
    after = k.get("smallest_group_after", k["smallest_group"])
    met = "met" if k.get("passed") else "NOT met"
    text = f"k={k['k']} {met} on {qis}: smallest group {k['smallest_group']} before, {after} after"
    if "unique_share_after" in k:
        text += (f"; rows unique on them {k['unique_share_before']:.0%} -> {k['unique_share_after']:.0%}, "
                 f"{k['cells_changed_share']:.0%} of their cells generalized"
                 + (f" ({k['rows_changed_share']:.0%} of rows)" if "rows_changed_share" in k else ""))
    return text


def suppression_warning(table: dict) -> str:
    """A pass bought by blanking quasi-identifiers costs utility: say how much of the table."""
    k = table.get("k_anonymity") or {}
    n, rows = k.get("suppressed_rows", 0), k.get("rows") or 0
    if not n or not rows:
        return ""
    return f"utility: quasi-identifiers of {n:,} of {rows:,} rows ({n / rows:.0%}) blanked to reach k={k['k']}"


def render_html(report: dict) -> str:
    envs = report.get("environments", {})
    tables = report.get("tables", {})
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>datarefresh run {_e(report.get('snapshot_id'))}"
             f"</title><style>{_CSS}</style></head><body>",
             f"<h1>datarefresh run <code>{_e(report.get('snapshot_id'))}</code></h1>",
             f"<p class='muted'>prod as of {_e(report.get('as_of'))} · "
             f"{'versioned source' if report.get('versioned_source') else 'UNVERSIONED source'}"
             f"{' · ' + _e(report['warning']) if report.get('warning') else ''}</p>"]
    parts.append("<h2>Environments</h2><table><tr><th>environment</th><th>result</th><th>why</th></tr>")
    for env, r in envs.items():
        ok = r.get("published")
        held = r.get("held_back")
        state = ("published, " + str(len(held)) + " held back") if ok and held else \
            "published" if ok else "not published"
        parts.append(f"<tr><td>{_e(env)}</td><td><span class='pill {'ok' if ok and not held else 'bad'}'>"
                     f"{state}</span></td>"
                     f"<td>{_e(r.get('reason', 'all gates passed' if ok else ''))}</td></tr>")
    parts.append("</table>")
    env_names = list(envs)
    parts.append("<h2>Tables</h2><table><tr><th>table</th><th>rows in prod</th>"
                 + "".join(f"<th>rows in {_e(e)}</th>" for e in env_names) + "<th>text entities replaced</th></tr>")
    for t, v in tables.items():
        ents = ", ".join(f"{k} {n}" for k, n in sorted(v.get("text_entities", {}).items()))
        parts.append(f"<tr><td>{_e(t)}</td><td>{v['rows_in']:,}</td>"
                     + "".join(f"<td>{v['rows_out'].get(e, 0):,}</td>" for e in env_names) + f"<td>{_e(ents)}</td></tr>")
    parts.append("</table>")
    parts.append(_bars("Rows per table", [(t, [float(v["rows_in"])] + [float(v["rows_out"].get(e, 0)) for e in env_names])
                                          for t, v in tables.items()], ["prod"] + env_names))
    steps = sorted({k for v in tables.values() for k in v.get("seconds", {}) if k != "total"})
    parts.append(_stacked("Time per table, by step (seconds)",
                          [(t, [float(v["seconds"].get(s, 0)) for s in steps]) for t, v in tables.items()],
                          steps, " s"))
    parts.append("<h2>Gates</h2>")
    for env, r in envs.items():
        checks = r.get("validation", {}).get("checks", [])
        failed = [c for c in checks if not c["ok"]]
        parts.append(f"<h3>{_e(env)}: {len(checks) - len(failed)}/{len(checks)} passed</h3>"
                     "<table><tr><th>table</th><th>check</th><th>result</th><th>detail</th></tr>")
        for c in sorted(checks, key=lambda c: (c["ok"], c["table"], c["check"])):
            warning = c["ok"] and c["check"] == "k_anonymity" and suppression_warning(tables.get(c["table"], {}))
            css, word = ("bad", "FAIL") if not c["ok"] else ("warn", "pass, utility warning") if warning else ("ok", "pass")
            parts.append(f"<tr><td>{_e(c['table'])}</td><td>{_e(c['check'])}</td><td class='{css}'>{word}</td>"
                         f"<td>{_e(c['detail'])}{'<br><span class=warn>' + _e(warning) + '</span>' if warning else ''}"
                         "</td></tr>")
        parts.append("</table>")
        for t, ge in (r.get("expectations") or {}).items():
            rows = "".join(f"<tr><td>{_e(x['expectation'])}</td><td>{_e(x['column'] or '')}</td><td>{_e(x['source'])}"
                           f"</td><td class='{'ok' if x['success'] else 'bad'}'>{'pass' if x['success'] else 'FAIL'}</td></tr>"
                           for x in ge["results"])
            parts.append(f"<details><summary>{_e(env)} · {_e(t)}: expectations on {_e(ge.get('scope'))} "
                         f"({'passed' if ge['passed'] else 'FAILED'})</summary><table><tr><th>expectation</th>"
                         f"<th>column</th><th>suite</th><th>result</th></tr>{rows}</table></details>")
    parts.append("<h2>Leak scan and k-anonymity</h2><table><tr><th>table</th><th>leak scan</th>"
                 "<th>text re-scan</th><th>k-anonymity (dev)</th></tr>")
    for t, v in tables.items():
        leaks = v.get("leaks") or {}
        rescan = rescan_summary(leaks.get("text_rescan", []))
        warning = suppression_warning(v)
        parts.append(f"<tr><td>{_e(t)}</td><td class='{'bad' if leaks.get('findings') else ''}'>{_e(leak_summary(leaks))}"
                     f"</td><td>{_e(rescan)}</td><td>{_e(k_summary(v.get('k_anonymity')))}"
                     f"{'<br><span class=warn>' + _e(warning) + '</span>' if warning else ''}</td></tr>")
    parts.append("</table><h2>Columns</h2>")
    for t, v in tables.items():
        rows = "".join(f"<tr><td>{_e(c)}</td><td>{_e(p['action'])}</td><td>{_e(p['entity'] or '')}</td></tr>"
                       for c, p in v.get("columns", {}).items())
        parts.append(f"<details><summary>{_e(t)}</summary><table><tr><th>column</th><th>action</th>"
                     f"<th>entity</th></tr>{rows}</table></details>")
    parts.append("<p class='muted'>No raw value appears in this report: findings name table, column and entity "
                 "type only.</p></body></html>")
    return "".join(parts)
