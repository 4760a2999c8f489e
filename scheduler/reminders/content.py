"""What a reminder refers to, as every transport carries it (a button's value, a card's
data): one typed reference, written and read here only."""

from __future__ import annotations

from dataclasses import dataclass

from scheduler.timescales.vocabulary import EventError


@dataclass(frozen=True)
class ActionRef:
    """The deadline (and stage) a prompt's action is about; `event` names what "Log it"
    logs, `item` the checklist item a tick is about."""

    case: str
    rule: str
    seq: int
    stage: str
    event: str | None = None
    item: int | None = None

    def to_token(self) -> str:
        """"case|rule|seq|stage", then "|event" or "|item" when set (Slack caps a value at
        2,000 characters; a reference, a rule id and a stage are far shorter)."""
        token = f"{self.case}|{self.rule}|{self.seq}|{self.stage}"
        if self.event is not None:
            token += f"|{self.event}"
        if self.item is not None:
            token += f"|{self.item}"
        return token

    @classmethod
    def from_token(cls, token: str, with_item: bool = False) -> ActionRef:
        """The reference a token holds; `with_item`: its last part is a checklist item.
        A token not made by `to_token` is refused in one sentence."""
        parts = token.split("|")
        try:
            case, rule, seq, stage, *rest = parts
            item = int(rest.pop()) if with_item else None
            if len(rest) > 1 or not case or not rule:
                raise ValueError
            return cls(case, rule, int(seq), stage, rest[0] if rest else None, item)
        except (ValueError, IndexError):
            raise EventError("that button no longer matches a reminder: use the latest "
                             "message, or type the command instead.") from None
