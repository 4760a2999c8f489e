"""Outbox rows hold content (JSON v1), not Slack payloads.

Unsent rows written before this hold Slack's Block Kit ({"text", "blocks", "checklist",
"quote"} for a prompt, {"text", "blocks"} for a digest or a summary, {"text"} for an admin
alert). They are read back into content by the known shapes of those blocks, so each
renders, in Slack, to the very blocks it held; anything else becomes an alert of its text.
Parked rows are converted too (`notify --retry-parked` sends them again); sent and
withdrawn rows keep what they hold, as nothing sends them again.
Self-contained on purpose: content JSON v1 is written here as it was on the day, whatever
later code makes of content.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import json
import re
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

KINDS = {"caseclock_log_it": "log_it", "caseclock_reason": "reason",
         "caseclock_snooze": "snooze", "caseclock_quote": "quote"}
MORE = re.compile(r"^and (\d+) more, see `[^`]*`$")
CLOSING = re.compile(r"^and (\d+) more not shown here \((.*)\), see `[^`]*`$")
CHECKLIST = re.compile(r"^Checklist \((.*)\): \d+ of \d+ done\.$")
WHO = re.compile(r"^\*([^*\n]+)\*$")
SUMMARIES = {"manager_summary": "manager", "service_summary": "service",
             "import_summary": "import"}
PER_PERSON, PLAIN_BUDGET, SEE_ALL = 8, 48, "/due team"  # as content v1 and the chat had them


def _ref(token: str, item: bool = False) -> dict[str, Any]:
    """An ActionRef's JSON from its token "case|rule|seq|stage[|event][|item]"."""
    case, rule, seq, stage, *rest = token.split("|")
    out: dict[str, Any] = {"case": case, "rule": rule, "seq": int(seq), "stage": stage}
    if item:
        out["item"] = int(rest.pop())
    if rest:
        (out["event"],) = rest
    return out


def _section_text(block: dict[str, Any]) -> str:
    if block.get("type") != "section" or block["text"]["type"] != "mrkdwn":
        raise ValueError("not a section")
    return str(block["text"]["text"])


def _prompt(row: Any, payload: dict[str, Any]) -> dict[str, Any]:
    blocks = payload["blocks"]
    lines = _section_text(blocks[0]).split("\n")
    ref = {"case": row.case_ref, "rule": row.rule, "seq": int(row.seq), "stage": row.stage}
    items = [{"item": int(c["item"]), "text": str(c["text"]), "ticked": bool(c["ticked"])}
             for c in payload.get("checklist") or ()]
    title = next((m.group(1) for m in map(CHECKLIST.match, lines) if m), None)
    actions = []
    for block in blocks[1:]:
        if block.get("type") != "actions":
            raise ValueError("not an actions block")
        if block.get("block_id") == "buttons":
            for b in block["elements"]:
                actions.append({"kind": KINDS[b["action_id"]], "ref": _ref(b["value"]),
                                "primary": b.get("style") == "primary"})
        elif not str(block.get("block_id", "")).startswith("checklist|"):
            raise ValueError("an unknown actions block")
    if (title is None) != (not items):
        raise ValueError("a checklist without its items")
    return {"v": 1, "kind": "prompt", "ref": ref, "lines": lines, "checklist_title": title,
            "checklist": items, "actions": actions, "quote": payload.get("quote")}


def _digest(row: Any, payload: dict[str, Any]) -> dict[str, Any]:
    blocks = payload["blocks"]
    head = _section_text(blocks[0])
    sections: list[dict[str, Any]] = []
    closing = None
    for block in blocks[1:]:
        if block.get("type") == "header":
            sections.append({"header": block["text"]["text"], "more": 0, "entries": []})
        elif block.get("type") == "context" and block is blocks[-1]:
            closing = CLOSING.match(block["elements"][0]["text"])
            if closing is None:
                raise ValueError("an unknown closing line")
        elif sections:
            lines = _section_text(block).split("\n")
            who = WHO.match(lines[0])
            if who:
                lines = lines[1:]
            more = MORE.match(lines[-1]) if lines else None
            if more:
                lines = lines[:-1]
            sections[-1]["entries"].append({"who": who.group(1) if who else "", "lines": lines,
                                            "more": int(more.group(1)) if more else 0})
        else:
            raise ValueError("a digest's block before its first header")
    if closing is not None:  # "(13 overdue, 5 due today)": each section's count of the cut
        by_header = {s["header"].lower(): s for s in sections}
        counts = re.findall(r"(\d+) ((?:(?!, \d+ ).)+)", closing.group(2))
        if sum(int(n) for n, _ in counts) != int(closing.group(1)):
            raise ValueError("a closing line that does not add up")
        for n, header in counts:
            if header in by_header:
                by_header[header]["more"] = int(n)
            else:  # a section not shown at all: only its count, under its header as shown
                sections.append({"header": header, "more": int(n), "entries": []})
    kind = "summary" if row.rule in SUMMARIES else "digest"
    return {"v": 1, "kind": kind, "audience": SUMMARIES.get(row.rule, "team"),
            "team": row.team or "", "head": head, "counts": {}, "sections": sections}


