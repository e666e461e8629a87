"""An audit report as one self-contained HTML page: the page a buyer sends a seller.

Per family: the verdict and why, the queries it took, and a small inline SVG of
its statistic against the reference's honest envelope — each answer's score
against the envelope's bound (a point above the line is outside honest
variation), and the evidence path (``log10`` of the DIFF and SAME e-values)
against the thresholds the error rates set. Every point links to its signed
exchange further down the page, which shows the exact request and response
bytes and the receipt. No script, no style sheet, no font, nothing fetched:
the page works offline, and every string from the report is escaped.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence

import orjson

from llmseal.audit.exchange import ObservedExchange
from llmseal.audit.reports.report import AuditReport
from llmseal.audit.stats.verdict import TracePoint, Verdict

__all__ = ["render_html", "svg_chart"]

_W, _H, _PAD = 420, 160, 34
_COLOURS = {"SAME": "#1a7f37", "DIFF": "#cf222e", "UNDETERMINED": "#9a6700"}
_STYLE = (
    "body{font:14px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
    "color:#1f2328}h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem}"
    "table{border-collapse:collapse}td,th{padding:.2rem .6rem;border-bottom:1px solid #d0d7de;"
    "text-align:left;vertical-align:top}code,pre{font:12px ui-monospace,monospace}"
    "pre{background:#f6f8fa;padding:.5rem;overflow-x:auto;white-space:pre-wrap}"
    ".v{font-weight:700;padding:.1rem .4rem;border-radius:.3rem;color:#fff}"
    "svg{background:#fff;border:1px solid #d0d7de;margin:.3rem .6rem .3rem 0}"
)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _badge(outcome: str) -> str:
    colour = _COLOURS.get(outcome, "#57606a")
    return f'<span class="v" style="background:{colour}">{_e(outcome)}</span>'


def _anchor(receipt_id: str) -> str:
    return "x-" + base64.urlsafe_b64encode(receipt_id.encode()).decode().rstrip("=")


def svg_chart(
    title: str,
    points: Sequence[tuple[float, float | None, bool, str]],
    lines: Sequence[tuple[float, str, str]] = (),
    paths: Sequence[tuple[Sequence[float], str]] = (),
) -> str:
    """A small scatter/line chart: points ``(y, bound, exceeds, link)``, horizontal
    ``lines`` ``(y, label, colour)`` and ``paths`` ``(ys, colour)`` over one index axis."""
    ys = [p[0] for p in points] + [b for _, b, _, _ in points if b is not None]
    ys += [y for y, _, _ in lines] + [y for path, _ in paths for y in path]
    finite = [y for y in ys if math.isfinite(y)] or [0.0, 1.0]
    low, high = min(0.0, *finite), max(finite)
    if high - low < 1e-9:
        high = low + 1.0
    n = max(len(points), *(len(p) for p, _ in paths), 1)

    def x(i: int) -> float:
        return _PAD + (i + 0.5) * (_W - _PAD - 8) / n

    def y(v: float) -> float:
        v = min(max(v, low), high) if math.isfinite(v) else high
        return _H - 18 - (v - low) * (_H - 40) / (high - low)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" '
           f'viewBox="0 0 {_W} {_H}" role="img"><title>{_e(title)}</title>',
           f'<text x="{_PAD}" y="12" font-size="11">{_e(title)}</text>',
           f'<line x1="{_PAD}" y1="{_H - 18}" x2="{_W - 8}" y2="{_H - 18}" stroke="#8c959f"/>',
           f'<text x="2" y="{y(high) + 4:.1f}" font-size="9">{high:.3g}</text>',
           f'<text x="2" y="{y(low) + 4:.1f}" font-size="9">{low:.3g}</text>']  # fmt: skip
    for number, (value, label, colour) in enumerate(lines):
        # labels alternate left and right, so equal thresholds stay readable
        at = f'x="{_PAD + 3}"' if number % 2 == 0 else f'x="{_W - 10}" text-anchor="end"'
        out.append(f'<line x1="{_PAD}" y1="{y(value):.1f}" x2="{_W - 8}" y2="{y(value):.1f}" '
                   f'stroke="{colour}" stroke-dasharray="4 3"/><text {at} '
                   f'y="{y(value) + 10:.1f}" font-size="9" fill="{colour}">'
                   f"{_e(label)}</text>")  # fmt: skip
    for path, colour in paths:
        coords = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(path))
        out.append(f'<polyline points="{coords}" fill="none" stroke="{colour}"/>')
    for i, (value, bound, exceeds, link) in enumerate(points):
        if bound is not None:
            out.append(f'<line x1="{x(i) - 4:.1f}" y1="{y(bound):.1f}" x2="{x(i) + 4:.1f}" '
                       f'y2="{y(bound):.1f}" stroke="#57606a"/>')  # fmt: skip
        colour = "#cf222e" if exceeds else "#1a7f37"
        dot = f'<circle cx="{x(i):.1f}" cy="{y(value):.1f}" r="3" fill="{colour}"/>'
        out.append(f'<a href="#{_e(link)}">{dot}</a>' if link else dot)
    out.append(f'<text x="{_PAD}" y="{_H - 4}" font-size="9">signed answers in sending order '
               f"({n if points or paths else 0})</text></svg>")  # fmt: skip
    return "".join(out)


def _family(verdict: Verdict, alpha: float, beta: float) -> str:
    trace: Sequence[TracePoint] = verdict.trace
    scores = svg_chart(
        f"{verdict.family}: score (dot; red: outside the honest envelope), bound (tick)",
        [(p.value, p.threshold, p.exceeds, _anchor(p.receipt_id)) for p in trace],
    )
    evidence = svg_chart(
        f"{verdict.family}: log10 e-value, DIFF (red) and SAME (green) paths",
        [], lines=[(math.log10(1 / alpha), f"DIFF at alpha={alpha:.3g}", "#cf222e"),
                   (math.log10(1 / beta), f"SAME at beta={beta:.3g}", "#1a7f37")],
        paths=[([p.log10_e_diff for p in trace], "#cf222e"),
               ([p.log10_e_same for p in trace], "#1a7f37")],
    )  # fmt: skip
    exceeded = sum(1 for p in trace if p.exceeds)
    envelope = ("no measured envelope" if verdict.null_rate is None else
                f"honest answers exceed at most {verdict.null_rate:.3g} of the time; "
                f"here {exceeded} of {len(trace)}")  # fmt: skip
    rows = [("verdict", _badge(verdict.outcome.value)), ("why", _e(verdict.reason)),
            ("queries", f"{verdict.queries} ({verdict.samples} signed samples, "
                        f"{verdict.failed} failed exchanges)"),
            ("p-value", f"{verdict.p_value:.3g} (anytime-valid)"),
            ("statistic", f"log10 e = {verdict.statistic:.3g}"),
            ("effect size", f"{verdict.effect_size:.3g}"), ("envelope", _e(envelope))]  # fmt: skip
    table = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f"<h2>{_e(verdict.family)}</h2><table>{table}</table><p>{scores}{evidence}</p>"


def _pretty(data: bytes) -> str:
    try:
        return orjson.dumps(orjson.loads(data), option=orjson.OPT_INDENT_2).decode()
    except orjson.JSONDecodeError:
        return data.decode("utf-8", "replace")


def _exchange(number: int, exchange: ObservedExchange) -> str:
    anchor = f' id="{_anchor(exchange.receipt_id)}"' if exchange.receipt_id else ""
    status = "signed" if exchange.signed else exchange.verification
    receipt = f", receipt <code>{_e(exchange.receipt_id)}</code>" if exchange.receipt_id else ""
    head = (f"#{number} {_e(exchange.family)} {_e(exchange.probe_id)} — "
            f"{_e(exchange.method)} {_e(exchange.endpoint)} → HTTP {exchange.status_code}, "
            f"{_e(status)}{receipt}")  # fmt: skip
    body = (f"<p>request</p><pre>{_e(_pretty(exchange.request))}</pre><p>response "
            f"(receipt included)</p><pre>{_e(_pretty(exchange.response))}</pre>")  # fmt: skip
    if exchange.error:
        body = f"<p>error: {_e(exchange.error)}</p>" + body
    return f"<details{anchor}><summary>{head}</summary>{body}</details>"


def render_html(report: AuditReport, *, checked: str = "") -> str:
    """The whole page; ``checked`` says what was re-verified (shown under the title)."""
    b = report.body
    verdicts = report.verdicts
    rates = report.rates
    alpha = rates.alpha / max(1, len(verdicts))
    meta = [("claimed model", _e(b.get("model_id", ""))), ("endpoint", _e(b.get("endpoint", ""))),
            ("created", _e(b.get("created_at", ""))), ("queries", _e(b.get("queries", ""))),
            ("error rates", f"false DIFF ≤ {rates.alpha:.3g} (split over {len(verdicts)} "
                            f"families), false SAME ≤ {rates.beta:.3g} for effects ≥ "
                            f"{rates.min_effect:.3g}"),
            ("report id", f"<code>{_e(report.report_id)}</code>"),
            ("references", "<br>".join(f"{_e(k)}: <code>{_e(v)}</code>"
                                       for k, v in sorted(report.references.items())))]  # fmt: skip
    signature = report.signature
    meta.append(("auditor", _e(signature.get("key_id")) if signature else "unsigned"))
    if checked:
        meta.append(("checked", _e(checked)))
    table = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in meta)
    families = "".join(_family(v, alpha, rates.beta) for v in verdicts)
    exchanges = "".join(_exchange(i, e) for i, e in enumerate(report.exchanges, 1))
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\"><title>llmseal audit: "
        f"{_e(b.get('verdict'))} {_e(b.get('model_id', ''))}</title><style>{_STYLE}</style>"
        f"</head><body><h1>Model-identity audit: {_badge(str(b.get('verdict')))}</h1>"
        f"<table>{table}</table>{families}<h2>Signed exchanges</h2>"
        "<p>Each answer exactly as received, with its receipt: re-check them with "
        f"<code>llmseal audit report verify</code>.</p>{exchanges}</body></html>\n"
    )
