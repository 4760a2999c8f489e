"""Teams' way of writing a person in a message: `<at>Jo Smith</at>` in the text, with an
entity {"type": "mention", "text": "<at>Jo Smith</at>", "mentioned": {"id": ...,
"aadObjectId": ..., "name": "Jo Smith"}} saying who it is.

The grammar reads one word at a time, and a display name has spaces: each person's mention
is replaced by one token (`<at1>`, `<at2>`...) before the line is parsed, and the reader
handed to the grammar turns that token back into the person: their directory name when their
Entra object id is in the staff directory, and the object id itself as the id. The bot's own
mention (the @caseclock a channel message starts with) is taken out of the text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bot.commands.grammar import MentionReader

TOKEN = re.compile(r"^<at(\d+)>$")
TAGS = re.compile(r"<[^>]+>")


def prepare(text: str, entities: Sequence[Mapping[str, Any]], bot_id: str,
            name_of: Callable[[str], str | None]) -> tuple[str, MentionReader, bool]:
    """(the command line, the grammar's mention reader, whether the bot was mentioned).

    `name_of(aad_object_id)` is the directory name of a person, or None."""
    people: dict[str, tuple[str, str]] = {}
    mentioned_bot = False
    n = 0
    for entity in entities:
        if entity.get("type") != "mention":
            continue
        who = entity.get("mentioned") or {}
        markup = str(entity.get("text") or "")
        if not markup:
            continue
        if str(who.get("id") or "") == bot_id:
            mentioned_bot = True
            text = text.replace(markup, " ", 1)
            continue
        n += 1
        aad = str(who.get("aadObjectId") or who.get("id") or "")
        shown = TAGS.sub("", markup).strip()
        # Not in the directory: the first word of their display name, which the handler
        # then reports as not in the staff directory.
        name = name_of(aad) if aad else None
        people[f"<at{n}>"] = (name or (shown.split() or ["someone"])[0], aad)
        text = text.replace(markup, f" <at{n}> ", 1)
    # What is left of Teams' HTML (a <p>, &nbsp;) is not part of a command.
    placeholders = {k: f"\x00{k[3:-1]}\x00" for k in people}
    for k, v in placeholders.items():
        text = text.replace(k, v)
    text = html.unescape(TAGS.sub(" ", text)).replace("\xa0", " ")
    for k, v in placeholders.items():
        text = text.replace(v, k)
    line = " ".join(text.split())

    def reader(token: str) -> tuple[str, str | None] | None:
        found = people.get(token) if TOKEN.match(token) else None
        return (found[0], found[1] or None) if found else None

    return line, reader, mentioned_bot
