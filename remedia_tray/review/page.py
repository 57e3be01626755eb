"""The review page as pure rendering: a view model (view.py) in, one self-contained HTML string out.

No file is read or written here, and nothing is decided: every word and link is in the view;
this module escapes it and lays it out. writer.py makes the thumbnails and writes the page.
"""

from __future__ import annotations

import base64
import hashlib
import html

from .._version import __version__
from ..core.wording import shown
from .view import FileRow, Form, GroupView, MemberView, PageView, SectionView, Served, SetBadge

__all__ = ["SERVED_CSP", "Served", "render_page"]

# ---------------------------------------------------------------- escaping


def _t(s: object) -> str:
    """Text for HTML content or a quoted attribute value, control characters escaped (shown)."""
    return html.escape(shown(s), quote=True)


def _u(url: str) -> str:
    """A URL (percent-encoded already) in a quoted attribute."""
    return html.escape(url, quote=True)


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
.badge{position:absolute;z-index:1;top:10px;left:10px;color:#fff;font-size:11px;font-weight:700;
padding:2px 9px;border-radius:999px;text-transform:uppercase;letter-spacing:.03em}
.kept .badge{background:var(--kept)}
.best .badge{background:var(--best)}
.sets{display:flex;gap:4px;flex-wrap:wrap;margin-top:6px}
.set{background:var(--mute);color:var(--card);font-size:10px;font-weight:700;padding:1px 6px;
border-radius:4px;letter-spacing:.03em;cursor:help}
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
.group.new,.group.grown{border-color:var(--accent)}
.mark{color:var(--accent);font-weight:600;font-size:12px}
.thumb{position:relative}
.poster{position:relative;display:inline-block;min-width:0;line-height:0}
.poster img{max-height:170px}
.row .poster img{max-height:250px}
.play{position:absolute;left:6px;bottom:6px;line-height:1.45;background:rgba(0,0,0,.72);color:#fff;font-size:12px;
font-weight:700;padding:1px 8px;border-radius:4px;font-variant-numeric:tabular-nums}
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


def _form(form: Form) -> str:
    # The real names, whatever their bytes: the server decodes them once more (server._body).
    fields = f'<input type="hidden" name="group" value="{_u(form.group)}">'
    if form.path is not None:
        fields += f'<input type="hidden" name="path" value="{_u(form.path)}">'
    buttons = "".join(
        f'<button type="submit" name="action" value="{a}" data-action="{a}">{_t(label)}</button>'
        for a, label in form.buttons
    )
    return f'<form class="act" method="post" action="{_u(form.url)}">{fields}{buttons}</form>'


def _sets(badges: tuple[SetBadge, ...]) -> str:
    """The badges of a picture's media set (its companions are in their titles)."""
    if not badges:
        return ""
    return (
        '<span class="sets">'
        + "".join(
            f'<span class="set" data-role="{_t(b.role)}" title="{_t(b.title)}">{_t(b.label)}</span>'
            for b in badges
        )
        + "</span>"
    )


def _picture(m: MemberView) -> str:
    """The tile's preview, or why it has none; a video's under its play badge."""
    video = m.video
    if video is None:
        if m.thumb is None:
            return f'<span class="noprev">no preview<br>{_t(m.no_preview)}</span>'
        return f'<img src="{_u(m.thumb)}" alt="{_t(m.name)}" loading="lazy" decoding="async">'
    badge = f'<span class="play" aria-hidden="true">{_t(video.badge)}</span>'
    if m.thumb is None:  # a placeholder tile that still says "video" to a screen reader
        label = f"{video.alt}: {m.no_preview}"
        return (
            f'<span class="noprev" role="img" aria-label="{_t(label)}">'
            f"{_t(video.placeholder)}<br>{_t(m.no_preview)}</span>{badge}"
        )
    poster = f'<img src="{_u(m.thumb)}" alt="{_t(video.alt)}" loading="lazy" decoding="async">'
    return f'<span class="poster">{poster}{badge}</span>'  # the badge on the poster's corner


def _member(m: MemberView) -> str:
    picture = _picture(m)
    where = (
        f'<span class="fail">{_t(m.where)}</span>' if m.failed else f"<span>{_t(m.where)}</span>"
    )
    return (
        f'<figure class="{m.css}" data-path="{_t(m.rel)}"'
        + (' data-media="video"' if m.video else "")
        + (' data-new="1"' if m.new else "")
        + ">"
        + (f'<span class="badge">{m.badge}</span>' if m.badge else "")
        + f'<a class="thumb" href="{_u(m.href)}" target="_blank" rel="noopener" '
        f'title="Open {_t(m.name)}">{picture}</a>'
        + _sets(m.sets)
        + f'<figcaption><span class="name">{_t(m.name)}</span><span>{_t(m.facts)}</span>'
        + (f"<span>{_t(m.more)}</span>" if m.more else "")
        + (f'<span class="mark">{_t(m.new)}</span>' if m.new else "")
        + f"{where}</figcaption>"
        + (_form(m.form) if m.form else "")
        + "</figure>"
    )


