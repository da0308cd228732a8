"""Exports of a folder's answers for the tools people already use.

``xmp``: XMP sidecars beside each video for photo managers (digiKam, darktable, Lightroom,
Immich, exiftool); ``camtrap``: a Camtrap DP package for camera-trap software. Both read the
effective answer (``gaia.labels.effective_analysis``), so human-verified fields always win.
"""
