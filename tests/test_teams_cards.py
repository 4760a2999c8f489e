"""The Adaptive Cards Teams shows: a prompt's heading, checklist toggles and buttons whose
verbs and data lead back to the deadline; a digest cut to fit a Teams message and counted
exactly; case text shown literally, never as Markdown."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from bot.commands.table import SEE_ALL
from bot.transports.teams.cards import (
    CARD_SCHEMA,
    CONTENT_TYPE,
    MAX_CARD_BYTES,
    TEAMS_BUDGET,
    card_attachment,
    card_bytes,
    md_escape,
    refreshed_card,
    render_card,
    ticks_from,
)
from scheduler.reminders.content import (
    Action,
    ActionRef,
    Alert,
    ChecklistItem,
    Digest,
    Entry,
    Prompt,
    Section,
    Summary,
    from_json,
    to_json,
)

REF = ActionRef("123456", "assessment_review_15", 0, "due_today")


def prompt(stage: str = "due_today", ticked: tuple[bool, ...] = (True, False, False),
           case: str = "123456") -> Prompt:
    """A prompt as the reminders make it: a review due today with a three-item checklist."""
    ref = replace(REF, case=case, stage=stage)
    words = {"due_today": "Due today", "overdue": "Overdue", "upcoming": "Coming up"}[stage]
    actions = [Action("log_it", replace(ref, event="assessment_review_held"), primary=True),
               Action("reason", ref)]
    if stage in ("upcoming", "due_today"):
        actions.append(Action("snooze", ref))
    actions.append(Action("quote", ref))
    items = ("Child seen alone and their views recorded",
             "Family network identified",
             "Manager review held: plan for the rest of the assessment")
    return Prompt(
        ref, (f"{words}: case {case}, Assessment review at 15 working days, Mon 23 Nov, "
              "day 15 of 15.", "Checklist (Assessment review): 1 of 3 done."),
        "Assessment review",
        tuple(ChecklistItem(i, text, tick) for i, (text, tick) in
              enumerate(zip(items, ticked, strict=True))),
        tuple(actions), quote="The assessment is reviewed with the manager by day 15.")


def texts(card: dict[str, Any]) -> list[str]:
    return [b["text"] for b in card["body"] if b["type"] == "TextBlock"]


def actions_of(card: dict[str, Any]) -> list[dict[str, Any]]:
    """Every Action.Execute of the card, those inside a ShowCard too, in order."""
    out: list[dict[str, Any]] = []
    for a in card.get("actions", []):
        out.extend(a["card"]["actions"] if a["type"] == "Action.ShowCard" else [a])
    return out


def test_a_prompt_card_is_version_1_5_with_its_heading_headline_and_notes() -> None:
    card = render_card(prompt())
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.5"
    assert card["$schema"] == CARD_SCHEMA
    heading, headline, note, checklist_title = card["body"][:4]
    assert (heading["text"], heading["color"], heading["weight"]) == (
        "Due today", "Warning", "Bolder")
    # The headline less the stage words the heading shows.
    assert headline["text"] == ("Case 123456, Assessment review at 15 working days, Mon 23 "
                                "Nov, day 15 of 15.")
    assert note["text"] == "Checklist (Assessment review): 1 of 3 done."
    assert checklist_title["text"] == "Assessment review"
    assert all(b["wrap"] for b in card["body"])
    attachment = card_attachment(prompt())
    assert attachment == {"contentType": CONTENT_TYPE, "content": card}
    assert CONTENT_TYPE == "application/vnd.microsoft.card.adaptive"


def test_a_headline_without_the_stage_words_is_kept_whole() -> None:
    waiting = replace(prompt(), lines=(
        "Case 123456: the assessment is completed and waiting for your authorisation "
        "(/case 123456 authorise).",), checklist=(), actions=())
    card = render_card(waiting)
    assert texts(card) == ["Due today", "Case 123456: the assessment is completed and "
                           "waiting for your authorisation (/case 123456 authorise)."]
    assert "actions" not in card


def test_overdue_and_exceptions_are_in_the_attention_colour() -> None:
    assert render_card(prompt("overdue"))["body"][0]["color"] == "Attention"
    exception = replace(prompt("overdue"), ref=replace(REF, stage="exception"))
    assert render_card(exception)["body"][0] == {
        "type": "TextBlock", "text": "Exception: a legal limit was missed", "wrap": True,
        "weight": "Bolder", "size": "Medium", "color": "Attention", "style": "heading"}
    assert render_card(prompt("upcoming"))["body"][0]["color"] == "Accent"


def test_toggles_show_what_is_ticked_and_save_checklist_reads_them_back() -> None:
    card = render_card(prompt(ticked=(True, False, True)))
    toggles = [b for b in card["body"] if b["type"] == "Input.Toggle"]
    assert [(t["id"], t["value"]) for t in toggles] == [
        ("item-0", "true"), ("item-1", "false"), ("item-2", "true")]
    assert toggles[1]["title"] == "Family network identified"
    assert all((t["valueOn"], t["valueOff"]) == ("true", "false") for t in toggles)
    # Teams merges the inputs' values into the action's data: the ticks come back as items.
    save = actions_of(card)[-1]
    assert (save["title"], save["verb"]) == ("Save checklist", "tick")
    assert ActionRef.from_token(save["data"]["ref"]) == REF
    invoke = {**save["data"], **{t["id"]: t["value"] for t in toggles}, "item-1": "true"}
    assert ticks_from(invoke) == [0, 1, 2]
    assert ticks_from({**invoke, "item-0": "false", "item-2": "false"}) == [1]


def test_a_long_checklist_item_is_cut_on_its_toggle() -> None:
    long = "Chronology updated with " + "every agency's information " * 10
    p = replace(prompt(), checklist=(ChecklistItem(0, long, False),))
    title = render_card(p)["body"][4]["title"]
    assert len(title) == 120 and title.endswith("\u2026")
    assert title.startswith("Chronology updated with every agency's information")


def test_each_button_leads_back_to_its_deadline() -> None:
    card = render_card(prompt())
    top = [a["title"] for a in card["actions"]]
    assert top == ["Log it", "Record a reason", "Snooze to next working day",
                   "Show the procedure", "Save checklist"]
    executes = actions_of(card)
    assert [(a["verb"], a["title"]) for a in executes] == [
        ("log_it", "Log it"), ("reason", "Save the reason"),
        ("snooze", "Snooze to next working day"), ("quote", "Show the procedure"),
        ("tick", "Save checklist")]
    assert all(a["type"] == "Action.Execute" for a in executes)
    refs = [ActionRef.from_token(a["data"]["ref"]) for a in executes]
    assert refs[0] == replace(REF, event="assessment_review_held")
    assert refs[1:] == [REF] * 4
    assert executes[0]["style"] == "positive"
    # "Record a reason" opens a box for the words; its own button sends them.
    reason = card["actions"][1]
    assert reason["type"] == "Action.ShowCard"
    assert reason["card"]["body"][0]["id"] == "reason"
    assert reason["card"]["body"][0]["isRequired"] is True


def test_an_overdue_prompt_has_no_snooze_and_no_checklist_has_no_save() -> None:
    card = render_card(prompt("overdue"))
    assert [a["title"] for a in card["actions"]] == [
        "Log it", "Record a reason", "Show the procedure", "Save checklist"]
    bare = replace(prompt(), checklist=(), checklist_title=None,
                   actions=(Action("reason", REF), Action("quote", REF)))
    card = render_card(bare)
    assert [a["title"] for a in card["actions"]] == ["Record a reason", "Show the procedure"]
    assert not [b for b in card["body"] if b["type"] == "Input.Toggle"]
    assert "Log it" not in json.dumps(card)
    # "Log it" for an event no command logs (a reason is its own button) is not offered.
    reason_event = replace(prompt(), actions=(
        Action("log_it", replace(REF, event="delay_reason"), primary=True),
        Action("quote", REF)))
    assert [a["title"] for a in render_card(reason_event)["actions"]] == [
        "Show the procedure", "Save checklist"]


def test_markdown_in_case_text_is_shown_literally() -> None:
    # An authority whose references look like Markdown: emphasis, a link, a tag.
    p = prompt(case="AB_12*3_[x]<y>")
    card = render_card(p)
    assert texts(card)[1].startswith(r"Case AB\_12\*3\_\[x\]\<y\>, ")
    assert md_escape("- 123456 first") == r"\- 123456 first"
    assert md_escape("12. not a list") == r"12\. not a list"
    assert md_escape(r"a\b") == r"a\\b"
    assert md_escape("123456 seen alone") == "123456 seen alone"
    # A toggle's title is plain text in Teams: it is left as it is.
    q = replace(p, checklist=(ChecklistItem(0, "Views *recorded*", False),))
    assert render_card(q)["body"][4]["title"] == "Views *recorded*"


def test_refreshed_card_says_what_was_done_on_top() -> None:
    card = refreshed_card(prompt(), "Snoozed to Wed 2 Dec by jo")
    assert card["body"][0] == {"type": "Container", "style": "good", "bleed": True, "items": [
        {"type": "TextBlock", "text": "Snoozed to Wed 2 Dec by jo", "wrap": True,
         "weight": "Bolder"}]}
    assert card["body"][1:] == render_card(prompt())["body"]
    assert card["actions"] == render_card(prompt())["actions"]
    # "Show the procedure": its words under the line, as written (escaped, not bold).
    p = replace(prompt(), quote="Seen *alone* within 5 working days [para 4.2]")
    card = refreshed_card(p, "The procedure's words", detail=p.quote)
    assert card["body"][0]["items"][1] == {
        "type": "TextBlock", "text": r"Seen \*alone\* within 5 working days \[para 4.2\]",
        "wrap": True, "spacing": "Small"}


def digest(lines_per_person: int, people: int, sections: tuple[str, ...] = (
        "Overdue", "Due today", "Coming up")) -> Digest:
    """A team's digest: each section has `people` people with `lines_per_person` lines."""
    return Digest(
        "North: 400 open deadlines, 150 overdue.",
        tuple(Section(header, tuple(
            Entry(f"worker{p:03d}", tuple(
                f"{100000 + n * 1000 + p * 10 + i} Assessment review at 15 working days "
                f"(Thu 3 Dec, day {i + 1} of 15)" for i in range(lines_per_person)))
            for p in range(people))) for n, header in enumerate(sections)),
        team="north")


