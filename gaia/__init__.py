"""GAIA: a folder of videos in, one structured Claude analysis per video out, at batch prices.

This is the public API the app's pages, the CLI and the notebook use, imported eagerly so that a
type checker, an editor and a static reading of the imports all see what each name is. Its
names are pinned by ``tests/test_public_api.py``; each is used by a page, the CLI or the notebook.

Start from ``gaia.Folder(path, client=None)``: its verbs are the product's operations (``scan``,
``keyframes``, ``estimate``, ``plan``, ``submit``, ``run_now``, ``trial``, ``watch``, ``retrieve``,
``retry``, ``results``, ``spent``, ``tune``, ``export_xmp``, ...), each with typed parameters and a
typed result. Beside it: the record types the verbs return, the errors they raise, and the few
operations that belong to no folder (the model catalogue and its prices, choosing a folder, the
demo, the client, the spend cap). Four public namespaces complete it: ``gaia.views`` (what a page or
the CLI shows), ``gaia.format`` (money, durations, sizes), ``gaia.limits`` (every limit, default,
preset and label a widget or an option reads) and ``gaia.emulator`` (the local stand-in for the API).
GAIA never imports Streamlit.
"""

from __future__ import annotations

from gaia import emulator, format, limits, views
from gaia.api.client import MissingApiKey, describe_error, make_client
from gaia.exports.camtrap import CamtrapDeployment
from gaia.face import Folder, Results
from gaia.facts import catalogue, image_tokens, model_facts, not_offered_reason
from gaia.folder import FolderBusy
from gaia.labels import LabelError
from gaia.media.demo import demo_folder_path, demo_ready, ensure_demo_folder
from gaia.media.scan import FolderError, ScanResult, check_folder, is_allowed, subfolders
from gaia.pricing.bill import Bill, BillCsvError, Spend, bill, read_bill_csv
from gaia.pricing.estimate import Estimate
from gaia.pricing.levers import CascadeEstimate, EmptySaving, ModelRow, budget, what_if
from gaia.pricing.models import TokenCounts
from gaia.pricing.output import output_estimate
from gaia.pricing.tokens import other_ttl
from gaia.prompts import ProfileNotFound, PromptProfile, default_profile, schema_problems
from gaia.quality.tune import ConfigResult, TuneResult
from gaia.quality.verdict import Verdict
from gaia.runs.batch import SubmitResult
from gaia.runs.guard import cap_problem
from gaia.runs.now import OnlineResult, estimate_now_usd
from gaia.runs.plan import SubmissionPlan
from gaia.runs.retrieve import RetrieveResult
from gaia.runs.status import BatchStatus
from gaia.runs.trial import TrialResult, TrialUndo, run_choice
from gaia.settings import RunSettings, allowed_roots, frame_preset, parse_cascade
from gaia.sidecar import SidecarError

__version__ = "0.1.0"

# The face, its records and errors, the operations of no folder, and the four namespaces (sorted, as ruff asks).
__all__ = [
    "BatchStatus",
    "Bill",
    "BillCsvError",
    "CamtrapDeployment",
    "CascadeEstimate",
    "ConfigResult",
    "EmptySaving",
    "Estimate",
    "Folder",
    "FolderBusy",
    "FolderError",
    "LabelError",
    "MissingApiKey",
    "ModelRow",
    "OnlineResult",
    "ProfileNotFound",
    "PromptProfile",
    "Results",
    "RetrieveResult",
    "RunSettings",
    "ScanResult",
    "SidecarError",
    "Spend",
    "SubmissionPlan",
    "SubmitResult",
    "TokenCounts",
    "TrialResult",
    "TrialUndo",
    "TuneResult",
    "Verdict",
    "__version__",
    "allowed_roots",
    "bill",
    "budget",
    "cap_problem",
    "catalogue",
    "check_folder",
    "default_profile",
    "demo_folder_path",
    "demo_ready",
    "describe_error",
    "emulator",
    "ensure_demo_folder",
    "estimate_now_usd",
    "format",
    "frame_preset",
    "image_tokens",
    "is_allowed",
    "limits",
    "make_client",
    "model_facts",
    "not_offered_reason",
    "other_ttl",
    "output_estimate",
    "parse_cascade",
    "read_bill_csv",
    "run_choice",
    "schema_problems",
    "subfolders",
    "views",
    "what_if",
]
