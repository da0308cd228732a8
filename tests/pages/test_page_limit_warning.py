"""The answer length limit below the need: the Estimate and Submit pages say so, and sending waits for a tick."""

from __future__ import annotations

from dataclasses import replace

import gaia
from tests.pages._app import PAGES, page_app


def test_a_limit_below_the_need_is_shown_and_asked_once_more(ready_folder, api_env):
    folder = ready_folder({"a.mp4": "testsrc"})
    f = gaia.Folder(folder)
    f.save_settings(replace(f.settings(), max_tokens=256))

    est = page_app(str(PAGES / "3_Estimate_cost.py"), folder).run()
    assert not est.exception
    assert any("max_tokens 256" in w.value for w in est.warning)

    sub = page_app(str(PAGES / "4_Submit.py"), folder).run()
    assert not sub.exception
    assert any("max_tokens 256" in w.value for w in sub.warning)
    assert sub.button(key="submit_go").disabled
    sub.checkbox(key="submit_limit_ok").check().run()
    assert not sub.button(key="submit_go").disabled

    f.save_settings(replace(f.settings(), max_tokens=8192))  # the default covers the need: no warning
    ok = page_app(str(PAGES / "4_Submit.py"), folder).run()
    assert not any("max_tokens" in w.value for w in ok.warning) and not ok.button(key="submit_go").disabled
