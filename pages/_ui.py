"""Small UI helpers shared by the pages: the selected folder, the API key status, rendering helpers.

UI layer only: everything here is about showing things in Streamlit. The work is done by ``gaia``
(public API only), numbers are formatted by ``gaia.format``, and view models come from ``gaia.views``.
"""

from __future__ import annotations

import hashlib
import html
import ipaddress
import json
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

import gaia

FOLDER_KEY = "folder"
MISSING = gaia.format.MISSING  # what a table shows for a value that is not there (never "None")
# Plotly's toolbar sat on top of the legends; the charts are small and need no zoom or export buttons.
CHART_CONFIG = {"displayModeBar": False}
# ``persist_state`` of a keyed widget whose value outlives a visit to another page (a setting shown, a folder typed,
# an edit): Streamlit then gives the browser the value again when the page comes back. Without it the session could
# keep a value the browser had dropped, and the widget showed empty (or its minimum) beside it.
KEEP = "session"
FOLDER_PARAM = "folder"  # the folder in the page's address: ?folder=/path/to/videos

PAGE_SELECT = "pages/1_Select_folder.py"
PAGE_KEYFRAMES = "pages/2_Keyframes.py"
PAGE_ESTIMATE = "pages/3_Estimate_cost.py"
PAGE_SUBMIT = "pages/4_Submit.py"
PAGE_PROGRESS = "pages/5_Progress.py"
PAGE_RESULTS = "pages/6_Results.py"
PAGE_TUNE = "pages/7_Tune.py"


def _through_the_frame() -> None:
    """Run every page through app.py's navigation, even when a page's address is the first this server sees.

    Until some session has run app.py (which calls ``st.navigation``), Streamlit treats the ``pages/`` folder the
    legacy way: a page's address (a bookmark, a reload right after the server started) runs that page file alone,
    without the frame (no folder from the address, no wrapper, the helper modules listed as pages), and every
    session after it too. Every page imports this module first, so the first import in such a run switches the
    legacy way off and runs the session again, now through app.py, on the same page.
    """
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if PagesManager.uses_pages_directory and get_script_run_ctx() is not None:
        PagesManager.uses_pages_directory = False
        st.rerun()


_through_the_frame()


def api_key() -> str | None:
    """The API key from ``.streamlit/secrets.toml`` or the environment; never shown or stored."""
    try:
        key = st.secrets.get("ANTHROPIC_API_KEY")
    except (FileNotFoundError, KeyError):  # no secrets file at all raises, not returns None
        key = None
    except Exception:  # a malformed secrets file must not take the page down
        key = None
    return key or os.environ.get("ANTHROPIC_API_KEY") or None


