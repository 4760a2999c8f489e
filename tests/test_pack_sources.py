"""Every rule quotes its procedure word for word, and every rule id of the spec is present.

CI clones the repository beside ../shared, so the seeds are always there; a missing seeds
directory is a failure, not a skip.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from scheduler.packs import BUILTIN_DIR, CHECKLISTS_FILE, PackLibrary
from scheduler.timescales.rules import PackError, parse_pack_file

ROOT = Path(__file__).resolve().parents[1]
SEEDS = Path(os.environ.get("CASECLOCK_SEEDS_DIR", ROOT.parent / "shared" / "seeds"))
PACK_FILES = sorted(p for p in BUILTIN_DIR.glob("*.yaml") if p.name != CHECKLISTS_FILE)

# timescales.md §4: the rule ids of each pack, a public contract.
BASELINE = {"referral_decision", "assessment_45", "icpc_15", "core_group_10",
            "review_conference_first", "review_conference_next", "agency_info"}
EXPECTED = {
    "working-together-2023": BASELINE,
    "north-yorkshire": BASELINE | {
        "child_seen_initial_visit", "manager_review", "isp", "assessment_14",
        "assessment_extended", "first_cin_meeting", "eh_allocation", "eh_family_contact",
        "eh_first_visit", "eh_assessment", "eh_authorisation"},
    "relational-practice": BASELINE | {
        "child_seen_s17", "child_seen_s47", "supervision_review", "assessment_target"},
    "bexley": BASELINE | {
        "allocation", "child_visited", "assessment_initial_15", "assessment_extended",
        "prebirth_assessment"},
    "suffolk": BASELINE | {
        "management_decision", "family_contact", "child_seen", "first_review",
        "s47_child_seen", "s47_oversight", "s47_planning", "icpc_report", "assessment_day_20",
        "assessment_day_35"},
    "medway": BASELINE | {
        "allocation", "child_visited_s17", "child_visited_s47", "assessment_initial_15",
        "assessment_extended", "assessment_review", "prebirth_assessment"},
}


def squash(text: str) -> str:
    """White space and line breaks aside, nothing else is forgiven."""
    return re.sub(r"\s+", " ", text).strip()


def _rules() -> list[tuple[str, str, str, str]]:
    out = []
    for f in PACK_FILES:
        data = yaml.safe_load(f.read_text(encoding="utf-8"))
        for r in data.get("rules", []):
            out.append((f.stem, r["id"], r["source"]["document"], r["source"]["quote"]))
    return out


def test_the_seeds_are_beside_the_repository() -> None:
    assert SEEDS.is_dir(), f"{SEEDS} is missing: clone the repository beside ../shared"


@pytest.mark.parametrize(("pack", "rule", "document", "quote"), _rules(),
                         ids=[f"{p}:{r}" for p, r, _, _ in _rules()])
def test_quote_appears_word_for_word_in_its_procedure(
    pack: str, rule: str, document: str, quote: str
) -> None:
    seed = SEEDS / document
    assert seed.is_file(), f"{pack}: rule {rule} names {document}, which is not in {SEEDS}"
    assert squash(quote) in squash(seed.read_text(encoding="utf-8")), (
        f"{pack}: rule {rule}: the quote is not in {document} word for word")


@pytest.mark.parametrize("pack", sorted(EXPECTED))
def test_every_rule_id_of_the_spec_is_in_the_resolved_pack(pack: str) -> None:
    resolved = PackLibrary().get(pack)
    assert {r.id for r in resolved.rules} == EXPECTED[pack]
    for r in resolved.rules:
        assert r.title and r.owner and r.source.quote


def test_every_built_in_pack_is_checked() -> None:
    assert {f.stem for f in PACK_FILES} == set(EXPECTED)


def _pack_with(**rule_changes: object) -> dict[str, object]:
    rule: dict[str, object] = {
        "id": "child_seen_local", "title": "Child seen within 4 working days",
        "due": {"unit": "working_days", "count": 4},
        "anchor": {"event": "referral_received"},
        "met_by": [{"event": "child_seen"}], "owner": "worker",
        "source": {"document": "mine.txt", "quote": "the child must be seen within four days"},
    }
    rule.update(rule_changes)
    return {"name": "mine", "title": "Mine", "rules": [rule]}


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        # A typo'd boolean is read by YAML as the text "ture": the rule could never be met.
        ({"met_by": [{"event": "child_seen", "where": {"alone": "ture"}}]},
         "met_by[0].where.alone: 'ture' is not a value of child_seen's alone: use true or false"),
        ({"met_by": [{"event": "child_seen", "where": {"home_visited": "true"}}]},
         "use true or false"),
        ({"anchor": {"event": "referral_received", "where": {"track": "S47"}}},
         "anchor.where.track: 'S47' is not a value of referral_received's track: use one of "
         "s17, s47, early_help"),
        ({"cancelled_by": [{"event": "assessment_completed", "where": {"outcome": "closed"}}]},
         "cancelled_by[0].where.outcome"),
        ({"cancelled_by": [{"event": "s47_outcome", "where": {"icpc_required": 0}}]},
         "use true or false"),
        ({"anchor": {"event": "management_decision", "where": {"seen_by_day": True}}},
         "use a whole number"),
        ({"anchor": {"event": "extension_agreed", "where": {"until": "2027-01-29"}}},
         "is a date, which a rule cannot match on"),
        ({"met_by": [{"event": "extension_agreed", "beyond_due": "reason"}]},
         "met_by[0].beyond_due: 'reason' is not a date field of extension_agreed: use until"),
        ({"cancelled_by": [{"event": "extension_agreed", "beyond_due": "until"}]},
         "cancelled_by[0].beyond_due: only met_by events can be asked to run beyond"),
        ({"due": {"unit": "by_day", "count": 7, "count_from": {
            "event": "management_decision", "field": "seen_by_day", "max": 5}}},
         "due.count_from.max: 5 is before the rule's own day 7: give a max of at least 7"),
        ({"source": {"document": "", "quote": "the child must be seen within four days"}},
         "is not a procedure's file name"),
        ({"source": {"document": "procedure", "quote": "the child must be seen within four days"}},
         "ending in .txt, .md, .pdf"),
        ({"source": {"document": "seeds/mine.docx",
                     "quote": "the child must be seen within four days"}},
         "is not a procedure's file name"),
    ],
)
def test_a_pack_condition_or_source_that_can_never_be_right_is_refused(
    changes: dict[str, object], says: str
) -> None:
    with pytest.raises(PackError) as err:
        parse_pack_file("mine.yaml", _pack_with(**changes), {})
    assert says in str(err.value)
    assert "mine.yaml" in str(err.value) and "child_seen_local" in str(err.value)


@pytest.mark.parametrize("document", ["mine.txt", "Procedure v2.PDF", "notes.md"])
def test_well_formed_conditions_and_documents_are_accepted(document: str) -> None:
    pf = parse_pack_file("mine.yaml", _pack_with(
        met_by=[{"event": "child_seen", "where": {"alone": True}}],
        anchor={"event": "referral_received", "where": {"track": "s47"}},
        source={"document": document, "quote": "the child must be seen within four days"}),
        {})
    assert pf.rules[0].met_by[0].where == {"alone": True}
    pf = parse_pack_file("mine.yaml", _pack_with(
        met_by=[{"event": "extension_agreed", "beyond_due": "until"}],
        source={"document": document, "quote": "the child must be seen within four days"}),
        {})
    assert pf.rules[0].met_by[0].beyond_due == "until"
