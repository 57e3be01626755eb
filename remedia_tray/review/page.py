"""The review page as pure rendering: report data in, one self-contained HTML string out.

No file is read or written here; writer.py makes the thumbnails and writes the page.
"""

from __future__ import annotations

import base64
import hashlib
import html
import os
import shlex
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .._platform import IS_WINDOWS
from .._version import __version__
from ..core.strictness import level_name
from ..core.wording import megabytes, shown, verification_words

# ---------------------------------------------------------------- report data -> members


@dataclass(frozen=True)
class _Member:
    original: str
    now: str  # where the file is after the sort
    kept: bool  # stays in place as the group's best copy
    best: bool
    moved: bool
    not_moved: str | None  # why a planned move did not happen
    detail: Mapping[str, Any] | None


def _all_moves(data: Mapping[str, Any]) -> dict[str, str]:
    # A kept duplicate can move on with its similar group: look across every group.
    return {m["from"]: m["to"] for g in data.get("groups", ()) for m in g.get("moves", ())}


def _members(
    group: Mapping[str, Any], failed: Mapping[str, str], everywhere: Mapping[str, str]
) -> list[_Member]:
    own = {m["from"] for m in group.get("moves", ())}
    moves = {p: everywhere[p] for p in group["members"] if p in everywhere}
    details = list(group.get("details") or ())
    kept, best = group.get("kept"), group.get("best")
    out = []
    for k, path in enumerate(group["members"]):
        now = moves.get(path, path)
        out.append(
            _Member(
                original=path,
                now=now,
                kept=path == kept,
                best=path == best,
                moved=path in own,
                not_moved=failed.get(path) if path not in moves and path != kept else None,
                detail=details[k] if k < len(details) else None,
            )
        )
    return out


def current_locations(data: Mapping[str, Any]) -> list[str]:
    """Every group member's path as it is after the sort (moved copies in their group folder)."""
    failed = {f["path"]: f["reason"] for f in data.get("failed", ())}
    everywhere = _all_moves(data)
    return [m.now for g in data.get("groups", ()) for m in _members(g, failed, everywhere)]


# ---------------------------------------------------------------- escaping and formatting


def _t(s: object) -> str:
    """Text for HTML content or a quoted attribute value, control characters escaped (shown)."""
    return html.escape(shown(s), quote=True)


def _raw(s: str) -> bytes:
    """A name as its bytes: a name that is not UTF-8 keeps its raw bytes (surrogateescape)."""
    try:
        return s.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate of a Windows name
        return s.encode("utf-8", "surrogatepass")


def _href(target: str, page_dir: str) -> str:
    """A relative URL from the page to `target`, every byte of the name percent-encoded."""
    try:
        rel = os.path.relpath(target, page_dir)
    except ValueError:  # another drive on Windows: no relative path exists
        return html.escape(Path(target).as_uri(), quote=True)
    raw = os.fsencode(rel)
    if os.sep != "/":
        raw = raw.replace(os.sep.encode(), b"/")
    return html.escape(quote(raw, safe="/"), quote=True)


def _when(iso: object) -> str:
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(iso)).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return str(iso or "")


def _shown_path(path: str, folder: str) -> str:
    """`path` relative to the sorted folder when inside it (shorter to read)."""
    try:
        rel = os.path.relpath(path, folder)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def undo_command(folder: str, *, windows: bool = IS_WINDOWS) -> str:
    """The exact command that undoes the latest sort of `folder`, quoted for the user's shell."""
    if windows:
        return subprocess.list2cmdline(["remedia", "undo", folder])
    return f"remedia undo {shlex.quote(folder)}"


# ---------------------------------------------------------------- the page

