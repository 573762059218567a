"""The run report: JSON (report.json, written by the run) and one HTML page rendered from it
with a jinja2 template shipped as package data (report/templates/)."""

from datarefresh.report.html import k_summary, leak_summary, render_html, rescan_summary, suppression_warning

__all__ = ["k_summary", "leak_summary", "render_html", "rescan_summary", "suppression_warning"]