def _env_seconds(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value >= 0 else default


# The demo emulator ends batches this fast, so a demo needs no waiting (GAIA_DEMO_BATCH_SECONDS overrides).
DEMO_BATCH_SECONDS = _env_seconds("GAIA_DEMO_BATCH_SECONDS", 8.0)


@st.cache_resource(show_spinner=False)
def _demo_emulator() -> Any:
    """The local API emulator for this server process, started once in the background."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return gaia.emulator.start_emulator(state_dir=Path(base) / "gaia" / "demo-emulator",
                                        config=gaia.emulator.EmulatorConfig(batch_delay_s=DEMO_BATCH_SECONDS))


def using_emulator() -> bool:
    """Whether this session talks to the local emulator (no key, or the user chose the demo)."""
    return api_key() is None or bool(st.session_state.get("use_emulator"))


def batch_plan_key(force: bool) -> tuple[Any, ...]:
    """What the Submit page keeps its batch plan under (``per_folder_state``), which the Run now tab reuses."""
    return ("batch", force, using_emulator())


def client() -> Any:
    """An Anthropic client for this session: the real API with a key, else the local emulator."""
    if not using_emulator():
        return gaia.make_client(api_key=api_key())
    return gaia.make_client(api_key="gaia-demo-no-real-key", base_url=_demo_emulator().base_url)


def planning_client() -> Any | None:
    """The client the pages plan and price with: the real API's with a key (its free count_tokens makes the prompt's
    count exact, kept for the folder); ``None`` in demo mode, where GAIA's own approximation (or a count the API made
    earlier) serves, so browsing never loads the SDK. Only sending talks to the emulator."""
    if using_emulator():
        return None
    try:
        return client()
    except Exception:  # the SDK cannot be built (a key no key can be): approximate counts
        return None


def folder_roots() -> tuple[Path, ...]:
    """The folders this app may open (``()``: any), from GAIA_ALLOWED_ROOTS and ``[gaia] allowed_roots``.

    When roots are configured, GAIA's own demo folder is always allowed as well.
    """
    configured = None
    try:
        section = st.secrets.get("gaia")
        if section is not None:
            configured = section.get("allowed_roots")
    except Exception:  # no secrets file (raises FileNotFoundError) or a malformed one: env only
        configured = None
    if configured is not None and not isinstance(configured, str | list | tuple):
        configured = None
    roots = gaia.allowed_roots(configured)
    if roots:
        roots = (*roots, gaia.demo_folder_path().resolve())
    return roots


def served_remotely() -> bool:
    """Whether this session's browser is on another machine (its address is not a loopback one)."""
    try:
        ip = st.context.ip_address
    except Exception:  # no browser connection (tests, bare mode)
        return False
    if not ip:
        return False
    try:
        addr = ipaddress.ip_address(ip.split("%")[0])
    except ValueError:
        return True
    mapped = getattr(addr, "ipv4_mapped", None)  # "::ffff:127.0.0.1" on a dual-stack socket
    return not (mapped or addr).is_loopback


def folder_from_url() -> str | None:
    """Keep the selected folder and the page's address in step; returns why the address' folder was refused.

    A session without a folder takes it from ``?folder=`` (a reload, a bookmark, a page's URL), checked
    like a typed path (``gaia.check_folder`` against the allowed roots); a session with a usable folder
    writes it into the address, so that address opens it again.
    """
    ss = st.session_state
    wanted = st.query_params.get(FOLDER_PARAM)
    problem = None
    if wanted and not ss.get(FOLDER_KEY):
        try:
            ss[FOLDER_KEY] = str(gaia.check_folder(wanted, allowed_roots=folder_roots()))
            ss["folder_input"] = ss[FOLDER_KEY]
        except gaia.FolderError as exc:
            problem = str(exc)
    current = ss.get(FOLDER_KEY)
    usable = bool(current) and Path(current).is_dir() and gaia.is_allowed(current, folder_roots())
    if usable:
        show_folder_in_url(current)
    elif FOLDER_PARAM in st.query_params and not problem:
        del st.query_params[FOLDER_PARAM]
    return problem


def show_folder_in_url(folder: Path | str) -> None:
    """Put a checked folder into the page's address (the frame does it on every run; the Select page as soon as
    it opens one, since a folder chosen in the page body comes after the frame has run)."""
    if st.query_params.get(FOLDER_PARAM) != str(folder):
        try:
            st.query_params[FOLDER_PARAM] = str(folder)
        except UnicodeError:  # a folder name that is not UTF-8 cannot go into an address; the session keeps it
            return


def selected_folder() -> Path | None:
    """The folder chosen on the Select folder page, if any."""
    value = st.session_state.get(FOLDER_KEY)
    return Path(value) if value else None


def require_folder() -> Path:
    """The selected folder, or stop the page with a pointer to the Select folder page."""
    folder = selected_folder()
    if folder is None or not folder.is_dir() or not gaia.is_allowed(folder, folder_roots()):
        st.info("Choose a folder of videos first.", icon=":material/folder_open:")
        page_link(PAGE_SELECT, "Select a folder", ":material/arrow_back:")
        st.stop()
    return folder


