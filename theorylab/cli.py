"""Command line: ``theorylab list | verify | report``."""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from theorylab import claims as _claims

__all__ = ["main", "write_report", "claim_rows"]


class _UsageError(Exception):
    """A bad command-line value: printed as one line, exit status 2."""


# --------------------------------------------------------------------------- rows

def _verdict(rec: dict[str, Any] | None) -> str:
    return rec["verdict"] if rec else "not run"


def claim_rows(fig_dir: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """One row per claim: its records per scale (seed 0), seed summaries and label,
    ordered with failures first (full-scale failures before smoke ones), then by paper."""
    fig = Path(fig_dir) if fig_dir is not None else _claims.figures_dir()
    rows = []
    for c in _claims.discover_claims():
        recs = {s: c.record(s, out_dir=fig) for s in _claims.SCALES}
        seeds = {s: c.seeds_summary(s, out_dir=fig) for s in ("smoke", "full")}
        fresh = {s: c.freshness(recs[s]) for s in _claims.SCALES}
        fresh.update({f"seeds_{s}": c.freshness(seeds[s]) for s in ("smoke", "full")})
        rows.append({"claim": c.id, "paper": c.paper, "statement": c.statement,
                     "label": c.label, "label_reason": c.label_reason, "scales": c.scales,
                     "records": recs, "seeds": seeds, "fresh": fresh})

    def rank(r: dict[str, Any]) -> tuple:
        full, smoke = _verdict(r["records"]["full"]), _verdict(r["records"]["smoke"])
        return (0 if full == "fail" else 1 if smoke == "fail" else 2, r["paper"], r["claim"])

    return sorted(rows, key=rank)


_MARK = {"stale": "*", "untracked": "?"}
MARK_NOTE = ("* = stale: the code this record ran has changed since (rerun it); "
             "? = untracked: recorded before code digests were kept")


def _mark(r: dict[str, Any], key: str) -> str:
    return _MARK.get(r.get("fresh", {}).get(key) or "", "")


def _seeds_text(summary: dict[str, Any] | None, mark: str = "") -> str:
    if not summary:
        return "-"
    return f"{summary['n_pass']}/{summary['n_seeds']}{mark}"


def _cell(r: dict[str, Any], scale: str) -> str:
    rec = r["records"][scale]
    if scale not in r["scales"]:
        return "n/a"
    return _verdict(rec)


def _mcell(r: dict[str, Any], scale: str) -> str:
    """The verdict with its freshness mark (``pass*`` stale, ``pass?`` untracked)."""
    return _cell(r, scale) + _mark(r, scale)


def _stale(rows: list[dict[str, Any]]) -> list[str]:
    return [f"{r['claim']} ({s})" for r in rows for s in _claims.SCALES
            if r.get("fresh", {}).get(s) == "stale"]


# --------------------------------------------------------------------------- list

def _cmd_list(args: argparse.Namespace) -> int:
    rows = claim_rows()
    if not rows:
        print(f"no claims found under {_claims.verify_dir()}")
        return 1
    w = max(len(r["claim"]) for r in rows)
    print(f"{'claim'.ljust(w)}  {'full':<8} {'smoke':<8} {'seeds':<6} {'label':<9} claim")
    for r in rows:
        print(f"{r['claim'].ljust(w)}  {_mcell(r, 'full'):<8} {_mcell(r, 'smoke'):<8} "
              f"{_seeds_text(r['seeds']['smoke'], _mark(r, 'seeds_smoke')):<6} "
              f"{r['label'] or '':<9} {r['statement']}")
    n_full_fail = sum(_cell(r, "full") == "fail" for r in rows)
    n_smoke_fail = sum(_cell(r, "smoke") == "fail" for r in rows)
    stale = _stale(rows)
    print(f"\n{len(rows)} claims; failing: {n_full_fail} at full scale, {n_smoke_fail} at smoke "
          "scale (failures listed first; 'seeds' = smoke seeds passing in the last --seeds run)")
    print(MARK_NOTE)
    if stale:
        print(f"{len(stale)} stale record(s): " + ", ".join(stale))
    return 0


# --------------------------------------------------------------------------- verify

def _check_dask(address: str) -> None:
    if address == "local":
        return
    if not re.fullmatch(r"(tcp://|tls://|inproc://)?[\w.\-\[\]:]+:\d+", address):
        raise _UsageError(f"--dask must be 'local' or a scheduler address such as "
                          f"tcp://host:8786, got {address!r}")
    from theorylab.sweep import dask_client

    try:
        with dask_client(address):
            pass
    except ConnectionError as exc:
        raise _UsageError(f"--dask: {exc}") from None


def _cmd_verify(args: argparse.Namespace) -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")
    if args.all and args.names:
        raise _UsageError("give claim names or --all, not both")
    if not args.all and not args.names:
        raise _UsageError("name at least one claim, or pass --all")
    if args.seed is not None and args.seed < 0:
        raise _UsageError(f"--seed must be an int >= 0, got {args.seed}")
    if args.seed is not None and args.seeds is not None:
        raise _UsageError("give --seed or --seeds, not both")
    seeds = None
    if args.seeds is not None:
        try:
            seeds = _claims.parse_seeds(args.seeds)
        except ValueError as exc:
            raise _UsageError(f"--{exc}") from None
    for opt in ("workers", "jobs"):
        v = getattr(args, opt)
        if v is not None and v < 1:
            raise _UsageError(f"--{opt} must be >= 1, got {v}")
    if args.dry_run and args.scale != "paper":
        raise _UsageError(f"--dry-run needs --scale paper, got --scale {args.scale}")
    if args.device is not None:
        try:
            _claims.check_device(args.device)
        except ValueError as exc:
            raise _UsageError(f"--{exc}") from None
    infos = {c.id: c for c in _claims.discover_claims()}
    unknown = [n for n in args.names if n not in infos]
    if unknown:
        raise _UsageError(f"unknown claim(s): {', '.join(unknown)} (see `theorylab list`)")
    lacking = [n for n in args.names if args.scale not in infos[n].scales]
    if lacking:
        raise _UsageError(f"--scale {args.scale}: claim(s) without that scale: "
                          f"{', '.join(lacking)}")
    if args.dask is not None:
        _check_dask(args.dask)
    return _claims.verify_claims(
        None if args.all else args.names, scale=args.scale,
        seed=args.seed if args.seed is not None else 0, seeds=seeds, jobs=args.jobs or 1,
        workers=args.workers, dask_address=args.dask, device=args.device,
        dry_run=args.dry_run, out_dir=args.out, progress=not args.no_progress)


# --------------------------------------------------------------------------- report

def _fmt(v: Any) -> str:
    return _claims._num(v)


def _secs(v: Any) -> str:
    if v is None:
        return "-"
    v = float(v)
    if v >= 60:
        return f"{v / 60:.1f} min"
    return f"{v:.1f} s"


def _rt(rec: dict[str, Any] | None) -> str:
    """A record's runtime as the table shows it: the run's time from scratch (points the
    sweep cache served are counted at their recorded compute time); "≥" when some cached
    points carry no time."""
    from theorylab.claims import uncached_runtime

    v, lower = uncached_runtime(rec)
    return ("≥ " if lower else "") + _secs(v)


def _rt_detail(rec: dict[str, Any]) -> str:
    """``runtime_s``, and when the sweep cache served points, how many and the time from
    scratch."""
    n = int(rec.get("points_cached", 0) or 0)
    if not n:
        return _secs(rec.get("runtime_s"))
    tot = n + int(rec.get("points_computed", 0) or 0)
    return (f"{_secs(rec.get('runtime_s'))} with {n} of {tot} sweep points from the cache, "
            f"{_rt(rec)} from scratch")


def _env_text(rec: dict[str, Any]) -> str:
    """The machine and libraries a record ran on, in one line ("" for records without it)."""
    env = rec.get("environment")
    if not isinstance(env, dict):
        return ""
    cpu = str(env.get("cpu", "unknown CPU"))
    if env.get("torch_cpu_capability"):
        cpu += f" ({env['torch_cpu_capability']})"
    if env.get("gpu"):
        cuda = f", CUDA {env['cuda']}" if env.get("cuda") else ""
        cpu = f"{env['gpu']} GPU{cuda}, with {cpu}"
    libs = ", ".join(f"{k} {env[k]}" for k in ("python", "numpy", "scipy", "numba", "torch")
                     if env.get(k) and env[k] != "absent")
    return f"{cpu}; {libs}" if libs else cpu


def _anchor(s: str) -> str:
    return re.sub(r"[^a-z0-9_-]", "-", s.lower())


def _redraw_figures(rows: list[dict[str, Any]], fig: Path) -> int:
    """Draw every record's PNG from its stored figure spec; returns how many were drawn."""
    n = 0
    for r in rows:
        for scale, rec in r["records"].items():
            if rec and rec.get("figure_spec"):
                png = _claims.record_path(r["claim"], scale, 0, fig).with_suffix(".png")
                if _claims.render_record_figure(rec, png):
                    n += 1
    return n


def _figure_file(r: dict[str, Any], scale: str, fig: Path) -> str | None:
    rec = r["records"][scale]
    if not rec or not rec.get("figure"):
        return None
    return rec["figure"] if (fig / rec["figure"]).is_file() else None


def _suites(fig: Path) -> dict[str, dict[str, Any]]:
    out = {}
    for s in _claims.SCALES:
        p = fig / f"suite_{s}.json"
        if p.is_file():
            try:
                out[s] = json.loads(p.read_text())
            except (OSError, json.JSONDecodeError):
                pass
    return out


def _headline(rows: list[dict[str, Any]]) -> tuple[str, list[str], list[str]]:
    n = len(rows)
    parts = []
    for s in ("full", "smoke", "paper"):
        cells = [_cell(r, s) for r in rows]
        if s == "paper" and not any(c in ("pass", "fail") for c in cells):
            continue
        parts.append(f"{s} scale: {cells.count('pass')} pass, {cells.count('fail')} fail, "
                     f"{cells.count('not run')} not run")
    full_fail = [r["claim"] for r in rows if _cell(r, "full") == "fail"]
    smoke_fail = [r["claim"] for r in rows if _cell(r, "smoke") == "fail"]
    stale = _stale(rows)
    tail = (f" {len(stale)} record(s) stale (code changed since they ran): "
            + ", ".join(stale) + "." if stale else "")
    return f"{n} claims — " + "; ".join(parts) + "." + tail + " " + MARK_NOTE + ".", \
        full_fail, smoke_fail


def write_report(fig_dir: str | os.PathLike | None = None, *, update_readme: bool = True,
                 redraw: bool = True) -> tuple[Path, Path]:
    """Write ``REPORT.md`` and ``report.html`` from the claims' JSON records.

    Every figure is first redrawn from the figure spec stored in its record (no claim is
    rerun), so a figure always shows its record's numbers. The HTML page opens with a
    headline (claims, not runs), the failures, and a summary table with one row per claim
    linking to its section; sections are grouped by paper and show both scales.
    """
    fig = Path(fig_dir) if fig_dir is not None else _claims.figures_dir()
    fig.mkdir(parents=True, exist_ok=True)
    rows = claim_rows(fig)
    if redraw:
        _redraw_figures(rows, fig)
    head, full_fail, smoke_fail = _headline(rows)
    suites = _suites(fig)
    suite_lines = [f"Last `verify --all --scale {s}`: wall time {_secs(d['wall_s'])} with "
                   f"jobs={d.get('jobs', 1)} ({d.get('backend', '?')}), {d['n_claims']} claims, "
                   f"{d['n_failed']} failed ({d.get('timestamp', '')})."
                   for s, d in suites.items()]
    md = ["# theorylab claims report", "", head, ""]
    if full_fail or smoke_fail:
        md.append("**Failing:** " + ", ".join(
            [f"[{c}](#{_anchor(c)}) (full)" for c in full_fail]
            + [f"[{c}](#{_anchor(c)}) (smoke)" for c in smoke_fail]))
        md.append("")
    md += suite_lines + ([""] if suite_lines else [])
    md += ["| claim | paper | label | full | smoke | smoke seeds | full runtime | "
           "smoke runtime |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        rf, rs = r["records"]["full"], r["records"]["smoke"]
        md.append(f"| [{r['claim']}](#{_anchor(r['claim'])}) | {r['paper']} | "
                  f"{r['label'] or ''} | **{_mcell(r, 'full')}** | **{_mcell(r, 'smoke')}** | "
                  f"{_seeds_text(r['seeds']['smoke'], _mark(r, 'seeds_smoke'))} | "
                  f"{_rt(rf)} | {_rt(rs)} |")
    md.append("")
    glossary_md, glossary_html = _metric_glossary()
    md += glossary_md
    papers: dict[str, list[dict[str, Any]]] = {}
    for r in sorted(rows, key=lambda r: (r["paper"], r["claim"])):
        papers.setdefault(r["paper"], []).append(r)

    h_toc = []
    h_body = []
    for paper, prs in papers.items():
        md += [f"## {paper}", ""]
        h_toc.append(f"<li><a href='#{_anchor(paper)}'>{html.escape(paper)}</a> — " + ", ".join(
            f"<a href='#{_anchor(r['claim'])}'>{html.escape(r['claim'])}</a>" for r in prs)
            + "</li>")
        h_body.append(f"<h2 id='{_anchor(paper)}'>{html.escape(paper)}</h2>")
        for r in prs:
            md_sec, h_sec = _claim_section(r, fig)
            md += md_sec
            h_body.append(h_sec)
    md_path = fig / "REPORT.md"
    md_path.write_text("\n".join(md) + "\n")

    trs = []
    for r in rows:
        rf, rs = r["records"]["full"], r["records"]["smoke"]
        cells = [f"<a href='#{_anchor(r['claim'])}'>{html.escape(r['claim'])}</a>",
                 html.escape(r["paper"]), html.escape(r["label"] or ""),
                 _badge(_mcell(r, "full")), _badge(_mcell(r, "smoke")),
                 _seeds_text(r["seeds"]["smoke"], _mark(r, "seeds_smoke")),
                 _rt(rf), _rt(rs)]
        trs.append("<tr class='claim-row'>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    fails = ""
    if full_fail or smoke_fail:
        fails = ("<p class='failing'><b>Failing:</b> " + ", ".join(
            [f"<a href='#{_anchor(c)}'>{html.escape(c)}</a> (full)" for c in full_fail]
            + [f"<a href='#{_anchor(c)}'>{html.escape(c)}</a> (smoke)" for c in smoke_fail])
            + "</p>")
    style = ("body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}"
             "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;"
             "padding:2px 6px;font-size:90%;text-align:left}.pass{color:#080;font-weight:bold}"
             ".fail{color:#b00;font-weight:bold}.notrun,.na{color:#888}td{white-space:nowrap}img{max-width:100%}"
             ".note{color:#555;font-style:italic}.figs{display:flex;flex-wrap:wrap;gap:1em}"
             ".figs figure{flex:1 1 480px;margin:0}section{border-top:1px solid #ddd;"
             "margin-top:1.5em}h3 small{font-weight:normal;color:#555}")
    script = ("<script>window.addEventListener('load',function(){var im=document.images,ok=0;"
              "for(var i=0;i<im.length;i++){if(im[i].complete&&im[i].naturalWidth>0)ok++;}"
              "document.body.setAttribute('data-images',ok+'/'+im.length);"
              "document.body.setAttribute('data-claim-rows',"
              "document.querySelectorAll('#summary tr.claim-row').length);});</script>")
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>theorylab report</title>"
            f"<style>{style}</style></head><body><h1>theorylab claims report</h1>"
            f"<p class='headline'>{html.escape(head)}</p>{fails}"
            + "".join(f"<p>{html.escape(s)}</p>" for s in suite_lines)
            + "<h2>Summary</h2><table id='summary'><thead><tr><th>claim</th><th>paper</th>"
            "<th>label</th><th>full</th><th>smoke</th><th>smoke seeds</th>"
            "<th>full runtime</th><th>smoke runtime</th></tr></thead><tbody>"
            + "".join(trs) + "</tbody></table>" + glossary_html
            + "<h2>Contents</h2><ul class='toc'>"
            + "".join(h_toc) + "</ul>" + "\n".join(h_body) + script + "</body></html>\n")
    html_path = fig / "report.html"
    html_path.write_text(page)
    if update_readme:
        update_readme_table(rows, suites)
    return md_path, html_path


def _metric_glossary() -> tuple[list[str], str]:
    """The unlearning metrics with their direction and ideal value (Markdown lines, HTML),
    from :data:`theorylab.unlearning.reporting.METRICS`."""
    from theorylab.unlearning.reporting import METRICS

    title = "How to read the unlearning metrics"
    intro = ("θ_r: models retrained from scratch without the forget set D_f (the oracles); "
             "D_r: retain set, D_t: test set. A method's number is read as its gap to θ_r's "
             "mean, against the spread of θ_r over seeds.")
    md = [f"## {title}", "", intro, "", "| key | metric | direction | ideal |",
          "|---|---|---|---|"]
    md += [f"| `{k}` | {m.label} | {m.direction} | {m.ideal} |" for k, m in METRICS.items()]
    h = (f"<h2 id='metrics'>{html.escape(title)}</h2><p>{html.escape(intro)}</p>"
         "<table id='metric-glossary'><tr><th>key</th><th>metric</th><th>direction</th>"
         "<th>ideal</th></tr>"
         + "".join(f"<tr><td><code>{html.escape(k)}</code></td><td>{html.escape(m.label)}</td>"
                   f"<td>{html.escape(m.direction)}</td><td>{html.escape(m.ideal)}</td></tr>"
                   for k, m in METRICS.items()) + "</table>")
    return md + [""], h


def _badge(v: str) -> str:
    cls = {"pass": "pass", "fail": "fail", "not run": "notrun", "n/a": "na"}.get(
        v.rstrip("*?"), "")
    title = {"*": " title='stale: the code changed after this run'",
             "?": " title='untracked: recorded before code digests were kept'"}.get(v[-1:], "")
    return f"<span class='{cls}'{title}>{html.escape(v)}</span>"


def _claim_section(r: dict[str, Any], fig: Path) -> tuple[list[str], str]:
    cid = r["claim"]
    label = f" — {r['label']}" if r["label"] else ""
    md = [f"### {cid}", "", f"<a id='{_anchor(cid)}'></a>", "",
          f"*Claim:* {r['statement']}  ",
          f"*Verdicts:* full **{_mcell(r, 'full')}**, smoke **{_mcell(r, 'smoke')}**"
          + (f", smoke seeds {_seeds_text(r['seeds']['smoke'], _mark(r, 'seeds_smoke'))}"
             if r["seeds"]["smoke"] else "") + label + "  "]
    if r["label"]:
        md.append(f"*{r['label'].capitalize()}:* {r['label_reason']}  ")
    md.append("")
    h = [f"<section id='{_anchor(cid)}'><h3>{html.escape(cid)} "
         f"<small>full {_badge(_mcell(r, 'full'))} · smoke {_badge(_mcell(r, 'smoke'))}"
         f"{html.escape(label)}</small></h3>",
         f"<p><b>Claim:</b> {html.escape(r['statement'])}</p>"]
    if r["label"]:
        h.append(f"<p class='note'><b>{html.escape(r['label'])}:</b> "
                 f"{html.escape(r['label_reason'])}</p>")
    figs = []
    for scale in ("full", "smoke", "paper"):
        rec = r["records"][scale]
        if rec is None:
            if scale != "paper" and scale in r["scales"]:
                md += [f"**{scale}:** not run.", ""]
                h.append(f"<p><b>{scale}:</b> not run.</p>")
            continue
        md += [f"**{scale}** — **{rec['verdict']}** (seed {rec.get('seed', 0)}, "
               f"{_rt_detail(rec)}, {rec.get('device', 'cpu')}, "
               f"{rec.get('timestamp', '')})", ""]
        h.append(f"<h4>{scale}: {_badge(rec['verdict'])} <small>(seed {rec.get('seed', 0)}, "
                 f"{html.escape(_rt_detail(rec))}, {html.escape(rec.get('timestamp', ''))})"
                 "</small></h4>")
        env = _env_text(rec)
        if env:
            md += [f"Computed on: {env}.", ""]
            h.append(f"<p class='env'>Computed on: {html.escape(env)}.</p>")
        if rec.get("checks"):
            md += ["| check | measured | expected | tolerance | kind | pass |",
                   "|---|---|---|---|---|---|"]
            h.append("<table><tr><th>check</th><th>measured</th><th>expected</th>"
                     "<th>tolerance</th><th>kind</th><th>pass</th></tr>")
            for c in rec["checks"]:
                md.append(f"| {c['name']} | {_fmt(c['measured'])} | {_fmt(c['expected'])} | "
                          f"{_fmt(c['tolerance'])} | {c['kind']} | "
                          f"{'yes' if c['passed'] else 'NO'} |")
                h.append("<tr>" + "".join(
                    f"<td>{html.escape(str(x))}</td>" for x in
                    (c["name"], _fmt(c["measured"]), _fmt(c["expected"]), _fmt(c["tolerance"]),
                     c["kind"], "yes" if c["passed"] else "NO")) + "</tr>")
            h.append("</table>")
            md.append("")
        for note in rec.get("caveats", []):
            md.append(f"> NOTE: {note}")
            h.append(f"<p class='note'>NOTE: {html.escape(note)}</p>")
        if rec.get("caveats"):
            md.append("")
        f = _figure_file(r, scale, fig)
        if f:
            md += [f"![{cid} ({scale})]({f})", ""]
            figs.append(f"<figure><img alt='{html.escape(cid)} ({scale})' "
                        f"src='{html.escape(f)}'><figcaption>{scale}</figcaption></figure>")
        elif rec.get("figure_spec") is None:
            msg = (f"No {scale}-scale figure: this record predates figure capture; rerun "
                   f"`theorylab verify {cid} --scale {scale}`.")
            md += [f"*{msg}*", ""]
            h.append(f"<p class='note'>{html.escape(msg)}</p>")
    if figs:
        h.append("<div class='figs'>" + "".join(figs) + "</div>")
    h.append("</section>")
    return md, "\n".join(h)


_START, _END = "<!-- claims-table:start -->", "<!-- claims-table:end -->"
_RT_START, _RT_END = "<!-- runtimes:start -->", "<!-- runtimes:end -->"


def _replace_between(text: str, start: str, end: str, body: list[str]) -> str:
    if start not in text or end not in text:
        return text
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return head + start + "\n" + "\n".join(body) + "\n" + end + tail


def update_readme_table(rows: list[dict[str, Any]],
                        suites: dict[str, dict[str, Any]] | None = None) -> bool:
    """Rewrite the README's claims table and runtime table between their markers."""
    readme = _claims.project_root() / "README.md"
    if not readme.is_file():
        return False
    text = readme.read_text()
    lines = ["| claim | paper | claim in one line | full | smoke | label |",
             "|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: r["claim"]):
        stmt = r["statement"].replace("|", "\\|")
        lines.append(f"| `{r['claim']}` | {r['paper']} | {stmt} | **{_mcell(r, 'full')}** | "
                     f"**{_mcell(r, 'smoke')}** | {r['label'] or ''} |")
    lines += ["", MARK_NOTE + "."]
    text = _replace_between(text, _START, _END, lines)
    rt = ["| claim | smoke | full |", "|---|---|---|"]
    tot = {"smoke": 0.0, "full": 0.0}
    from theorylab.claims import uncached_runtime

    for r in sorted(rows, key=lambda r: -(uncached_runtime(r["records"]["full"])[0] or 0.0)):
        vals = []
        for s in ("smoke", "full"):
            rec = r["records"][s]
            v = uncached_runtime(rec)[0]
            if v is not None:
                tot[s] += v
            vals.append(_rt(rec))
        rt.append(f"| `{r['claim']}` | {vals[0]} | {vals[1]} |")
    rt.append(f"| **sum of claim runtimes** | {_secs(tot['smoke'])} | {_secs(tot['full'])} |")
    for s, d in (suites or {}).items():
        rt.append(f"| **wall time of `verify --all --scale {s} --jobs {d.get('jobs', 1)}`** "
                  f"| {_secs(d['wall_s']) if s == 'smoke' else ''} | "
                  f"{_secs(d['wall_s']) if s == 'full' else ''} |")
    text = _replace_between(text, _RT_START, _RT_END, rt)
    readme.write_text(text)
    return True


def _cmd_report(args: argparse.Namespace) -> int:
    md, page = write_report(args.out, update_readme=not args.no_readme)
    print(f"wrote {md} and {page}")
    return 0


# --------------------------------------------------------------------------- parser

def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog or "theorylab",
                                description="Solvers and executable claims for ML-theory papers.")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="every claim with its full and smoke verdicts, failures first")
    v = sub.add_parser("verify", help="run claims, write records and figures, exit non-zero "
                       "on failure")
    v.add_argument("names", nargs="*", help="claim ids (see `theorylab list`)")
    v.add_argument("--all", action="store_true", help="run every claim")
    v.add_argument("--scale", choices=_claims.SCALES, default="smoke",
                   help="smoke (seconds), full (the paper's figure; see the README's runtime "
                   "table) or paper (torch claims at the paper's sizes, for a GPU)")
    v.add_argument("--seed", type=int, default=None, help="one seed (default 0)")
    v.add_argument("--seeds", default=None, metavar="RANGE",
                   help="several seeds, e.g. 0-19 or 1,4,7: reports how many pass per claim")
    v.add_argument("--jobs", type=int, default=None,
                   help="claims run at once in local processes (longest first)")
    v.add_argument("--workers", type=int, default=None,
                   help="local worker processes for the sweeps inside a claim")
    v.add_argument("--dask", default=None, metavar="ADDRESS",
                   help="run on this Dask scheduler ('local' starts a LocalCluster): claims are "
                   "spread over its workers (sweeps inside one claim when only one runs)")
    v.add_argument("--device", default=None, help="torch device for the torch claims: cpu, "
                   "cuda or cuda:K (default cpu)")
    v.add_argument("--dry-run", action="store_true",
                   help="with --scale paper: build the paper configuration and take one step "
                   "on a tiny slice (writes nothing)")
    v.add_argument("--out", default=None, help="output folder (default: figures/)")
    v.add_argument("--no-progress", action="store_true",
                   help="no progress bars (they are also off when stderr is not a terminal)")
    r = sub.add_parser("report", help="redraw figures from the records; write figures/REPORT.md "
                       "and figures/report.html")
    r.add_argument("--out", default=None, help="figures folder (default: figures/)")
    r.add_argument("--no-readme", action="store_true",
                   help="do not rewrite the README's generated tables")
    return p


def main(argv: Sequence[str] | None = None, *, prog: str | None = None) -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    cmds = {"list": _cmd_list, "verify": _cmd_verify, "report": _cmd_report}
    try:
        return cmds[args.command](args)
    except _UsageError as exc:
        print(f"{parser.prog} {args.command}: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # `theorylab list | head`: the reader left; say nothing more.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"\n{parser.prog}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
