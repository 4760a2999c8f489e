"""`caseclock teams package`: the zip an admin uploads to Teams holds the manifest with this
deployment's ids, the command menu of the command table and the two icons at Teams' sizes;
the manifest meets Microsoft's schema (v1.29, vendored: nothing is fetched)."""

from __future__ import annotations

import json
import re
import struct
import zipfile
from pathlib import Path
from typing import Any

import pytest

from bot.commands.table import COMMANDS
from bot.teams_package import PLACEHOLDER_ID, TEAMS_APP, PackageRefused, command_lists, manifest
from tests.test_cli_deadlines import caseclock

SCHEMA = json.loads((Path(__file__).parent / "fixtures" / "teams" /
                     "MicrosoftTeams.schema.json").read_text("utf-8"))
APP_ID = "1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d"
PUBLIC = "https://caseclock.north.gov.uk"


def schema_errors(value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    """What in `value` breaks `schema`: the draft-04 keywords the Teams schema uses for what
    a manifest like ours holds (type, required, properties, additionalProperties false,
    items, enum, const, pattern, lengths and counts, local $ref). anyOf/oneOf/if are not
    read: our manifest uses none of the parts that have them."""
    if "$ref" in schema:
        target: Any = SCHEMA
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return schema_errors(value, target, where)
    errors: list[str] = []
    kinds: dict[str, type | tuple[type, ...]] = {
        "object": dict, "array": list, "string": str, "boolean": bool, "integer": int,
        "number": (int, float)}
    kind = schema.get("type")
    if isinstance(kind, str) and not isinstance(value, kinds[kind]):
        return [f"{where}: not {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} not one of {schema['enum']}")
    if "const" in schema and value != schema["const"]:
        errors.append(f"{where}: {value!r} is not {schema['const']!r}")
    if isinstance(value, str):
        if len(value) > schema.get("maxLength", len(value)):
            errors.append(f"{where}: longer than {schema['maxLength']}")
        if len(value) < schema.get("minLength", 0):
            errors.append(f"{where}: shorter than {schema['minLength']}")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{where}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, list):
        if len(value) > schema.get("maxItems", len(value)):
            errors.append(f"{where}: more than {schema['maxItems']} items")
        if len(value) < schema.get("minItems", 0):
            errors.append(f"{where}: fewer than {schema['minItems']} items")
        for i, item in enumerate(value):
            errors += schema_errors(item, schema.get("items", {}), f"{where}[{i}]")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        errors += [f"{where}: {name} is required" for name in schema.get("required", [])
                   if name not in value]
        if schema.get("additionalProperties") is False:
            errors += [f"{where}: {name} is not allowed" for name in value if name not in props]
        for name, item in value.items():
            if name in props:
                errors += schema_errors(item, props[name], f"{where}.{name}")
    return errors


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_validator_sees_what_the_schema_forbids() -> None:
    """The schema check below can fail: a manifest with mistakes is caught on each."""
    bad = manifest(APP_ID, PUBLIC)
    bad["id"] = "not-a-guid"
    bad["bots"][0]["scopes"].append("everywhere")
    bad["bots"][0]["commandLists"][0]["commands"] *= 3  # 18 commands: Teams allows 12
    bad["accentColor"] = "blue"
    del bad["developer"]["privacyUrl"]
    bad["activities"]["activityTypes"][0]["colour"] = "red"
    errors = schema_errors(bad, SCHEMA)
    assert any(e.startswith("$.id: 'not-a-guid' does not match") for e in errors)
    assert any(e.startswith("$.bots[0].scopes[2]: 'everywhere' not one of") for e in errors)
    assert "$.bots[0].commandLists[0].commands: more than 12 items" in errors
    assert any(e.startswith("$.accentColor: 'blue'") for e in errors)
    assert "$.developer: privacyUrl is required" in errors
    assert "$.activities.activityTypes[0]: colour is not allowed" in errors


def test_the_committed_manifest_is_valid_and_its_commands_are_the_tables() -> None:
    committed = json.loads((TEAMS_APP / "manifest.json").read_text("utf-8"))
    assert schema_errors(committed, SCHEMA) == []
    assert committed["manifestVersion"] == "1.29"
    assert committed["$schema"] == ("https://developer.microsoft.com/json-schemas/teams/"
                                    "v1.29/MicrosoftTeams.schema.json")
    assert committed["id"] == committed["bots"][0]["botId"] == PLACEHOLDER_ID
    # Written from the table: a command added there and not here fails this.
    assert committed["bots"][0]["commandLists"] == command_lists()


