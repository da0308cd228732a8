"""``gaia emulator``: run the local Anthropic API emulator in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from gaia._cli._common import add_parser
from gaia.emulator import EmulatorConfig, EmulatorHandle, HttpFault, serve_forever

DEFAULT_PORT = 8765
DEFAULT_STATE_DIR = Path(".gaia-emulator")


def _rate(value: str) -> float:
    try:
        rate = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not 0.0 <= rate <= 1.0:
        raise argparse.ArgumentTypeError(f"{value} is not a share between 0 and 1")
    return rate


def _fault(value: str) -> HttpFault:
    try:
        return HttpFault.parse(value)
    except (ValueError, TypeError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(sub: Any) -> None:
    """Add the ``emulator`` subcommand."""
    p = add_parser(
        sub, "emulator",
        "Run a local emulator of the Anthropic Messages and Message Batches API (no key, no network, "
        "no cost). Point GAIA at it with ANTHROPIC_BASE_URL.",
        "gaia emulator --port 8765 --delay 30 --errored-rate 0.1 --fault batches.retrieve:529:3:2\n"
        "  ANTHROPIC_BASE_URL=http://127.0.0.1:8765 ANTHROPIC_API_KEY=dummy gaia submit ~/Videos/pets",
    )
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT}; 0 = any)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR,
                   help=f"where batches, results and the cache are kept (default ./{DEFAULT_STATE_DIR})")
    p.add_argument("--delay", type=float, default=5.0, metavar="S",
                   help="seconds from batch creation to 'ended' (default 5)")
    p.add_argument("--cancel-delay", type=float, default=0.0, metavar="S",
                   help="seconds from a cancel to 'ended' (default 0)")
    p.add_argument("--messages-latency", type=float, default=0.02, metavar="S",
                   help="seconds POST /v1/messages takes (default 0.02)")
    for name, what in (("errored", "errored results"), ("expired", "expired results"),
                       ("canceled", "canceled results"), ("malformed", "answers that are not valid JSON"),
                       ("refusal", "answers with stop_reason 'refusal'"),
                       ("max-tokens", "answers cut off with stop_reason 'max_tokens'")):
        p.add_argument(f"--{name}-rate", type=_rate, default=0.0, metavar="SHARE", help=f"share of {what}")
    p.add_argument("--cache-hit-rate", type=_rate, default=0.9, metavar="SHARE",
                   help="chance a batch request reads a prefix that is already cached (default 0.9)")
    p.add_argument("--cache-first-writes", type=int, default=1, metavar="N",
                   help="requests of a batch that each write a new cached prefix before it can be read "
                        "(they run in parallel; default 1)")
    p.add_argument("--fault", type=_fault, action="append", default=[], metavar="ROUTE:STATUS[:COUNT[:RETRY]]",
                   help="answer COUNT calls (default 1, '*' = all) of ROUTE (e.g. batches.create, "
                        "batches.results, messages.create, or '*') with HTTP STATUS (429, 500, 529, ...) "
                        "and a retry-after of RETRY seconds; repeatable")
    p.add_argument("--drop-results-after", type=int, default=None, metavar="N",
                   help="cut the connection after N lines of every results stream")
    p.add_argument("--seed", type=int, default=0, help="seed for every random choice (default 0)")
    p.add_argument("--max-batch-bytes", type=int, default=None, metavar="BYTES",
                   help="largest batch body accepted (default: the API's 256 MB)")
    p.set_defaults(func=run)


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    """The ``EmulatorConfig`` the command-line options describe."""
    extra = {} if args.max_batch_bytes is None else {"max_batch_bytes": args.max_batch_bytes}
    return EmulatorConfig(
        batch_delay_s=args.delay, cancel_delay_s=args.cancel_delay, messages_latency_s=args.messages_latency,
        errored_rate=args.errored_rate, expired_rate=args.expired_rate, canceled_rate=args.canceled_rate,
        malformed_rate=args.malformed_rate, refusal_rate=args.refusal_rate, max_tokens_rate=args.max_tokens_rate,
        cache_hit_rate=args.cache_hit_rate, cache_first_writes=args.cache_first_writes, http_faults=list(args.fault),
        drop_results_stream_after=args.drop_results_after, seed=args.seed, **extra,
    )


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; exit 1 when the options or the port are unusable."""
    try:
        config = config_from_args(args)
    except ValueError as exc:
        print(f"gaia emulator: {exc}", file=sys.stderr)
        return 1

    def ready(handle: EmulatorHandle) -> None:
        print(f"GAIA API emulator listening on {handle.base_url} (state in {handle.state_dir})")
        print(f"  export ANTHROPIC_BASE_URL={handle.base_url} ANTHROPIC_API_KEY=emulator")
        print("  Ctrl-C to stop", flush=True)

    def terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, terminate)
    try:
        serve_forever(state_dir=args.state_dir, config=config, host=args.host, port=args.port, on_ready=ready)
    except OSError as exc:
        print(f"gaia emulator: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("emulator stopped", file=sys.stderr)
    return 0