_CSS = """
:root{--bg:#f5f6f8;--card:#fff;--fg:#1c2230;--mute:#5b6476;--line:#dde1e8;--accent:#1d4ed8;
--kept:#15803d;--bad:#b91c1c;--best:#7c3aed}
@media (prefers-color-scheme:dark){:root{--bg:#14171c;--card:#1c2027;--fg:#e6e9ef;--mute:#9aa3b2;
--line:#2f3540;--accent:#7aa7ff;--kept:#4ade80;--bad:#f87171;--best:#c4b5fd}}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
background:var(--bg);color:var(--fg)}
a{color:var(--accent)}
header{padding:20px 28px 6px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:18px;margin:26px 0 6px}
h3{font-size:15px;margin:0;overflow-wrap:anywhere}
.meta,.sub{color:var(--mute);overflow-wrap:anywhere}
.totals{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px;
margin:8px 28px}
.totals div{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:9px 14px}
.totals dt{color:var(--mute);font-size:12px}
.totals dd{margin:2px 0 0;font-size:20px;font-weight:600}
.totals .warn dd{color:var(--bad)}
.box{margin:10px 28px;padding:10px 14px;background:var(--card);border:1px solid var(--line);
border-radius:10px}
.undo{display:flex;gap:10px;align-items:center;flex-wrap:wrap}
code{font:13px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;white-space:pre-wrap;
word-break:break-all;background:var(--bg);padding:4px 8px;border-radius:6px}
button{font:inherit;padding:4px 12px;border-radius:6px;border:1px solid var(--line);
background:var(--bg);color:var(--fg);cursor:pointer}
nav{position:sticky;top:0;z-index:2;background:var(--bg);padding:8px 28px;
border-bottom:1px solid var(--line);display:flex;gap:18px;align-items:center;flex-wrap:wrap}
nav input{font:inherit;padding:4px 10px;border-radius:6px;border:1px solid var(--line);
background:var(--card);color:var(--fg);min-width:220px}
main{padding:0 28px 40px}
.groups{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start}
.group{flex:0 1 auto;max-width:100%;background:var(--card);border:1px solid var(--line);
border-radius:12px;padding:12px 14px}
.group.similar{flex-basis:100%}
.why{color:var(--kept);font-weight:600;overflow-wrap:anywhere}
.similar .why{color:var(--best)}
.grid{display:flex;flex-wrap:wrap;gap:12px;margin-top:10px}
.grid figure{width:190px}
.row{display:flex;gap:12px;overflow-x:auto;margin-top:10px;padding-bottom:4px}
figure{margin:0;position:relative;border:2px solid transparent;border-radius:10px;padding:6px;
background:var(--bg)}
figure.kept{border-color:var(--kept)}
figure.best{border-color:var(--best)}
.row figure{flex:0 0 270px}
.thumb{display:flex;align-items:center;justify-content:center;height:170px}
.row .thumb{height:250px}
.thumb img{max-width:100%;max-height:100%;border-radius:6px;display:block}
.noprev{color:var(--mute);font-size:12px;text-align:center;padding:8px}
.badge{position:absolute;top:10px;left:10px;color:#fff;font-size:11px;font-weight:700;
padding:2px 9px;border-radius:999px;text-transform:uppercase;letter-spacing:.03em}
.kept .badge{background:var(--kept)}
.best .badge{background:var(--best)}
figcaption{font-size:12px;color:var(--mute);margin-top:6px;overflow-wrap:anywhere}
figcaption .name{color:var(--fg);font-weight:600}
figcaption span{display:block}
.fail{color:var(--bad)}
table{border-collapse:collapse;width:100%;background:var(--card);border:1px solid var(--line);
border-radius:10px;overflow:hidden}
td,th{padding:6px 10px;border-top:1px solid var(--line);text-align:left;vertical-align:top;
overflow-wrap:anywhere}
th{color:var(--mute);font-weight:600;font-size:12px;border-top:0}
footer{color:var(--mute);font-size:12px;padding:0 28px 28px}
[hidden]{display:none!important}
.act{display:flex;gap:6px;flex-wrap:wrap;margin-top:6px}
.act button{font-size:12px;padding:3px 9px}
"""

_JS = """
(function () {
  var q = document.getElementById("filter");
  if (q) {
    q.addEventListener("input", function () {
      var v = q.value.toLowerCase();
      document.querySelectorAll("section.group").forEach(function (s) {
        s.hidden = v !== "" && s.getAttribute("data-names").indexOf(v) < 0;
      });
    });
  }
  var b = document.getElementById("copy");
  if (b) {
    b.addEventListener("click", function () {
      var code = document.getElementById("undo-cmd");
      function done() {
        b.textContent = "Copied";
        setTimeout(function () { b.textContent = "Copy"; }, 1500);
      }
      function select() {
        var r = document.createRange();
        r.selectNodeContents(code);
        var s = window.getSelection();
        s.removeAllRanges();
        s.addRange(r);
        try { if (document.execCommand("copy")) { done(); } } catch (e) {}
      }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(code.textContent).then(done, select);
      } else {
        select();
      }
    });
  }
})();
"""


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