def _group(g: GroupView) -> str:
    head = f'<a href="{_u(g.href)}">{_t(g.title)}</a>' if g.href else _t(g.title)
    change = ""
    if g.change:
        change = f'<div class="mark">{_t(g.change_words)}</div>'
    return (
        f'<section class="group {g.kind}{" " + g.change if g.change else ""}" id="{g.anchor}" '
        f'data-group="{_t(g.title)}" data-names="{_t(g.names)}"'
        + (f' data-change="{g.change}"' if g.change else "")
        + (f' data-media="{g.media}"' if g.media != "photo" else "")
        + f'><h3>{head}</h3>{change}<div class="sub">{_t(g.sub)}</div>'
        f'<div class="why">{_t(g.why)}</div><div class="{g.layout}">'
        + "".join(_member(m) for m in g.members)
        + "</div>"
        + (_form(g.undo) if g.undo else "")
        + "</section>"
    )


def _section(s: SectionView) -> str:
    out = f'<h2 id="{s.kind}">{_t(s.heading)}</h2>'
    if not s.groups:
        return out + f'<p class="sub">{_t(s.empty)}</p>'
    return (
        out
        + f'<p class="sub">{_t(s.intro)}</p><div class="groups">'
        + "".join(_group(g) for g in s.groups)
        + "</div>"
    )


def _files_table(rows: tuple[FileRow, ...]) -> str:
    body = "".join(
        f'<tr><td><a href="{_u(r.href)}">{_t(r.shown)}</a></td><td>{_t(r.reason)}</td></tr>'
        for r in rows
    )
    return f"<table><tr><th>File</th><th>Why</th></tr>{body}</table>"


def _head(view: PageView) -> str:
    served = view.served
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{SERVED_CSP if served else _CSP}">'
        # Served, form posts must carry the page's Origin (no-referrer would send "null").
        f'<meta name="referrer" content="{"same-origin" if served else "no-referrer"}">'
        # Served: the favicon request carries the token too.
        + (f'<link rel="icon" href="{_u(served.url("/favicon.ico"))}">' if served else "")
        + '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_t(view.title)}</title><style>{_CSS}</style></head><body>"
        f'<header><h1>{_t(view.title)}</h1><div class="meta">{_t(view.folder)}</div>'
        f'<div class="meta">{_t(view.sorted_line)}</div></header>'
    )


def _boxes(view: PageView) -> str:
    out = (
        '<dl class="totals">'
        + "".join(
            f'<div class="{t.css}"><dt>{_t(t.label)}</dt><dd>{_t(t.value)}</dd></div>'
            for t in view.totals
        )
        + "</dl>"
    )
    if view.undone:
        out += '<div class="box undone" id="undone"><b>Undone</b><ul>'
        out += "".join(f'<li data-sort="{_t(n)}">{_t(w)}</li>' for n, w in view.undone)
        out += "</ul></div>"
    if view.undo is not None:
        out += (
            '<div class="box undo"><span>Undo puts back everything the most recent sort of this '
            f'folder moved:</span><code id="undo-cmd">{_t(view.undo)}</code>'
            '<button id="copy" type="button">Copy</button></div>'
        )
    else:
        out += '<div class="box">Nothing was moved, so there is nothing to undo.</div>'
    if view.changes:
        out += f'<div class="box" id="changes">{_t(view.changes)}</div>'
    if view.notes:
        out += '<div class="box"><b>Notes</b><ul>'
        out += "".join(f"<li>{_t(n)}</li>" for n in view.notes)
        out += "</ul></div>"
    return out


def _nav(view: PageView) -> str:
    links = "".join(f'<a href="#{s.kind}">{_t(s.nav)} ({len(s.groups)})</a>' for s in view.sections)
    links += f'<a href="#skipped">Skipped ({len(view.skipped)})</a>'
    if view.failed:
        links += f'<a href="#problems">Not moved ({len(view.failed)})</a>'
    return (
        f"<nav>{links}"
        '<input id="filter" type="search" placeholder="Filter groups by file name" '
        'aria-label="Filter groups by file name"></nav>'
    )


def _lists(view: PageView) -> str:
    n = len(view.skipped)
    out = f'<h2 id="skipped">Skipped files ({n})</h2>'
    if view.skipped:
        out += f"<details{' open' if n <= 50 else ''}><summary>Show the list</summary>"
        out += _files_table(view.skipped) + "</details>"
    else:
        out += '<p class="sub">Every file was read.</p>'
    if view.failed:
        out += f'<h2 id="problems">Not moved ({len(view.failed)})</h2>'
        out += _files_table(view.failed)
    return out


def render_page(view: PageView) -> str:
    """The page's HTML, from its view model (see view.page_view)."""
    return (
        _head(view)
        + _boxes(view)
        + _nav(view)
        + "<main>"
        + "".join(_section(s) for s in view.sections)
        + _lists(view)
        + f"</main><footer>Made by ReMedia {_t(__version__)}. This page is a local file and "
        f"loads nothing from the network.</footer><script>{_JS}</script></body></html>\n"
    )
