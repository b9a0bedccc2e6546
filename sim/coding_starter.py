"""A starter coding.yaml for a new world (``sim ingest --starter``).

This module owns the first draft of a world's coding file: one actor entry per world actor
(its name as the only name) and one ``cameo:`` mapping per event kind, with a CAMEO code
guessed from the kind's id and label by keyword (see ``GUESSES``). Kinds with no guess are
written as comments for the author to finish. The draft is meant to be edited: names,
office dates, ``about`` words and extra patterns are the author's job (docs/ingest.md).
"""
from __future__ import annotations

import json
import re
from typing import Any

from sim.lexicon import CAMEO_ROOTS

# (regex on "id label", CAMEO code): the first that matches wins, so specific before general
GUESSES: tuple[tuple[str, str], ...] = (
    (r"threat|warn|ultimatum", "1312"),
    (r"deadline", "139"),
    (r"bill.*(introduc|file)|introduc.*bill", "L1"),
    (r"committee", "L4"),
    (r"bill.*(held|hold|block|delay)|(hold|held).*bill", "L3"),
    (r"bill|legislat|enacted|becomes law|mandate", "L2"),
    (r"sanction.*(lift|eas|waiv)|(lift|eas|waiv).*sanction", "085"),
    (r"sanction|embargo|blacklist|penalt", "163"),
    (r"(suspend|halt|freez|stop|cut).*(deliver|shipment|suppl)", "162"),
    (r"expel|diplomat", "161"),
    (r"deliver|shipment|arriv|transfer|handover", "062"),
    (r"(buy|purchase|sale|sell).*(arm|weapon|missile|jet)|arms", "0621"),
    (r"withdr|remov|expuls|suspend.*from|exclu", "166"),
    (r"suspend|halt|freez|stop|cut|block|cancel|scrap", "16"),
    (r"offer|propos|suggest", "03"),
    (r"contract|deal|agreement|accord|signed|treaty", "057"),
    (r"accept|agree", "057"),
    (r"summit|meet|talks|visit|call|consult|negotiat", "04"),
    (r"radar|test|fire|drill|exercise", "155"),
    (r"activat|operational|switch", "156"),
    (r"stor|mothball", "157"),
    (r"defian|defy|refus|reject", "12"),
    (r"protest|criticis|criticiz|condemn", "11"),
    (r"demand|urge|appeal", "10"),
    (r"aid|assistance", "07"),
    (r"operation|offensive|attack|invasion|incursion|strike", "19"),
)


def guess_code(event_id: str, label: str = "") -> str | None:
    """A CAMEO code for an event kind from its id and label, or None.

    >>> guess_code("caatsa_sanctions", "US imposes CAATSA sanctions on Turkey")
    '163'
    >>> guess_code("s400_delivered", "Russia delivers S-400 components") is not None
    True
    """
    text = f"{event_id} {label}".lower().replace("_", " ")
    for rx, code in GUESSES:
        if re.search(rx, text):
            return code
    return None


def _flow(items: list[str]) -> str:
    return "[" + ", ".join(items) + "]"


def starter_coding(world: Any, world_path: str = "world.yaml") -> str:
    """The text of a starter coding.yaml for ``world`` (a :class:`sim.world.World`)."""
    lines = [
        f"# Starter coding file for `sim ingest`, written by `sim ingest --starter` from "
        f"{world_path}.",
        "# Review all of it (docs/ingest.md): add every name, title and capital that stands for",
        "# an actor (with office dates), check each guessed CAMEO code, and add `about` words",
        "# where one code covers several of your event kinds (e.g. 062 deliveries: about the",
        "# weapon). The shared verb lexicon is sim/data/cameo.yaml; you do not edit it.",
        "",
        "actors:",
    ]
    for aid, actor in sorted(world.actors.items()):
        name = getattr(actor, "name", "") or aid
        lines.append(f"  - {{actor: {aid}, names: {_flow([json.dumps(name)])}}}")
    lines += ["", "others: []", "", "classes: {}", "", "patterns: []", "",
              "cameo:"]
    todo = []
    for eid, ev in sorted(world.events.items()):
        label = getattr(ev, "label", "") or ""
        actor = getattr(ev, "actor", None)
        target = getattr(ev, "target", None)
        actors = [actor] if actor in world.actors else sorted(world.actors)
        spec = f"event: {eid}, actors: {_flow(actors)}"
        if target in world.actors:
            spec += f", targets: [{target}]"
        code = guess_code(eid, label)
        comment = f"  # {label}" if label else ""
        if code is None:
            todo.append(f"#  - {{code: '??', {spec}}}{comment}")
        else:
            lines.append(f"  - {{code: {json.dumps(code)}, {spec}}}"
                         f"  # {CAMEO_ROOTS.get(code[:2], code)}{'; ' + label if label else ''}")
    if todo:
        lines += ["", "# No CAMEO code guessed for these kinds: pick one (docs/ingest.md lists "
                      "the roots) or leave them out."]
        lines += todo
    return "\n".join(lines) + "\n"