def test_a_small_digest_shows_everything() -> None:
    d = digest(2, 2)
    card = render_card(d)
    assert card["version"] == "1.5" and "actions" not in card
    body = texts(card)
    assert body[0] == "North: 400 open deadlines, 150 overdue."
    assert body[1:5] == ["Overdue", "worker000", "- 100000 Assessment review at 15 working "
                         "days (Thu 3 Dec, day 1 of 15)\r- 100001 Assessment review at 15 "
                         "working days (Thu 3 Dec, day 2 of 15)", "worker001"]
    assert len(body) == 1 + 3 * (1 + 2 * 2)  # no closing line: nothing was cut
    assert not any("more" in t for t in body)


def shown_parts(card: dict[str, Any]) -> int:
    """The parts of a digest a card shows: section headings and people's lists."""
    return sum(1 for b in card["body"] if b["type"] == "TextBlock" and (
        b.get("color") == "Accent" or b["text"].startswith("- ")))


def test_a_400_line_digest_fits_a_teams_message_and_counts_the_rest_exactly() -> None:
    d = digest(8, 17)  # 3 sections x 17 people x 8 lines = 408 lines
    assert sum(s.total for s in d.sections) == 408
    card = render_card(d)
    assert card_bytes(card) <= MAX_CARD_BYTES < 28 * 1024
    assert len(json.dumps(card_attachment(d)).encode()) < 28 * 1024
    assert card_bytes(card) > MAX_CARD_BYTES * 0.75  # it uses the room it has
    body = texts(card)
    # Fewer parts than Slack's 48 fit in 27 KB; the closing line is exactly what `fit`
    # says for the parts shown, and counts every line not shown.
    parts = shown_parts(card)
    assert 10 < parts < TEAMS_BUDGET
    assert body[-1] == d.fit(parts).closing(SEE_ALL)
    assert body[-1].startswith("and ") and body[-1].endswith(", see `/due team`")
    shown = sum(t.count("\r- ") + 1 for t in body if t.startswith("- "))
    assert shown + int(body[-1].split()[1]) == 408


