"""The timeliness report as one self-contained HTML page: an inline SVG chart a head of
service can put in a board paper, and the tables. No network: styles and script are inline,
so the file opens the same from an email attachment or a shared drive."""

from __future__ import annotations

from html import escape

from bot.render import day_text
from scheduler.timeliness import ASSESSMENT_RULE, BANDS, CONFERENCE_RULE, Report, Row

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Arial,sans-serif;margin:2rem;color:#1b1b1b}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem}
p.sub{color:#555;margin-top:0}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}
th{background:#f1f3f5;cursor:pointer}td.l,th.l{text-align:left}
.chart text{font-size:12px;fill:#1b1b1b}.chart .axis{stroke:#888}.chart .grid{stroke:#e3e3e3}
.legend span{display:inline-block;margin-right:1rem;font-size:.9rem}
.legend i{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:middle}
"""

# Sort a table by a clicked header; and mark the page rendered (the headless test reads it).
_SCRIPT = """
window.addEventListener('error', function (e) {
  document.documentElement.setAttribute('data-error', String(e.message));
});
document.querySelectorAll('table.sortable th').forEach(function (th, i) {
  th.addEventListener('click', function () {
    var body = th.closest('table').tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var num = rows.every(function (r) { return !isNaN(parseFloat(r.cells[i].textContent)); });
    rows.sort(function (a, b) {
      var x = a.cells[i].textContent, y = b.cells[i].textContent;
      return num ? parseFloat(y) - parseFloat(x) : x.localeCompare(y);
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
document.documentElement.setAttribute('data-rendered',
  String(document.querySelectorAll('svg.chart circle.point').length));
"""

PALETTE = ("#1d70b8", "#f47738", "#00703c", "#912b88", "#d4351c", "#5694ca", "#85994b",
           "#6f72af")


def _pct(n: int, of: int) -> str:
    return f"{round(100 * n / of)}%" if of else "-"


def share_chart(rows: list[Row], rule: str, limit: str) -> str:
    """A line per team: each month's share of `rule` deadlines met on time (a point per
    month, its figures in a tooltip), on one 0-100% scale, so teams and months compare."""
    rows = [r for r in rows if r.rule == rule and r.counts.due]
    if not rows:
        return f"<p>No deadline of {escape(limit)} fell due in the period.</p>"
    months = sorted({r.month or "" for r in rows})
    teams = sorted({r.team for r in rows})
    cell = {(r.team, r.month): r.counts for r in rows}
    left, top, height, step = 48, 14, 220, max(40, min(110, 900 // max(len(months), 1)))
    width = left + step * len(months) + 20
    parts = [f'<svg class="chart" role="img" xmlns="http://www.w3.org/2000/svg" '
             f'width="{width}" height="{top + height + 40}" '
             f'aria-label="Share met within {escape(limit)}, by month and team">']
    for pct in (0, 25, 50, 75, 100):
        y = top + height - height * pct / 100
        parts.append(f'<line class="grid" x1="{left}" x2="{width - 10}" y1="{y}" y2="{y}"/>'
                     f'<text x="{left - 6}" y="{y + 4}" text-anchor="end">{pct}%</text>')
    for mi, month in enumerate(months):
        parts.append(f'<text x="{left + step * (mi + 0.5):.1f}" y="{top + height + 18}" '
                     f'text-anchor="middle">{escape(_month_label(month))}</text>')
    for ti, team in enumerate(teams):
        colour = PALETTE[ti % len(PALETTE)]
        points = []
        for mi, month in enumerate(months):
            c = cell.get((team, month))
            if c is not None:
                x = left + step * (mi + 0.5)
                points.append((x, top + height - height * c.met_on_time / c.due, month, c))
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in points)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2.5" '
                     f'points="{path}"/>')
        for x, y, month, c in points:
            parts.append(
                f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill="{colour}">'
                f'<title>{escape(team)} {escape(_month_label(month))}: {c.met_on_time} of '
                f'{c.due} ({_pct(c.met_on_time, c.due)})</title></circle>')
    parts.append(f'<line class="axis" x1="{left}" x2="{width - 10}" y1="{top + height}" '
                 f'y2="{top + height}"/></svg>')
    legend = "".join(f'<span><i style="background:{PALETTE[i % len(PALETTE)]}"></i>'
                     f'{escape(t)}</span>' for i, t in enumerate(teams))
    return "".join(parts) + f'<div class="legend">{legend}</div>'


def _month_label(month: str) -> str:
    from datetime import date

    y, m = (int(x) for x in month.split("-"))
    return f"{date(y, m, 1):%b %Y}"


def _table(rows: list[Row], lead: str | None = None) -> str:
    head = "".join(f"<th>{h}</th>" for h in ("due", "met on time", "met late",
                                                "missed, open", "missed, stopped", "not yet due",
                                                "share on time"))
    lead_th = f'<th class="l">{lead}</th>' if lead else ""
    body = []
    for r in rows:
        c = r.counts
        lead_td = f'<td class="l">{escape(r.worker or r.month or "")}</td>' if lead else ""
        body.append(f'<tr>{lead_td}<td class="l">{escape(r.team)}</td>'
                    f'<td class="l" title="{escape(r.title)}">{escape(r.rule)}</td>'
                    f"<td>{c.due}</td><td>{c.met_on_time}</td><td>{c.met_late}</td>"
                    f"<td>{c.open_overdue}</td><td>{c.stopped_overdue}</td><td>{c.pending}</td>"
                    f"<td>{_pct(c.met_on_time, c.due)}</td></tr>")
    return (f'<table class="sortable"><thead><tr>{lead_th}<th class="l">team</th>'
            f'<th class="l">rule</th>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>')


def _headline(report: Report) -> str:
    """Per team, the two DfE measures over the whole period: due, met on time, share."""
    rows = {(r.team, r.rule): r.counts for r in report.measures}
    body = []
    for team in sorted({r.team for r in report.measures}):
        cells = []
        for rule in (ASSESSMENT_RULE, CONFERENCE_RULE):
            c = rows.get((team, rule))
            cells.append(f"<td>{c.due}</td><td>{c.met_on_time}</td>"
                         f"<td>{_pct(c.met_on_time, c.due)}</td>" if c else
                         "<td>-</td><td>-</td><td>-</td>")
        body.append(f'<tr><td class="l">{escape(team)}</td>{"".join(cells)}</tr>')
    return ('<table class="headline"><thead><tr><th class="l" rowspan="2">team</th>'
            '<th colspan="3">assessments (45 working days)</th>'
            '<th colspan="3">initial conferences (15 working days)</th></tr>'
            "<tr><th>due</th><th>on time</th><th>share</th><th>due</th><th>on time</th>"
            f'<th>share</th></tr></thead><tbody>{"".join(body)}</tbody></table>')


def report_html(report: Report) -> str:
    """The whole report as one HTML document."""
    period = (f"{day_text(report.period_from, True)} to {day_text(report.period_to, True)}")
    counting = (" Working days counted as the DfE's CIN validator does (the start day is "
                "day 1)." if report.count_from_day_one else
                " Working days counted from the day after the start (the start day is day 0).")
    bands_head = "".join(f"<th>{label}</th>" for label, _, _ in BANDS)
    bands_rows = "".join(
        f'<tr><td class="l">{escape(team)}</td>'
        + "".join(f"<td>{bands[label]}</td>" for label, _, _ in BANDS) + "</tr>"
        for team, bands in report.days_taken.items())
    reasons = "".join(f'<tr><td class="l">{escape(t)}</td><td class="l">{escape(r)}</td>'
                      f'<td class="l">{escape(reason)}</td><td>{n}</td></tr>'
                      for (t, r, reason), n in report.delay_reasons.items())
    return f"""<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Timeliness {escape(period)}</title><style>{_STYLE}</style></head>
<body>
<h1>Timeliness of deadlines due {escape(period)}</h1>
<p class="sub">Share of deadlines due in the period that were met on time.{counting}</p>
<h2>The period at a glance</h2>
{_headline(report)}
<h2>Assessments authorised within 45 working days of referral</h2>
{share_chart(report.by_month, ASSESSMENT_RULE, "45 working days")}
<h2>Initial conferences within 15 working days of the strategy discussion</h2>
{share_chart(report.by_month, CONFERENCE_RULE, "15 working days")}
<h2>By team and rule</h2>
{_table(report.measures)}
<h2>Assessments authorised: working days taken</h2>
<table><thead><tr><th class="l">team</th>{bands_head}</tr></thead><tbody>{bands_rows}</tbody>
</table>
<h2>By worker</h2>
{_table(report.by_worker, "worker")}
<h2>Month by month</h2>
{_table(report.by_month, "month")}
<h2>Delay reasons recorded</h2>
<table><thead><tr><th class="l">team</th><th class="l">rule</th><th class="l">reason</th>
<th>deadlines</th></tr></thead><tbody>{reasons or '<tr><td colspan="4">none</td></tr>'}
</tbody></table>
<script>{_SCRIPT}</script>
</body></html>
"""
