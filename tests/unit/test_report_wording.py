"""The report says plainly what each gate did; the demo-key warning is printed once per run."""

from __future__ import annotations

from datarefresh.report import leak_summary, render_html

K = {
    "quasi_identifiers": ["birth_date", "zip"],
    "k": 2,
    "rows": 243,
    "smallest_group": 1,
    "smallest_group_after": 2,
    "suppressed_rows": 219,
    "unique_share_before": 1.0,
    "unique_share_after": 0.0,
    "cells_changed_share": 0.9,
    "passed": True,
}


def _report(k, leaks):
    checks = [
        {"env": "dev", "table": "customers", "check": "k_anonymity", "ok": True, "detail": "smallest group 1"}
    ]
    return {
        "snapshot_id": "s",
        "as_of": "2026-11-30T02:00:00+00:00",
        "versioned_source": True,
        "environments": {"dev": {"published": True, "validation": {"passed": True, "checks": checks}}},
        "tables": {
            "customers": {
                "rows_in": 5000,
                "rows_out": {"dev": 243},
                "seconds": {},
                "leaks": leaks,
                "k_anonymity": k,
                "columns": {},
            }
        },
    }


def test_blanked_quasi_identifiers_are_a_utility_warning_with_the_share_of_the_table():
    page = render_html(_report(K, {"scanned": 5, "originals": 5000, "findings": []}))
    assert "quasi-identifiers of 219 of 243 rows (90%) blanked" in page
    assert "pass, utility warning" in page and "class='warn'" in page
    assert "rows suppressed, then" not in page
    quiet = render_html(
        _report(dict(K, suppressed_rows=0), {"scanned": 5, "originals": 5000, "findings": []})
    )
    assert "utility warning" not in quiet and "k=2 met" in quiet


def test_the_leak_scan_says_what_it_checked():
    assert (
        leak_summary({"scanned": 5, "cells": 12000, "originals": 5000, "findings": []})
        == "checked 12,000 output cells against 5,000 prod values sampled from 5 PII columns: none found"
    )
    assert "no values in them" in leak_summary({"scanned": 3, "originals": 0, "findings": []})
    assert "sampled originals" not in render_html(_report(K, {"scanned": 3, "originals": 0, "findings": []}))


def test_the_demo_key_warning_is_printed_once_per_run(capsys):
    from datarefresh.secret import resolve_keyring

    for _ in range(6):  # a run resolves the key for its plan and for each of five tables
        resolve_keyring(allow_demo_key=True)
    assert capsys.readouterr().err.count("using the published demo key") == 1


def test_the_rescan_names_rows_to_look_at_and_time_stacks_steps_per_table():
    leaks = {
        "scanned": 1,
        "originals": 10,
        "findings": [],
        "text_rescan": [
            {
                "column": "body",
                "texts": 200,
                "hit_rate": 0.01,
                "passed": True,
                "rows": [{"row": 17, "entities": ["PERSON"]}, {"row": 93, "entities": ["PHONE_NUMBER"]}],
            }
        ],
    }
    report = _report(K, leaks)
    report["tables"]["customers"]["seconds"] = {"read": 1.0, "anonymize": 3.0, "write": 0.5, "total": 4.5}
    page = render_html(report)
    assert "look at row 17 (PERSON), row 93 (PHONE_NUMBER)" in page
    assert "Time per table, by step" in page
    svg = page.split("Time per table, by step", 1)[1].split("</svg>", 1)[0]
    assert svg.count("<rect") == 3 and "anonymize: 3.00 s" in svg and "4.50 s" in svg  # one bar, three steps
