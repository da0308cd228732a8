"""Runs: a pure plan, one guard, one recorder, one spool; batch and run now are two transports of one run."""