def test_a_huge_digest_with_long_lines_still_fits() -> None:
    wide = Digest("North", (Section("Overdue", tuple(
        Entry(f"worker{p}", tuple(f"{200000 + p * 10 + i} " + "x" * 900 for i in range(8)))
        for p in range(60))),))
    card = render_card(wide)
    assert card_bytes(card) <= MAX_CARD_BYTES
    parts = shown_parts(card)
    assert texts(card)[-1] == wide.fit(parts).closing(SEE_ALL)
    assert texts(card)[-1] == f"and {(61 - parts) * 8} more not shown here " \
        f"({(61 - parts) * 8} overdue), see `/due team`"
    # A line too long for a card is cut, not dropped.
    assert all(len(t) <= 500 * 8 + 30 for t in texts(card))
    assert texts(card)[3].count("\u2026") == 8


def test_a_person_cut_short_says_how_many_more() -> None:
    d = digest(11, 1, ("Overdue",))
    body = texts(render_card(d))
    assert body[-1].endswith("\r- and 3 more, see `/due team`")
    assert body[-1].count("\r- ") == 8  # eight lines, then the count


def test_a_summary_and_an_alert_render() -> None:
    summary = Summary("Your teams this morning: 3 overdue.", (Section("Overdue", (
        Entry("", ("123456 Assessment review (north, jo)",)),)),))
    body = texts(render_card(summary))
    assert body == ["Your teams this morning: 3 overdue.", "Overdue",
                    "- 123456 Assessment review (north, jo)"]
    alert = render_card(Alert("A prompt for jo could not be delivered: install the app "
                              "for them."))
    assert texts(alert) == [
        "A prompt for jo could not be delivered: install the app for them."]


