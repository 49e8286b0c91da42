"""Command line: ``theorylab list | verify | report``."""

from __future__ import annotations

import argparse
import base64
import html
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from theorylab import claims as _claims

__all__ = ["main", "write_report"]


def _cmd_list(args: argparse.Namespace) -> int:
    infos = _claims.discover_claims()
    if not infos:
        print(f"no claims found under {_claims.verify_dir()}")
        return 1
    w = max(len(c.id) for c in infos)
    print(f"{'claim'.ljust(w)}  {'paper':<34} {'last verdict':<14} claim")
    for c in infos:
        last = c.last_result()
        verdict = f"{last['verdict']} ({last['scale']})" if last else "not run"
        print(f"{c.id.ljust(w)}  {c.paper:<34} {verdict:<14} {c.statement}")
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")
    if args.all and args.names:
        print("theorylab verify: give claim names or --all, not both", file=sys.stderr)
        return 2
    if not args.all and not args.names:
        print("theorylab verify: name at least one claim, or pass --all", file=sys.stderr)
        return 2
    known = {c.id for c in _claims.discover_claims()}
    unknown = [n for n in args.names if n not in known]
    if unknown:
        print(f"theorylab verify: unknown claim(s): {', '.join(unknown)} "
              "(see `theorylab list`)", file=sys.stderr)
        return 2
    if args.workers is not None and args.workers < 1:
        print(f"theorylab verify: --workers must be >= 1, got {args.workers}", file=sys.stderr)
        return 2
    return _claims.verify_claims(None if args.all else args.names, scale=args.scale,
                                 seed=args.seed, workers=args.workers, dask_address=args.dask,
                                 out_dir=args.out, progress=not args.no_progress)


def _load_results(fig_dir: Path) -> list[dict]:
    rows = []
    infos = {c.id: c for c in _claims.discover_claims()}
    for cid in sorted(infos):
        recs = []
        for scale in _claims.SCALES:
            p = fig_dir / f"{cid}_{scale}.json"
            if p.is_file():
                try:
                    recs.append(json.loads(p.read_text()))
                except (OSError, json.JSONDecodeError):
                    pass
        if not recs:
            rows.append({"claim": cid, "paper": infos[cid].paper,
                         "statement": infos[cid].statement, "verdict": "not run"})
        rows.extend(recs)
    return rows


def _fmt(v) -> str:
    return _claims._num(v)


def write_report(fig_dir: str | os.PathLike | None = None) -> tuple[Path, Path]:
    """Write ``REPORT.md`` and a self-contained ``report.html`` from the claims' JSON."""
    fig = Path(fig_dir) if fig_dir is not None else _claims.figures_dir()
    fig.mkdir(parents=True, exist_ok=True)
    rows = _load_results(fig)
    n_pass = sum(r.get("verdict") == "pass" for r in rows)
    n_fail = sum(r.get("verdict") == "fail" for r in rows)
    md = ["# theorylab claims report", "",
          f"{n_pass} passed, {n_fail} failed, "
          f"{sum(r.get('verdict') == 'not run' for r in rows)} not run.", "",
          "| claim | paper | scale | verdict | runtime (s) |", "|---|---|---|---|---|"]
    for r in rows:
        md.append(f"| {r['claim']} | {r['paper']} | {r.get('scale', '-')} | "
                  f"**{r['verdict']}** | {r.get('runtime_s', '-')} |")
    md.append("")
    body = []
    for r in rows:
        md += [f"## {r['claim']} ({r.get('scale', '-')})", "", f"*Paper:* `{r['paper']}`  ",
               f"*Claim:* {r['statement']}  ", f"*Verdict:* **{r['verdict']}**"
               + (f" (seed {r['seed']})" if "seed" in r else ""), ""]
        h = [f"<section><h2>{html.escape(r['claim'])} "
             f"<small>({html.escape(str(r.get('scale', '-')))})</small> "
             f"<span class='{r['verdict'].replace(' ', '')}'>{r['verdict']}</span></h2>",
             f"<p><b>Paper:</b> <code>{html.escape(r['paper'])}</code><br>"
             f"<b>Claim:</b> {html.escape(r['statement'])}</p>"]
        if r.get("checks"):
            md += ["| check | measured | expected | tolerance | kind | pass |",
                   "|---|---|---|---|---|---|"]
            h.append("<table><tr><th>check</th><th>measured</th><th>expected</th>"
                     "<th>tolerance</th><th>kind</th><th>pass</th></tr>")
            for c in r["checks"]:
                md.append(f"| {c['name']} | {_fmt(c['measured'])} | {_fmt(c['expected'])} | "
                          f"{_fmt(c['tolerance'])} | {c['kind']} | "
                          f"{'yes' if c['passed'] else 'NO'} |")
                h.append("<tr>" + "".join(
                    f"<td>{html.escape(str(x))}</td>" for x in
                    (c["name"], _fmt(c["measured"]), _fmt(c["expected"]), _fmt(c["tolerance"]),
                     c["kind"], "yes" if c["passed"] else "NO")) + "</tr>")
            h.append("</table>")
            md.append("")
        for note in r.get("caveats", []):
            md.append(f"> NOTE: {note}")
            h.append(f"<p class='note'>NOTE: {html.escape(note)}</p>")
        if r.get("caveats"):
            md.append("")
        if r.get("figure") and (fig / r["figure"]).is_file():
            md += [f"![{r['claim']}]({r['figure']})", ""]
            data = base64.b64encode((fig / r["figure"]).read_bytes()).decode()
            h.append(f"<img alt='{html.escape(r['claim'])}' src='data:image/png;base64,{data}'>")
        h.append("</section>")
        body.append("\n".join(h))
    md_path = fig / "REPORT.md"
    md_path.write_text("\n".join(md) + "\n")
    style = ("body{font-family:sans-serif;max-width:1000px;margin:auto;padding:1em}"
             "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;"
             "padding:2px 6px;font-size:90%}.pass{color:#080}.fail{color:#b00}"
             ".notrun{color:#888}img{max-width:100%}.note{color:#555;font-style:italic}")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>theorylab report</title>"
            f"<style>{style}</style></head><body><h1>theorylab claims report</h1>"
            f"<p>{n_pass} passed, {n_fail} failed.</p>" + "\n".join(body) + "</body></html>\n")
    html_path = fig / "report.html"
    html_path.write_text(page)
    update_readme_table(rows)
    return md_path, html_path


