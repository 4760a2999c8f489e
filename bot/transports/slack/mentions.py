"""Slack's way of writing a person in a message: `<@U024BE7LH>` or `<@U024BE7LH|jo>`.

The grammar reads plain `@jo` itself; each transport hands it a reader for its own mention
markup (Teams will read its `<at>` entities), so the grammar names no chat platform.
"""

from __future__ import annotations

import re

SLACK_MENTION = re.compile(r"^<@([A-Z0-9]+)(?:\|([^>]+))?>$")


def slack_mention(token: str) -> tuple[str, str | None] | None:
    """`<@U024BE7LH|jo>` -> ('jo', 'U024BE7LH'); `<@U024BE7LH>` -> ('U024BE7LH', ...);
    None for anything else."""
    m = SLACK_MENTION.match(token)
    if not m:
        return None
    return (m.group(2) or m.group(1)), m.group(1)
