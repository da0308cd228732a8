"""Pricing: tokens and money, one module per concept (the public names are re-exported by ``gaia``).

From the bottom up: ``usage`` (token counts by billing type, rates, usage → cost, the one
cache-read-share rule), ``tokens`` (prompt, frame and label tokens of a request), ``output``
(output tokens per video), ``scenarios`` (the four ways to send), ``history`` (what past runs
teach), ``cache`` (what caching can do for a run), ``run`` (the one pricing loop over a run's
requests), ``explain`` (findings in words), ``bill`` (a bill and its CSV), ``estimate`` (a run's
expected cost, range and assumptions), ``whatif`` (frame settings and budget), ``models`` (the run
on every model), ``spent`` (actual cost against the estimate), ``inputs`` (what an estimate reads
from a folder). ``cost`` only keeps the old single module's names importable.
"""
