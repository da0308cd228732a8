"""GAIA: a folder of videos in, one structured Claude analysis per video out, at batch prices.

This is the public API the app's pages and the CLI use; its names are pinned by
``tests/test_public_api.py``. GAIA never imports Streamlit.
"""

from gaia.facts import (
    DEFAULT_MODEL,
    Catalogue,
    ImageTier,
    ModelFacts,
    catalogue,
    fit_to_tier,
    image_tokens,
    model_facts,
)
from gaia.keyframes import Keyframe, KeyframeSet, cached_keyframes, extract_keyframes
from gaia.probe import ProbeInfo, probe_file
from gaia.prompts import (
    ProfileNotFound,
    PromptProfile,
    default_profile,
    list_profiles,
    load_profile,
    save_profile,
    schema_problems,
)
from gaia.scan import FolderError, ScanResult, VideoRecord, check_folder, scan_folder
from gaia.settings import (
    KeyframeSettings,
    RunSettings,
    Selection,
    load_selection,
    load_settings,
    save_settings,
    set_frame_excluded,
    set_video_excluded,
    workdir,
)
from gaia.sidecar import (
    SidecarCollision,
    SidecarError,
    read_sidecar,
    sidecar_path,
    sidecar_state,
    write_sidecar,
)

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MODEL",
    "Catalogue",
    "FolderError",
    "ImageTier",
    "Keyframe",
    "KeyframeSet",
    "KeyframeSettings",
    "ModelFacts",
    "ProbeInfo",
    "ProfileNotFound",
    "PromptProfile",
    "RunSettings",
    "ScanResult",
    "Selection",
    "SidecarCollision",
    "SidecarError",
    "VideoRecord",
    "__version__",
    "cached_keyframes",
    "catalogue",
    "check_folder",
    "default_profile",
    "extract_keyframes",
    "fit_to_tier",
    "image_tokens",
    "list_profiles",
    "load_profile",
    "load_selection",
    "load_settings",
    "model_facts",
    "probe_file",
    "read_sidecar",
    "save_profile",
    "save_settings",
    "scan_folder",
    "schema_problems",
    "set_frame_excluded",
    "set_video_excluded",
    "sidecar_path",
    "sidecar_state",
    "workdir",
    "write_sidecar",
]
