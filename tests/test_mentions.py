"""Mentions are read per transport (issue 9, item 5): the grammar reads `@jo` itself and
takes each platform's markup from a reader the transport supplies, so Slack's `<@U...>`
is Slack's alone and Teams can bring its own."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.commands.grammar import parse
from bot.transports.slack.mentions import slack_mention
from scheduler.timescales.calendar import LONDON
from scheduler.timescales.vocabulary import EventError

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=LONDON)  # Mon 30 Nov 2026


def test_slacks_markup_is_read_by_slacks_reader_and_at_name_everywhere() -> None:
    assert slack_mention("<@U024BE7LH|jo>") == ("jo", "U024BE7LH")
    assert slack_mention("<@U024BE7LH>") == ("U024BE7LH", "U024BE7LH")
    assert slack_mention("@jo") is None and slack_mention("<!channel>") is None
    slack = parse("/case", "123456 allocate <@U024BE7LH|jo>", NOW, mention=slack_mention)
    assert (slack.events[0].fields, slack.mention_ids) == ({"worker": "jo"},
                                                           {"jo": "U024BE7LH"})
    plain = parse("/case", "123456 allocate @jo", NOW)
    assert (plain.events[0].fields, plain.mention_ids) == ({"worker": "jo"}, {})


def test_without_slacks_reader_slack_markup_is_not_a_person() -> None:
    with pytest.raises(EventError, match=r"^'<@U024BE7LH\|jo>' is not a person: mention them, "
                                         r"for example allocate @jo\.$"):
        parse("/case", "123456 allocate <@U024BE7LH|jo>", NOW)


def test_another_transport_brings_its_own_reader() -> None:
    def teams_like(token: str) -> tuple[str, str | None] | None:
        # e.g. an <at> entity the transport has turned into one token with its user's id
        if token.startswith("<at:") and token.endswith(">"):
            uid = token[4:-1]
            return {"29:1ab": "jo"}.get(uid, uid), uid
        return None

    intent = parse("/due", "<at:29:1ab>", NOW, mention=teams_like)
    assert (intent.target, intent.mention_ids) == ("jo", {"jo": "29:1ab"})
    with pytest.raises(EventError, match="is not a person"):
        parse("/due", "<@U024BE7LH|jo>", NOW, mention=teams_like)