def model_picker(saved: str | None, *, key: str, format_func: Any = None, help: str | None = None) -> str:
    """The model picker every page uses: current models first by price, legacy ones folded behind a switch,
    retired ones absent (``gaia.views.model_choices``). A retired or unknown saved model falls back to the
    default."""
    models = gaia.catalogue().models
    if saved not in models or models[saved].status not in (*gaia.views.OFFERED_STATUSES, "legacy"):
        saved = gaia.limits.DEFAULT_MODEL
    legacy = bool(st.session_state.get(f"{key}_legacy"))
    options = gaia.views.model_choices(legacy=legacy, keep=saved)
    if st.session_state.get(key) not in options:
        st.session_state.pop(key, None)
    choice = st.selectbox("Model", options, index=options.index(saved), key=key,
                          format_func=format_func or gaia.views.model_name, help=help)
    if gaia.views.legacy_models():
        st.toggle("Show legacy models", key=f"{key}_legacy",
                  help="Older models still on sale; newer ones cost the same or less and answer better.")
    return str(choice)


def page_link(page: str, label: str, icon: str | None = None) -> None:
    """A link to another page that keeps the session (unlike a plain URL)."""
    try:
        st.page_link(page, label=label, icon=icon)
    except Exception:  # the page is not registered (e.g. when a page is tested on its own)
        st.caption(f"Next: {label}")


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$])")


def shown(text: object) -> str:
    """Text that can be sent to the browser: a name that is not UTF-8 (undecodable bytes kept as surrogates)
    shows its undecodable bytes escaped (``caf\\xe9.mp4``, ``gaia.views.display_name``, the one rule) instead
    of failing to encode; line breaks are kept."""
    value = str(text)
    if _utf8(value) is not value:
        value = "\n".join(gaia.views.display_name(line) for line in value.split("\n"))
    return value


def md(text: object) -> str:
    """Text (a file name, a path) made safe to put inside Markdown: every markup character escaped, bytes
    that are not UTF-8 and control characters shown escaped (``gaia.views.display_name``)."""
    return _MD_SPECIAL.sub(r"\\\1", gaia.views.display_name(str(text)))


_MD_AND_HTML = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>:$])")


def plain(text: object) -> str:
    """Text (a model's answer) escaped so that ``st.markdown`` and alert boxes show it literally: no HTML, no
    Markdown, line breaks kept."""
    return _MD_AND_HTML.sub(r"\\\1", html.escape(shown(text), quote=False)).replace("\n", "  \n")


def analysis_view(analysis: dict[str, Any]) -> None:
    """An analysis field by field (``gaia.views.analysis_fields``): titles, plain text and small tables."""
    for f in gaia.views.analysis_fields(analysis):
        st.markdown(f"**{plain(f.title)}**")
        if f.kind == "table":
            st.dataframe(pd.DataFrame(f.value), hide_index=True, width="stretch", placeholder=MISSING)
        else:
            st.text(f.value)


def metrics(figures: Sequence[gaia.views.Metric]) -> None:
    """``st.metric`` boxes, one per view-model figure: one row on a wide screen, a few per row on a phone.

    A wrapping horizontal container of figures as wide as their text (not ``st.columns``, which a phone stacks
    one per line, so five figures fill the screen; nor a grid of equal cells, which cuts "274.8 KB" to "274.…").
    """
    with st.container(horizontal=True, gap="large"):
        for f in figures:
            st.metric(f.label, f.value, f.delta, help=f.help, delta_color="off", width="content")


def _control_flow(exc: BaseException) -> bool:
    """Whether ``exc`` is Streamlit's own way of stopping or rerunning a script (``st.stop``, ``st.rerun``,
    ``st.switch_page``): those must pass through untouched."""
    return any(c.__name__ in ("StopException", "RerunException", "ScriptControlException")
               and c.__module__.startswith("streamlit") for c in type(exc).__mro__)


def run_page(page: Any) -> None:
    """Run one page (``st.Page.run``) so that nothing it lets escape reaches the screen as Python.

    The one wrapper every page runs in (``app.py``): whatever escapes becomes one sentence, the way on
    (try again, or choose another folder), and the details go to GAIA's error log, never to the page.
    """
    try:
        page.run()
    except Exception as exc:
        if _control_flow(exc):
            raise
        show_failure(exc, where=str(getattr(page, "title", "") or getattr(page, "url_path", "") or "a page"))