def test_the_manifest_for_a_deployment() -> None:
    m = manifest(APP_ID, PUBLIC + "/", privacy_url="https://north.gov.uk/privacy")
    assert schema_errors(m, SCHEMA) == []
    assert m["id"] == m["bots"][0]["botId"] == m["webApplicationInfo"]["id"] == APP_ID
    assert m["webApplicationInfo"]["resource"] == f"api://botid-{APP_ID}"
    assert PLACEHOLDER_ID not in json.dumps(m)
    assert m["developer"]["websiteUrl"] == PUBLIC
    assert m["developer"]["privacyUrl"] == "https://north.gov.uk/privacy"
    assert m["developer"]["termsOfUseUrl"] == PUBLIC
    assert m["validDomains"] == ["caseclock.north.gov.uk"]
    assert manifest(APP_ID, "http://127.0.0.1:3000")["validDomains"] == []
    bot = m["bots"][0]
    assert bot["scopes"] == ["personal", "team"]
    lists = bot["commandLists"]
    assert [cl["scopes"] for cl in lists] == [["personal"], ["team"]]
    for cl in lists:
        assert [c["title"] for c in cl["commands"]] == [
            "referral", "seen", "strategy", "case", "due", "help"]
        assert [c["description"] for c in cl["commands"][:-1]] == [c.usage for c in COMMANDS]
    assert cl["commands"][1]["description"].startswith("/seen CASE [CASE ...] [date]")
    urgent = m["activities"]["activityTypes"]
    assert [a["type"] for a in urgent] == ["urgentDeadline"]
    # Graph's sendActivityNotification fills {case} (bot/transports/teams_feed.py).
    assert re.findall(r"\{(\w+)\}", urgent[0]["templateText"]) == ["case"]


@pytest.mark.parametrize(("app_id", "words"), [
    (None, "TEAMS_APP_ID is not set: set it to the bot's Microsoft app id"),
    ("", "TEAMS_APP_ID is not set"),
    ("caseclock-bot", "TEAMS_APP_ID 'caseclock-bot' is not a GUID"),
    (APP_ID + "0", "is not a GUID"),
    (PLACEHOLDER_ID, "is not a GUID"),
])
def test_an_app_id_that_is_not_a_guid_is_refused(app_id: str | None, words: str) -> None:
    with pytest.raises(PackageRefused, match=re.escape(words)):
        manifest(app_id, PUBLIC)


def test_caseclock_teams_package_writes_the_zip(tmp_path: Path) -> None:
    out = tmp_path / "caseclock-teams.zip"
    run = caseclock("teams", "package", "--out", str(out), "--terms-url",
                    "https://north.gov.uk/terms", cwd=tmp_path,
                    env={"TEAMS_APP_ID": APP_ID, "CASECLOCK_PUBLIC_URL": PUBLIC})
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"Wrote {out}: upload it in the Teams admin centre")
    with zipfile.ZipFile(out) as z:
        assert sorted(z.namelist()) == ["color.png", "manifest.json", "outline.png"]
        m = json.loads(z.read("manifest.json"))
        color, outline = z.read("color.png"), z.read("outline.png")
    assert m == manifest(APP_ID, PUBLIC, terms_url="https://north.gov.uk/terms")
    assert schema_errors(m, SCHEMA) == []
    assert m["icons"] == {"color": "color.png", "outline": "outline.png"}
    assert png_size(color) == (192, 192) and png_size(outline) == (32, 32)
    # The outline icon is white on transparent (colour type 6: RGBA), as Teams asks.
    assert outline[25] == 6
    assert color == (TEAMS_APP / "color.png").read_bytes()
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.parametrize(("env", "args", "said"), [
    ({"TEAMS_APP_ID": ""}, (), "caseclock: TEAMS_APP_ID is not set: set it to the bot's "
     "Microsoft app id (a GUID from its Entra app registration) in the environment or .env."),
    ({"TEAMS_APP_ID": "12345"}, (), "caseclock: TEAMS_APP_ID '12345' is not a GUID"),
    ({"TEAMS_APP_ID": APP_ID, "CASECLOCK_PUBLIC_URL": "caseclock.north.gov.uk"}, (),
     "caseclock: CASECLOCK_PUBLIC_URL must be a web address starting https://"),
    ({"TEAMS_APP_ID": APP_ID}, ("--privacy-url", "north.gov.uk/privacy"),
     "caseclock: --privacy-url must be a web address"),
])
def test_a_refusal_is_one_sentence_and_writes_nothing(
        tmp_path: Path, env: dict[str, str], args: tuple[str, ...], said: str) -> None:
    out = tmp_path / "caseclock-teams.zip"
    run = caseclock("teams", "package", "--out", str(out), *args, cwd=tmp_path, env=env)
    assert run.returncode == 2
    assert run.stderr.startswith(said) and run.stderr.count("\n") == 1
    assert run.stdout == "" and list(tmp_path.iterdir()) == []


def test_an_out_that_cannot_be_written_is_refused(tmp_path: Path) -> None:
    env = {"TEAMS_APP_ID": APP_ID}
    run = caseclock("teams", "package", "--out", str(tmp_path / "no" / "x.zip"),
                    cwd=tmp_path, env=env)
    assert (run.returncode, run.stderr) == (2, f"caseclock: the folder {tmp_path / 'no'} "
                                               "does not exist: create it or choose another "
                                               "--out.\n")
    run = caseclock("teams", "package", "--out", str(tmp_path / "x.json"), cwd=tmp_path,
                    env=env)
    assert run.returncode == 2 and "should name a .zip file" in run.stderr
    assert list(tmp_path.iterdir()) == []