# Only our own inline style and script may run, and images may come only from local files: even
# a markup bug could neither run injected script nor make a request that leaves the machine.
_CSP = (
    "default-src 'none'; img-src file: data:; "
    f"style-src {_csp_hash(_CSS)}; script-src {_csp_hash(_JS)}; "
    "base-uri 'none'; form-action 'none'"
)


#: The page as the local review server sends it: images and form posts only from itself.
SERVED_CSP = (
    "default-src 'none'; img-src 'self'; "
    f"style-src {_csp_hash(_CSS)}; script-src {_csp_hash(_JS)}; "
    "base-uri 'none'; form-action 'self'"
)


@dataclass(frozen=True)
class Served:
    """The page is served by `remedia review --serve`: action buttons, links through the server.

    `token` goes into every link when the page was asked for with it; None when the browser
    holds the session cookie instead. Names travel in URLs as their bytes, percent-encoded.
    """

    token: str | None = None

    def url(self, route: str, **query: str) -> str:
        if self.token is not None:
            query = {**query, "token": self.token}
        pairs = "&".join(f"{quote(k)}={quote(_raw(v), safe='')}" for k, v in query.items())
        return html.escape(f"{route}?{pairs}" if pairs else route, quote=True)


def _rel_path(path: str, folder: str) -> str:
    """`path` relative to the sorted folder, "/"-separated (the markup's data-path)."""
    rel = os.path.relpath(path, folder)
    return rel.replace(os.sep, "/") if os.sep != "/" else rel


def _group_key(g: Mapping[str, Any]) -> str:
    return f"{g['kind']}/{os.path.basename(str(g['folder']))}"


def _form_value(name: str) -> str:
    """A name in a form field: percent-encoded bytes, as a field can carry only text."""
    return html.escape(quote(_raw(name), safe="/"), quote=True)


def _action_form(served: Served, group: str, path: str | None, buttons: str) -> str:
    # The real names, whatever their bytes: the server decodes them once more (server._body).
    fields = f'<input type="hidden" name="group" value="{_form_value(group)}">'
    if path is not None:
        fields += f'<input type="hidden" name="path" value="{_form_value(path)}">'
    return (
        f'<form class="act" method="post" action="{served.url("/action")}">{fields}{buttons}</form>'
    )


def _button(action: str, label: str) -> str:
    return (
        f'<button type="submit" name="action" value="{action}" data-action="{action}">'
        f"{label}</button>"
    )