def to_content(row: Any, payload: Any) -> dict[str, Any]:
    """Content JSON v1 for an old payload; an alert of its text where it cannot be read."""
    if not isinstance(payload, dict):
        return {"v": 1, "kind": "alert", "text": ""}
    if "v" in payload and "kind" in payload:
        return payload  # already content
    try:
        if payload.get("blocks"):
            if row.stage == "digest":
                return _digest(row, payload)
            return _prompt(row, payload)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError):
        pass
    return {"v": 1, "kind": "alert", "text": str(payload.get("text") or "")}


def _plain(content: dict[str, Any]) -> str:
    """Content JSON v1 as the plain text the chat showed (content.plain_text on the day)."""
    kind = content.get("kind")
    if kind == "alert":
        return str(content.get("text") or "")
    if kind == "prompt":
        text = " ".join(content.get("lines") or ())
        if content.get("checklist"):
            text += "\n" + "\n".join(f"  [{'x' if c['ticked'] else ' '}] {c['text']}"
                                     for c in content["checklist"])
        return text
    lines, room, hidden = [str(content.get("head") or "")], PLAIN_BUDGET, {}
    for section in content.get("sections") or ():
        entries = [e for e in section["entries"] if e["lines"] or e.get("more")]
        total = sum(len(e["lines"]) + e.get("more", 0) for e in section["entries"])
        if not entries or room < 2:
            if total + section.get("more", 0):
                hidden[section["header"]] = total + section.get("more", 0)
            continue
        room -= 1
        lines.append(f"{section['header']}:")
        cut = section.get("more", 0)
        for i, e in enumerate(entries):
            if room < 1:
                cut += sum(len(r["lines"]) + r.get("more", 0) for r in entries[i:])
                break
            shown = e["lines"][:PER_PERSON]
            lines.append(f"  {e['who'] + ': ' if e['who'] else ''}" + "; ".join(shown))
            more = len(e["lines"]) - len(shown) + e.get("more", 0)
            if more:
                lines.append(f"    and {more} more, see `{SEE_ALL}`")
            room -= 1
        if cut:
            hidden[section["header"]] = cut
    if hidden:
        lines.append(f"and {sum(hidden.values())} more not shown here ("
                     + ", ".join(f"{n} {h.lower()}" for h, n in hidden.items())
                     + f"), see `{SEE_ALL}`")
    return "\n".join(lines)


def _convert(make: Any) -> None:
    outbox = sa.table("outbox", sa.column("id", sa.Integer), sa.column("stage", sa.String),
                      sa.column("case_ref", sa.String), sa.column("rule", sa.String),
                      sa.column("seq", sa.Integer), sa.column("team", sa.String),
                      sa.column("payload", sa.JSON), sa.column("sent_at", sa.DateTime),
                      sa.column("withdrawn_at", sa.DateTime))
    conn = op.get_bind()
    rows = conn.execute(sa.select(outbox).where(outbox.c.sent_at.is_(None),
                                                outbox.c.withdrawn_at.is_(None))).all()
    for row in rows:
        payload = row.payload if not isinstance(row.payload, str) else json.loads(row.payload)
        new = make(row, payload)
        if new != payload:
            conn.execute(sa.update(outbox).where(outbox.c.id == row.id).values(payload=new))


def upgrade() -> None:
    _convert(to_content)


def downgrade() -> None:
    # Back to what the older code sends: its text (Slack shows it without the blocks).
    _convert(lambda _row, c: {"text": _plain(c)} if isinstance(c, dict) and "v" in c else c)