_START, _END = "<!-- claims-table:start -->", "<!-- claims-table:end -->"


def update_readme_table(rows: list[dict]) -> bool:
    """Rewrite the claims table between the README's markers (if it has them)."""
    readme = _claims.project_root() / "README.md"
    if not readme.is_file():
        return False
    text = readme.read_text()
    if _START not in text or _END not in text:
        return False
    by_claim: dict[str, dict] = {}
    for r in rows:  # prefer the full-scale verdict when both exist
        cur = by_claim.get(r["claim"])
        if cur is None or (r.get("scale") == "full" and cur.get("scale") != "full"):
            by_claim[r["claim"]] = r
    lines = ["| claim | paper | claim in one line | latest verdict |", "|---|---|---|---|"]
    for cid in sorted(by_claim):
        r = by_claim[cid]
        v = r["verdict"] + (f" ({r['scale']})" if r.get("scale") else "")
        stmt = r["statement"].replace("|", "\\|")
        lines.append(f"| `{cid}` | {r['paper']} | {stmt} | **{v}** |")
    head, rest = text.split(_START, 1)
    _, tail = rest.split(_END, 1)
    readme.write_text(head + _START + "\n" + "\n".join(lines) + "\n" + _END + tail)
    return True


def _cmd_report(args: argparse.Namespace) -> int:
    md, page = write_report(args.out)
    print(f"wrote {md} and {page}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="theorylab",
                                description="Solvers and executable claims for ML-theory papers.")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list every claim with its paper and last verdict")
    v = sub.add_parser("verify", help="run claims, write figures, exit non-zero on failure")
    v.add_argument("names", nargs="*", help="claim ids (see `theorylab list`)")
    v.add_argument("--all", action="store_true", help="run every claim")
    v.add_argument("--scale", choices=_claims.SCALES, default="smoke")
    v.add_argument("--seed", type=int, default=0)
    v.add_argument("--workers", type=int, default=None,
                   help="local worker processes for the claims' sweeps")
    v.add_argument("--dask", default=None, metavar="ADDRESS",
                   help="run sweeps on this Dask scheduler ('local' starts a LocalCluster)")
    v.add_argument("--out", default=None, help="output folder (default: figures/)")
    v.add_argument("--no-progress", action="store_true")
    r = sub.add_parser("report", help="write figures/REPORT.md and figures/report.html")
    r.add_argument("--out", default=None, help="figures folder (default: figures/)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return {"list": _cmd_list, "verify": _cmd_verify, "report": _cmd_report}[args.command](args)


if __name__ == "__main__":
    raise SystemExit(main())