def render_page(
    data: Mapping[str, Any],
    *,
    page_dir: Path,
    thumbs: Mapping[str, Path],
    no_preview: Mapping[str, str] | None = None,
    windows: bool = IS_WINDOWS,
    served: Served | None = None,
) -> str:
    """The review page for one sort, from its report data (`SortReport.to_dict()` or saved JSON).

    `thumbs` maps a member's current path to its preview file; links are relative to `page_dir`.
    With `served`, the page is for the local review server: pictures and previews come from it,
    and each group has its action buttons.
    """
    pdir = str(page_dir)
    folder = str(data["folder"])
    failed = {f["path"]: f["reason"] for f in data.get("failed", ())}
    everywhere = _all_moves(data)
    groups = list(data.get("groups", ()))
    dups = [g for g in groups if g["kind"] == "duplicates"]
    sims = [g for g in groups if g["kind"] == "similar"]
    skipped = list(data.get("skipped", ()))
    not_moved = list(data.get("failed", ()))
    no_preview = no_preview or {}

    def member_html(m: _Member, kind: str, group: str, folder_now: str) -> str:
        d = m.detail or {}
        name = os.path.basename(m.now)
        rel = _rel_path(m.now, folder)
        link = served.url("/photo", path=rel) if served else _href(m.now, pdir)
        thumb = thumbs.get(m.now)
        if thumb is not None:
            src = served.url(f"/thumbs/{thumb.name}") if served else _href(str(thumb), pdir)
            picture = f'<img src="{src}" alt="{_t(name)}" loading="lazy" decoding="async">'
        else:
            why = no_preview.get(m.now, "no preview")
            picture = f'<span class="noprev">no preview<br>{_t(why)}</span>'
        facts = []
        if d.get("width") and d.get("height"):
            facts.append(f"{d['width']}\u00d7{d['height']}")
        if d.get("bytes") is not None:
            facts.append(megabytes(d["bytes"]))
        if d.get("format"):
            facts.append(str(d["format"]))
        line2 = []
        if d.get("exif_fields"):
            line2.append(f"{d['exif_fields']} EXIF fields")
        if d.get("mtime_ns"):
            when = time.localtime(d["mtime_ns"] / 1e9)
            line2.append("modified " + time.strftime("%Y-%m-%d %H:%M", when))
        if m.kept:
            moved_on = m.now != m.original
            where = (
                f"kept; now with its series at {_shown_path(m.now, folder)}"
                if moved_on
                else f"stays at {_shown_path(m.now, folder)}"
            )
            cls, badge = "kept", "Kept"
        elif m.best and kind == "similar":
            cls, badge, where = "best", "Best", f"from {_shown_path(m.original, folder)}"
        else:
            cls, badge, where = "", "", f"from {_shown_path(m.original, folder)}"
        where_html = f"<span>{_t(where)}</span>"
        if m.not_moved:
            where_html = f'<span class="fail">not moved: {_t(m.not_moved)}</span>'
        actions = ""
        if served is not None and os.path.dirname(m.now) == folder_now and m.now != m.original:
            buttons = _button("keep", "Keep this copy") if kind == "duplicates" else ""
            label = "Not a duplicate" if kind == "duplicates" else "Not similar"
            actions = _action_form(served, group, rel, buttons + _button("not-duplicate", label))
        return (
            f'<figure class="{cls}" data-path="{_t(rel)}">'
            + (f'<span class="badge">{badge}</span>' if badge else "")
            + f'<a class="thumb" href="{link}" target="_blank" rel="noopener" '
            f'title="Open {_t(name)}">{picture}</a>'
            f'<figcaption><span class="name">{_t(name)}</span>'
            f"<span>{_t(' · '.join(facts))}</span>"
            + (f"<span>{_t(' · '.join(line2))}</span>" if line2 else "")
            + f"{where_html}</figcaption>{actions}</figure>"
        )

    def group_html(g: Mapping[str, Any], idx: int) -> str:
        kind = g["kind"]
        members = _members(g, failed, everywhere)
        names = " ".join(os.path.basename(m.now) for m in members)
        title = _group_key(g)
        head = (
            f'<a href="{_href(str(g["folder"]), pdir)}/">{_t(title)}</a>'
            if g.get("moves") and served is None
            else _t(title)
        )
        gdir = str(g["folder"])
        moved = [m for m in members if m.moved]
        if kind == "duplicates":
            extra = sum((m.detail or {}).get("bytes", 0) for m in moved)
            keeper = next((m for m in members if m.kept), members[0])
            sub = f"{len(members)} copies · {len(moved)} moved · {megabytes(extra)} in duplicates"
            verified = verification_words(str(g.get("verified")))
            if verified:
                sub += f" · verified: {verified}"
            why = f"Kept {os.path.basename(keeper.now)}: {g.get('reason', '')}"
            body = '<div class="grid">' + "".join(
                member_html(m, kind, title, gdir) for m in members
            )
        else:
            best = next((m for m in members if m.best), members[0])
            sub = f"{len(members)} similar photos · {len(moved)} moved"
            why = f"Best shot {os.path.basename(best.now)}: {g.get('reason', '')}"
            body = '<div class="row">' + "".join(member_html(m, kind, title, gdir) for m in members)
        undo = ""
        if served is not None and any(m.now != m.original for m in members):
            undo = _action_form(served, title, None, _button("undo-group", "Undo this group"))
        return (
            f'<section class="group {kind}" id="{kind[0]}{idx}" data-group="{_t(title)}" '
            f'data-names="{_t((title + " " + names).lower())}">'
            f'<h3>{head}</h3><div class="sub">{_t(sub)}</div>'
            f'<div class="why">{_t(why)}</div>{body}</div>{undo}</section>'
        )

    def files_table(rows: Sequence[Mapping[str, Any]], label: str) -> str:
        body = "".join(
            f'<tr><td><a href="{_href(r["path"], pdir)}">{_t(_shown_path(r["path"], folder))}'
            f"</a></td><td>{_t(r['reason'])}</td></tr>"
            for r in rows
        )
        return f"<table><tr><th>{label}</th><th>Why</th></tr>{body}</table>"

    out: list[str] = []
    add = out.append
    title = f"ReMedia review: {os.path.basename(folder.rstrip(os.sep)) or folder}"
    add(
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{SERVED_CSP if served else _CSP}">'
        # Served, form posts must carry the page's Origin (no-referrer would send "null").
        f'<meta name="referrer" content="{"same-origin" if served else "no-referrer"}">'
        # Served: the favicon request carries the token too.
        + (f'<link rel="icon" href="{served.url("/favicon.ico")}">' if served else "")
        + '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_t(title)}</title><style>{_CSS}</style></head><body>"
    )
    engines = ", ".join(f"{k}: {v}" for k, v in (data.get("engines") or {}).items())
    add(
        f'<header><h1>{_t(title)}</h1><div class="meta">{_t(folder)}</div>'
        f'<div class="meta">Sorted {_t(_when(data.get("finished")))} · strictness '
        f"{_t(level_name(int(data.get('strictness', 50))))}"
        + (f" · {_t(engines)}" if engines else "")
        + "</div></header>"
    )
    totals = [
        ("Photos checked", f"{data.get('images', 0):,}", ""),
        ("Duplicate groups", f"{len(dups):,}", ""),
        ("Copies moved to duplicates/", f"{data.get('duplicates_moved', 0):,}", ""),
        ("Space the duplicates take up", megabytes(data.get("duplicate_bytes", 0)), ""),
        ("Similar groups", f"{len(sims):,}", ""),
        ("Photos moved to similar/", f"{data.get('similar_moved', 0):,}", "" if sims else "-"),
        ("Files skipped", f"{len(skipped):,}", ""),
        ("Not moved (problems)", f"{len(not_moved):,}", "warn" if not_moved else ""),
        ("Time", f"{float(data.get('seconds', 0)):.1f} s", ""),
    ]
    add(
        '<dl class="totals">'
        + "".join(
            f'<div class="{cls}"><dt>{_t(k)}</dt><dd>{_t(v)}</dd></div>'
            for k, v, cls in totals
            if cls != "-"
        )
        + "</dl>"
    )
    moved_any = data.get("duplicates_moved", 0) or data.get("similar_moved", 0)
    if data.get("journal") and moved_any:
        cmd = _t(undo_command(folder, windows=windows))
        add(
            '<div class="box undo"><span>Undo puts back everything the most recent sort of this '
            f'folder moved:</span><code id="undo-cmd">{cmd}</code>'
            '<button id="copy" type="button">Copy</button></div>'
        )
    else:
        add('<div class="box">Nothing was moved, so there is nothing to undo.</div>')
    notes = list(data.get("notes") or ())
    if notes:
        add('<div class="box"><b>Notes</b><ul>')
        add("".join(f"<li>{_t(n)}</li>" for n in notes))
        add("</ul></div>")
    add(
        f'<nav><a href="#duplicates">Duplicates ({len(dups)})</a>'
        f'<a href="#similar">Similar ({len(sims)})</a>'
        f'<a href="#skipped">Skipped ({len(skipped)})</a>'
        + (f'<a href="#problems">Not moved ({len(not_moved)})</a>' if not_moved else "")
        + '<input id="filter" type="search" placeholder="Filter groups by file name" '
        'aria-label="Filter groups by file name"></nav><main>'
    )
    add('<h2 id="duplicates">Duplicates</h2>')
    if dups:
        add(
            '<p class="sub">The kept copy stays where it was; the other copies are in '
            "duplicates/. Click a picture to open the file.</p>"
        )
        add('<div class="groups">')
        out.extend(group_html(g, k) for k, g in enumerate(dups))
        add("</div>")
    else:
        add('<p class="sub">No duplicates found.</p>')
    add('<h2 id="similar">Similar photos</h2>')
    if sims:
        add('<p class="sub">Photos that belong together, side by side, in similar/.</p>')
        add('<div class="groups">')
        out.extend(group_html(g, k) for k, g in enumerate(sims))
        add("</div>")
    else:
        add('<p class="sub">No similar groups in this sort.</p>')
    add(f'<h2 id="skipped">Skipped files ({len(skipped)})</h2>')
    if skipped:
        add(f"<details{' open' if len(skipped) <= 50 else ''}><summary>Show the list</summary>")
        add(files_table(skipped, "File") + "</details>")
    else:
        add('<p class="sub">Every file was read.</p>')
    if not_moved:
        add(f'<h2 id="problems">Not moved ({len(not_moved)})</h2>')
        add(files_table(not_moved, "File"))
    add(
        f"</main><footer>Made by ReMedia {_t(__version__)}. This page is a local file and loads "
        f"nothing from the network.</footer><script>{_JS}</script></body></html>\n"
    )
    return "".join(out)