def show_failure(exc: BaseException, *, where: str) -> None:
    """The page's last words after an unexpected failure: one sentence and a way on; details to the log."""
    log = gaia.views.log_failure(exc, where)
    st.error(gaia.views.page_failure(exc), icon=":material/error:")
    st.caption("Try again, or choose another folder." + (f" The details are in {md(log)} for a bug report."
                                                          if log else ""))
    c = st.columns([1, 3], vertical_alignment="center")
    c[0].button("Try again", icon=":material/refresh:", key="page_failure_retry")
    with c[1]:
        page_link(PAGE_SELECT, "Choose another folder", ":material/folder_open:")


def retry_failed_asking(folder: Path, n_failed: int, *, key: str) -> Any:
    """Retry the failed requests, paid, so it states its amount and asks once: the first button asks (with
    the count and the estimate at batch prices), the second sends. The ``gaia.Folder.retry`` result once sent,
    else ``None``."""
    ss = st.session_state
    asking = f"{key}_asking"
    if not ss.get(asking):
        st.button(f"Retry the {n_failed} failed request(s)…", icon=":material/replay:", key=key,
                  on_click=lambda: ss.__setitem__(asking, True))
        return None
    offer = gaia.views.retry_offer(folder)
    st.warning(offer.question, icon=":material/help:")
    c = st.columns([3, 2, 4])
    yes = c[0].button(offer.label, type="primary", icon=":material/replay:", key=f"{key}_yes")
    c[1].button("Not now", key=f"{key}_no", on_click=lambda: ss.pop(asking, None))
    if not yes:
        return None
    ss.pop(asking, None)
    with st.status("Sending the failed requests again…", expanded=True) as status:
        res = gaia.Folder(folder, client()).retry(on_progress=StreamlitProgress("Requests built"))
        status.update(label="Retry sent" if res.sent else "Nothing sent", state="complete" if res.ok else "error")
    return res


class StreamlitProgress:
    """Turns gaia's ``on_progress(done, total)`` callback into an ``st.progress`` bar."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar = st.progress(0.0, text=label)

    def __call__(self, done: int, total: int) -> None:
        frac = done / total if total else 1.0
        self.bar.progress(min(1.0, frac), text=f"{self.label}: {done} of {total}")

    def empty(self) -> None:
        """Remove the bar."""
        self.bar.empty()


def limit_confirmed(plan: Any, key: str) -> bool:
    """Show the plan's warnings (the answer length limit below the need); with any, sending waits for a tick."""
    if not plan.warnings or not plan.requests:
        return True
    for w in plan.warnings:
        st.warning(w.message, icon=":material/content_cut:")
    return st.checkbox("Send anyway, although answers may be cut off and billed", key=f"{key}_limit_ok")


def _utf8(value: Any) -> Any:
    """``value``, or a file name with bytes that are not UTF-8 shown escaped (the browser gets UTF-8 only)."""
    if isinstance(value, str) and not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return gaia.views.display_name(value)
    return value


