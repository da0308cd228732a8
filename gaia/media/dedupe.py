"""Near-duplicate and black-frame judgement on small thumbnails of frames already decoded.

A frame's ``Signature`` is its structure (a 64-bit difference hash) plus its colour layout (a 16x16
thumbnail); two frames are near-duplicates when both are close. ``choose_distinct`` keeps frames in
priority order, dropping those that repeat an already kept one; it never decodes anything, so the
cost of near-duplicate handling is the one extra pass the caller spends on replacement candidates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

DUPLICATE_HAMMING = 4  # of 64 bits: structure this close, and ...
DUPLICATE_MEAN_DIFF = 3.0  # ... colour thumbnails this close (mean abs diff, 0-255): a near-duplicate
BLACK_MEAN = 18.0  # mean luma (0-255) below which, with little spread, a frame counts as black
BLACK_STD = 8.0


def _dhash(gray: Image.Image) -> int:
    """64-bit difference hash of a greyscale image's structure (blind to flat colour)."""
    px = np.asarray(gray.resize((9, 8), Image.Resampling.BILINEAR), dtype=np.int16)
    bits = (px[:, :-1] > px[:, 1:]).flatten()
    return int("".join("1" if b else "0" for b in bits), 2)


@dataclass(frozen=True)
class Signature:
    """A perceptual signature: structure (dHash) plus colour layout (a 16x16 thumbnail)."""

    dhash: int
    thumb: np.ndarray

    @classmethod
    def of(cls, image: Image.Image | np.ndarray) -> Signature:
        """The signature of an RGB image (PIL or an HxWx3 uint8 array)."""
        img = Image.fromarray(image) if isinstance(image, np.ndarray) else image
        small = img.resize((64, 64), Image.Resampling.BOX).convert("RGB")  # one cheap reduction, then tiny ones
        thumb = np.asarray(small.resize((16, 16), Image.Resampling.BOX), dtype=np.float32)
        return cls(_dhash(small.convert("L")), thumb)

    def near(self, other: Signature) -> bool:
        """Near-duplicates look alike in structure and in colour."""
        if bin(self.dhash ^ other.dhash).count("1") > DUPLICATE_HAMMING:
            return False
        return float(np.abs(self.thumb - other.thumb).mean()) < DUPLICATE_MEAN_DIFF

    @property
    def black(self) -> bool:
        """Dark and flat: a black lead-in or tail."""
        luma = self.thumb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        return float(luma.mean()) < BLACK_MEAN and float(luma.std()) < BLACK_STD


def choose_distinct(signatures: Sequence[Signature], kept: Sequence[Signature] = (), limit: int | None = None
                    ) -> list[int]:
    """Indexes of ``signatures`` to keep, in priority order: each unlike ``kept`` and the ones chosen before it."""
    chosen: list[int] = []
    seen = list(kept)
    for i, sig in enumerate(signatures):
        if limit is not None and len(chosen) >= limit:
            break
        if any(sig.near(other) for other in seen):
            continue
        chosen.append(i)
        seen.append(sig)
    return chosen
