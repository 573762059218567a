"""Great Expectations Data Docs that open offline.

GX's pages load Bootstrap, bootstrap-table, jQuery, Popper, Vega and Font Awesome from CDNs,
and its logo from an S3 bucket; offline the index shows no table at all (bootstrap-table
builds it from inline data). None of these libraries is installed here, so `make_offline`
rewrites every written page instead: remote scripts and stylesheets go, remote images point
at the copies GX ships in `static/images`, and each page loads two small files written next
to the docs (`static/offline/`): a stylesheet for the classes and icons the pages use, and a
stand-in for the few jQuery/bootstrap-table calls they make (it renders the index table).
"""

from __future__ import annotations

import re
from pathlib import Path

ASSETS = "static/offline"
_REMOTE_SCRIPT = re.compile(r"<script\b[^>]*\bsrc=[\"']https?://[^>]*>\s*</script>\s*", re.IGNORECASE)
_REMOTE_LINK = re.compile(r"<link\b[^>]*\bhref=[\"']https?://[^>]*>\s*", re.IGNORECASE)
_REMOTE_SRC = re.compile(
    r"""\bsrc=(["'])https?://[^"']*?([\w.-]+\.(?:png|svg|gif|ico|jpg))(?:\?[^"']*)?\1""", re.IGNORECASE
)
_REMOTE_URL = re.compile(r"""url\((["']?)https?://[^)"']*\1\)""", re.IGNORECASE)

CSS = """/* datarefresh: the few Bootstrap 4 rules GX's Data Docs rely on, and their icons, offline */
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: 14px; margin: 0;
       color: #212529; }
a { color: #0b5ed7; }
.container-fluid { padding: 0 15px; }
.row { display: flex; flex-wrap: wrap; margin: 0 -15px; }
[class*="col-"] { box-sizing: border-box; padding: 0 15px; width: 100%; }
@media (min-width: 768px) { .col-md-2 { width: 16.66%; } .col-md-10 { width: 83.33%; } .col-md-4 { width: 33.33%; }
  .col-md-6 { width: 50%; } .col-md-8 { width: 66.66%; } }
.d-flex { display: flex; } .d-none { display: none; } .float-left { float: left; }
.navbar { display: flex; align-items: center; padding: 8px 15px; border-bottom: 1px solid #dee2e6; }
.navbar-brand img { height: 28px; }
.nav { display: flex; list-style: none; padding: 0; gap: 16px; }
.tab-pane, .collapse, .fade { display: block !important; opacity: 1 !important; }
.card { border: 1px solid #dee2e6; border-radius: 4px; margin-bottom: 12px; }
.card-header { background: #f7f7f9; padding: 6px 12px; } .card-body { padding: 8px 12px; }
.alert { padding: 8px 12px; border-radius: 4px; margin: 8px 0; }
.alert-secondary { background: #e2e3e5; } .alert-danger { background: #f8d7da; }
.badge { display: inline-block; padding: 1px 6px; border-radius: 8px; font-size: 85%; }
.badge-secondary { background: #6c757d; color: #fff; } .badge-info { background: #17a2b8; color: #fff; }
.btn { display: inline-block; padding: 2px 8px; border: 1px solid #6c757d; border-radius: 4px;
       background: #f8f9fa; color: #212529; text-decoration: none; }
table, .table { border-collapse: collapse; width: 100%; margin-bottom: 12px; }
th, td { border-top: 1px solid #dee2e6; padding: 4px 8px; text-align: left; vertical-align: top; }
.table-responsive { overflow-x: auto; }
.text-success { color: #198754; } .text-danger { color: #dc3545; } .text-warning { color: #b58100; }
.text-muted { color: #6c757d; } .h6, h6 { font-size: 1em; font-weight: 600; }
.cooltip .top { display: none; } .cooltip:hover .top { display: block; position: absolute; background: #fff;
  border: 1px solid #ccc; padding: 6px; white-space: pre; z-index: 5; }
.clickable-row { cursor: pointer; } .clickable-row:hover { background: #f1f3f5; }
.fas::before, .far::before { font-style: normal; }
.fa-check-circle::before { content: "\\2714"; } .fa-times::before { content: "\\2716"; }
.fa-exclamation-triangle::before { content: "\\26A0"; } .fa-question-circle::before { content: "?"; }
.fa-comment::before { content: "\\1F4AC"; }
.ge-offline-note { color: #6c757d; font-size: 90%; }
"""

JS = """// datarefresh: a stand-in for the jQuery / bootstrap-table calls of GX's Data Docs, offline.
(function () {
  function render(table, opts) {
    var columns = opts.columns || [], rows = opts.data || [];
    var head = "<thead><tr>" + columns.map(function (c) { return "<th>" + (c.title || c.field) + "</th>"; }).join("")
      + "</tr></thead>";
    var body = rows.map(function (r) {
      var link = r._table_row_link_path ? ' class="clickable-row" data-href="' + r._table_row_link_path + '"' : "";
      return "<tr" + link + ">" + columns.map(function (c) {
        var v = r[c.field]; return "<td>" + (v === undefined || v === null ? "" : v) + "</td>";
      }).join("") + "</tr>";
    }).join("");
    table.innerHTML = head + "<tbody>" + body + "</tbody>";
    table.querySelectorAll("tr[data-href]").forEach(function (tr) {
      tr.addEventListener("click", function () { window.location = tr.getAttribute("data-href"); });
    });
  }
  function select(target) {
    if (typeof target === "string") { try { return Array.from(document.querySelectorAll(target)); } catch (e) { return []; } }
    return target ? [target] : [];
  }
  function wrap(els) {
    var api = new Proxy({}, { get: function (_, name) {
      if (name === "bootstrapTable") return function (opts) {
        if (opts && typeof opts === "object") els.forEach(function (el) { render(el, opts); });
        return api;
      };
      if (name === "ready") return function (fn) {
        if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
        return api;
      };
      if (name === "data") return function (key) { return els[0] && els[0].getAttribute ? els[0].getAttribute("data-" + key) : undefined; };
      if (name === "length") return els.length;
      return function () { return api; };  // every other call (tooltips, tabs, filters) does nothing
    } });
    return api;
  }
  function $(target) { return typeof target === "function" ? wrap([document]).ready(target) : wrap(select(target)); }
  window.$ = window.jQuery = $;
  window.vegaEmbed = function () { return Promise.resolve(); };
})();
"""


def make_offline(docs_dir: Path) -> None:
    """Rewrite every page under `docs_dir` to load nothing from the network."""
    assets = docs_dir / ASSETS
    assets.mkdir(parents=True, exist_ok=True)
    (assets / "datadocs.css").write_text(CSS, encoding="utf-8")
    (assets / "datadocs.js").write_text(JS, encoding="utf-8")
    for page in docs_dir.rglob("*.html"):
        up = "../" * (len(page.relative_to(docs_dir).parts) - 1)
        html = page.read_text(encoding="utf-8")
        html = _REMOTE_SCRIPT.sub("", html)
        html = _REMOTE_LINK.sub("", html)
        html = _REMOTE_SRC.sub(lambda m, up=up: f'src="{up}static/images/{m.group(2)}"', html)
        html = _REMOTE_URL.sub("none", html)
        head = (
            f'<link rel="stylesheet" href="{up}{ASSETS}/datadocs.css">'
            f'<script src="{up}{ASSETS}/datadocs.js"></script>'
        )
        html = re.sub(r"<head>", lambda _m, head=head: "<head>" + head, html, count=1, flags=re.IGNORECASE)
        page.write_text(html, encoding="utf-8")
