"""`caseclock teams package --out FILE.zip`: the Teams app package an admin uploads.

The package is teams-app/manifest.json with this deployment's ids and addresses put in, and
the two icons beside it. The app id is TEAMS_APP_ID, which is also the bot's id (one Entra
app registration for both); the bot's command list is written from the command table
(bot/commands/table.py), so what Teams offers in its command menu is what the grammar takes.
"""

from __future__ import annotations

import argparse
import json
import re
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.commands.table import COMMANDS
from scheduler.timescales.vocabulary import EventError

TEAMS_APP = Path(__file__).resolve().parents[1] / "teams-app"
ICONS = ("color.png", "outline.png")
GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
PLACEHOLDER_ID = "00000000-0000-0000-0000-000000000000"  # the committed manifest's app id
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
HELP_COMMAND = {"title": "help", "description": "Every command and /case word, with examples."}
SCOPES = ("personal", "team")  # a person's chat with the bot, and a care team's channel


class PackageRefused(EventError):
    """The package cannot be written: one sentence saying what to set or fix (the command
    line prints it and exits 2, as for every refusal)."""


def command_lists() -> list[dict[str, Any]]:
    """The bot's command menu in each scope: every command of the table, typed without its
    slash (the grammar takes both), its usage line as the description, then help."""
    commands = [{"title": c.command.lstrip("/"), "description": c.usage} for c in COMMANDS]
    commands.append(dict(HELP_COMMAND))
    return [{"scopes": [scope], "commands": [dict(c) for c in commands]} for scope in SCOPES]


def caseclock_version() -> str:
    """This caseclock's version (the package's), as the app's version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("caseclock")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "0.1.0"


def _url(value: str, name: str) -> str:
    if not re.match(r"https?://[^/\s]+", value):
        raise PackageRefused(f"{name} must be a web address starting https:// ({value!r} is "
                             "not): give the whole address, e.g. https://caseclock.example"
                             ".gov.uk.")
    return value.rstrip("/")


def manifest(app_id: str | None, public_url: str, privacy_url: str | None = None,
             terms_url: str | None = None, template: Path = TEAMS_APP) -> dict[str, Any]:
    """The manifest for this deployment: the committed one with the app id (also the bot's
    and the Entra app's), the command list, the developer's addresses and the valid domain."""
    app_id = (app_id or "").strip()
    if not app_id:
        raise PackageRefused("TEAMS_APP_ID is not set: set it to the bot's Microsoft app id "
                             "(a GUID from its Entra app registration) in the environment "
                             "or .env.")
    if not GUID.fullmatch(app_id) or app_id == PLACEHOLDER_ID:
        raise PackageRefused(f"TEAMS_APP_ID {app_id!r} is not a GUID: copy the Application "
                             "(client) id of the bot's Entra app registration, like "
                             "1b2c3d4e-0000-4000-8000-123456789abc.")
    try:
        data: dict[str, Any] = json.loads((template / "manifest.json").read_text("utf-8"))
    except OSError:
        raise PackageRefused(f"{template / 'manifest.json'} is missing: run caseclock from "
                             "its source checkout, which has teams-app/.") from None
    website = _url(public_url, "CASECLOCK_PUBLIC_URL")
    data["id"] = app_id
    data["version"] = caseclock_version()  # Teams takes an update only with a new version
    data["developer"].update(
        websiteUrl=website, privacyUrl=_url(privacy_url or website, "--privacy-url"),
        termsOfUseUrl=_url(terms_url or website, "--terms-url"))
    bot = data["bots"][0]
    bot["botId"] = app_id
    bot["commandLists"] = command_lists()
    data["webApplicationInfo"] = {"id": app_id, "resource": f"api://botid-{app_id}"}
    host = urlsplit(website).hostname or ""
    # Where the app's links lead (the calendar feeds): the public host, not a local one.
    data["validDomains"] = [] if host in LOCAL_HOSTS else [host]
    return data


def write_package(out: Path, data: dict[str, Any], template: Path = TEAMS_APP) -> None:
    """The zip Teams takes: manifest.json and the two icons at its top level."""
    part = out.with_name(out.name + ".part")  # a failed write leaves no half zip at `out`
    try:
        with zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("manifest.json", json.dumps(data, indent=2, ensure_ascii=False) + "\n")
            for icon in ICONS:
                z.write(template / icon, icon)
        part.replace(out)
    finally:
        part.unlink(missing_ok=True)


def add_teams_parser(sub: Any) -> None:
    """`caseclock teams package`."""
    t = sub.add_parser("teams", help="Microsoft Teams: the app package an admin uploads, and "
                                     "the channels the bot was added to")
    tsub = t.add_subparsers(dest="teams_cmd", required=True, metavar="ACTION")
    p = tsub.add_parser("package", help="write the Teams app package (a zip) with this "
                                        "deployment's app id (TEAMS_APP_ID)")
    p.add_argument("--out", required=True, metavar="FILE.zip")
    p.add_argument("--privacy-url", help="the authority's privacy notice for caseclock "
                                         "(default CASECLOCK_PUBLIC_URL)")
    p.add_argument("--terms-url", help="its terms of use (default CASECLOCK_PUBLIC_URL)")
    tsub.add_parser("channels", help="the channels the bot was added to, and their care teams")
    ln = tsub.add_parser("link", help="make a Teams channel a care team's channel")
    ln.add_argument("team", help="the care team, e.g. east")
    ln.add_argument("channel", help="the channel id, as `caseclock teams channels` lists it")


def cmd_teams(args: argparse.Namespace) -> int:
    """Write the package (or list or link channels); a refusal is one sentence (exit 2,
    nothing written)."""
    from store.settings import Settings

    if args.teams_cmd in ("channels", "link"):
        from bot.teams_channels import cmd_channels, cmd_link

        return cmd_channels(args) if args.teams_cmd == "channels" else cmd_link(args)

    settings = Settings()
    data = manifest(settings.teams_app_id, settings.public_url, args.privacy_url,
                    args.terms_url)
    out = Path(args.out)
    if out.suffix.lower() != ".zip":
        raise PackageRefused(f"--out {args.out} should name a .zip file, e.g. "
                             "caseclock-teams.zip.")
    if not out.parent.is_dir():
        raise PackageRefused(f"the folder {out.parent} does not exist: create it or choose "
                             "another --out.")
    try:
        write_package(out, data)
    except OSError as err:
        raise PackageRefused(f"cannot write {args.out} ({err.strerror}): choose another "
                             "--out.") from None
    print(f"Wrote {args.out}: upload it in the Teams admin centre (Manage apps, Upload new "
          f"app). App and bot id {data['id']}.")
    return 0
