"""Step 1 with plain HTTP: the stores found on this PC (the same discovery as `migrate sources`,
here a Thunderbird profile in the app's HOME) and a chosen one described by what it holds."""

from __future__ import annotations

import json
import re

from tests.tbprofile import build_profiles
from tests.web.test_ui_security import _session


def test_found_stores_listed_and_chosen_one_described(ui, tmp_path):
    build_profiles(tmp_path / "home" / ".thunderbird")
    app = ui(lang="en")
    c, csrf = _session(app)
    page = c.get("/step/1").text
    offered = [json.loads(v.replace("&#34;", '"'))["path"] for v in re.findall(r"hx-vals='([^']+)'", page)]
    profile = next(p for p in offered if p.endswith(".default-release"))
    r = c.post("/sources/add", data={"path": profile}, headers={"Origin": app.base, "X-CSRF-Token": csrf})
    assert r.status_code == 200 and 'data-testid="source-list"' in r.text
    listed = re.search(r'data-testid="source-list".*?</ul>', r.text, re.S).group(0)
    assert profile in listed and re.search(r"\d+ messages", listed), listed
    assert 'data-testid="next"' in r.text
    # a path that is no mail store: one line and its hint, nothing added
    notes = tmp_path / "notes.txt"
    notes.write_text("not mail\n")
    r = c.post("/sources/add", data={"path": str(notes)}, headers={"Origin": app.base, "X-CSRF-Token": csrf})
    assert 'role="alert"' in r.text and r.text.count("<li>") == 1