def test_cards_are_json_and_survive_the_outbox() -> None:
    for content in (prompt(), digest(3, 3), Alert("x"), refreshed_card(prompt(), "done")):
        if isinstance(content, dict):
            card = content
        else:
            card = render_card(from_json(json.loads(json.dumps(to_json(content)))))
            assert card == render_card(content)
        assert json.loads(json.dumps(card)) == card


def picture_digest() -> Digest:
    """The digest docs/teams-digest-card.png shows: a team's morning, a person cut short,
    a section with more than a card carries."""
    line = "{} {} ({})"
    days = [date(2026, 11, 16) + timedelta(days=i) for i in range(14)]
    working = [f"was due {d:%a} {d.day} {d:%b}" for d in days if d.weekday() < 5]
    return Digest("North: 11 deadlines overdue, 3 due today, 17 coming up this week.", (
        Section("Overdue", (
            Entry("jo", tuple(line.format(100100 + i, "Assessment review at 15 working days",
                                          working[i]) for i in range(10))),
            Entry("sam", (line.format(123456, "Child seen within 5 working days",
                                      "was due Fri 27 Nov"),)))),
        Section("Due today", (
            Entry("priya", (line.format(234567, "Strategy discussion", "by 5pm today"),
                            line.format(345678, "Assessment authorised", "Tue 1 Dec"))),
            Entry("sam", (line.format(456789, "Family network meeting", "Tue 1 Dec"),)))),
        Section("Coming up", (
            Entry("jo", (line.format(567890, "Initial child protection conference",
                                     "Thu 3 Dec, day 13 of 15"),)),), more=16)),
        team="north")