def rows_page(n: int, key: str) -> tuple[int, int]:
    """The rows of a long table to show (``gaia.views.ROWS_PER_PAGE`` at a time, a page number above it when there
    are more): what a page builds and sends stays the same size however large the folder."""
    per = gaia.views.ROWS_PER_PAGE
    if n <= per:
        return 0, n
    pages = -(-n // per)
    page = int(st.number_input(f"Page (of {pages:,})", 1, pages, 1, key=key))
    start = (page - 1) * per
    st.caption(gaia.views.rows_caption(start, start + per, n))
    return start, min(n, start + per)


def digest(items: Iterable[Any]) -> str:
    """A key for many items (their ``repr``, hashed as they come): what a cache is keyed by, without building one
    text of 100,000 items first."""
    h = hashlib.sha256()
    for item in items:
        h.update(repr(item).encode("utf-8", "surrogateescape"))
        h.update(b"\n")
    return h.hexdigest()


def table(records: list[dict[str, Any]], *, key: str | None = None, **options: Any) -> Any:
    """A view model's rows as a full-width ``st.dataframe`` without the index (file names shown escaped)."""
    records = [{k: _utf8(v) for k, v in r.items()} for r in records]
    options.setdefault("placeholder", MISSING)  # a missing value reads "–", never "None"
    return st.dataframe(pd.DataFrame(records), hide_index=True, width="stretch", key=key, **options)


# --- Computed once per folder state ---------------------------------------------------------------------
FOLDER_MEMO_ENTRIES = 16  # plans, estimates' inputs: a few folders' worth, shared by every session


@st.cache_resource(max_entries=FOLDER_MEMO_ENTRIES, show_spinner=False)
def _folder_memo(key: str, _fn: Any, _args: tuple, _kwargs: dict) -> Any:
    return _fn(*_args, **_kwargs)


def _memo_token(folder: Path, fn: Any, key: Sequence[Any]) -> str:
    return json.dumps([getattr(fn, "__qualname__", str(fn)), str(folder), gaia.views.folder_token(folder), list(key)],
                      default=str)


@st.cache_resource(show_spinner=False)
def _folder_latest() -> dict[tuple[str, str], tuple[str, Any]]:
    return {}  # (function, folder) -> (token, result): the latest result, for per_folder_state_known


def per_folder_state(folder: Path, fn: Any, *args: Any, key: Sequence[Any] = (), **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` computed once while the folder's state stays the same, then reused.

    For GAIA's public plan and estimate functions, which read the whole folder: the result is kept
    (once, for every session) under the function, the folder, ``key`` (what else the call depends
    on: its options, the settings chosen on the page) and the folder's state token
    (``gaia.views.folder_token``: settings, selection, frame cache, ledger, prompts), so any change
    there computes it again. Treat what comes back as read-only: other sessions share it.
    """
    token = _memo_token(folder, fn, key)
    value = _folder_memo(token, fn, args, kwargs)
    name = getattr(fn, "__qualname__", str(fn))
    _folder_latest()[(name, str(folder))] = (token, value)
    # A result for a state the folder has left is never asked for again (its token holds mtimes): dropped at once,
    # not kept until FOLDER_MEMO_ENTRIES newer ones push it out (at 100,000 videos a plan is hundreds of MB).
    current = _folder_current()
    slot = json.dumps([name, str(folder), list(key)], default=str)
    old = current.get(slot)
    current[slot] = token
    if old is not None and old != token:
        _folder_memo.clear(old, None, None, None)
    return value


@st.cache_resource(show_spinner=False)
def _folder_current() -> dict[str, str]:
    return {}  # (function, folder, key) -> the token of the result last computed for them


def per_folder_state_known(folder: Path, fn: Any, *, key: Sequence[Any] = ()) -> Any | None:
    """What ``per_folder_state(folder, fn, ..., key=key)`` last returned if the folder's state is still the same,
    else ``None``: never computes (a page shows a count only when someone already paid for it)."""
    hit = _folder_latest().get((getattr(fn, "__qualname__", str(fn)), str(folder)))
    return hit[1] if hit is not None and hit[0] == _memo_token(folder, fn, key) else None


def forget_folder_state() -> None:
    """Drop every result ``per_folder_state`` kept (after sending: what was planned has changed)."""
    _folder_memo.clear()
    _folder_latest().clear()
    _folder_current().clear()


@st.cache_resource(show_spinner=False)
def _sidecar_generations() -> dict[str, int]:
    return {}


def sidecars_generation(folder: Path) -> int:
    """How often the app changed the folder's sidecars (a review saved) or was asked to read them again.

    The folder's state token does not follow the sidecars (a save touches neither ledger nor settings), so
    what ``per_folder_state`` keeps from the sidecars (the Results rows, the review queue) is keyed by this
    too; it is shared by every session, so a save in one session is read again by all.
    """
    return _sidecar_generations().get(str(folder), 0)


def sidecars_changed(folder: Path) -> None:
    """Say the folder's sidecars changed (or must be read again): every session reads them again."""
    gens = _sidecar_generations()
    gens[str(folder)] = gens.get(str(folder), 0) + 1
