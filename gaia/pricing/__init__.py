"""Pricing: tokens and money, one module per concept (the public names are re-exported by ``gaia``).

From the bottom up: ``models`` (a model's facts resolved once and passed down: tokens by billing
type, usage → cost, the one cache-read-share rule, the four ways to send), ``bill`` (what was
billed: a bill and its CSV, what a folder has spent, and what past runs teach), ``tokens`` (a
request's input tokens: prompt text, frames, frame-size presets, the cached prefix and its hit
share), ``output`` (how long answers run: output per video, the answer length limit),
``estimate`` (the one estimate of a folder: the pricing loop, range, assumptions, explanations),
``levers`` (the same run priced otherwise: what-if, budget, every model, likely-empty clips, a
cascade).
"""
