"""One vocabulary: the words, colours and choices every page receives are the server's own definitions, which
are the rig side's; the browser keeps no copy of its own."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from labweb.fleet.choices import RIG_STATES as RIG_STATE_LOOKS
from labweb.live.vocabulary import vocabulary
from labweb.records.choices import CopyState, SessionState
from rigs.copier.state import CopyState as DeviceCopyState
from rigs.messages import RIG_STATES
from rigs.spool.codecs import COMPRESSIONS, LIVE_COMPRESSIONS, get_codec

pytestmark = pytest.mark.django_db
STATIC = Path(__file__).resolve().parents[2] / "frontend" / "static" / "labweb"


def page_vocabulary(client) -> dict:
    html = client.get("/").content.decode()
    block = re.search(r'<script id="labweb-vocabulary" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(block.group(1))


def test_every_page_carries_the_servers_vocabulary(viewer_client):
    assert page_vocabulary(viewer_client) == json.loads(json.dumps(vocabulary()))


def test_the_rig_states_are_the_rig_sides_and_each_has_a_word_and_a_colour(viewer_client):
    sent = page_vocabulary(viewer_client)["rig_states"]
    assert list(sent) == list(RIG_STATES) == list(RIG_STATE_LOOKS)
    assert all(look["label"] and look["colour"] for look in sent.values())


def test_session_and_copy_states_are_the_records_and_the_copiers(viewer_client):
    sent = page_vocabulary(viewer_client)
    assert list(sent["session_states"]) == list(SessionState.values)
    assert [int(k) for k in sent["copy_states"]] == [int(s) for s in DeviceCopyState] == list(CopyState.values)


def test_the_compressions_offered_are_ones_the_spooler_knows(viewer_client):
    offered = page_vocabulary(viewer_client)["compressions"]
    assert offered == list(LIVE_COMPRESSIONS) and set(offered) <= set(COMPRESSIONS)
    for name in offered:
        assert get_codec(name).live_ok


def test_the_browser_modules_keep_no_copy_of_a_vocabulary():
    for module in STATIC.glob("*.js"):
        text = module.read_text()
        assert "blosc-" not in text, f"{module.name} lists compressions of its own"
        assert not re.search(r"\b(idle|spooling|offline)\s*:\s*\"(grey|green|red|blue)\"", text), \
            f"{module.name} colours states itself"
