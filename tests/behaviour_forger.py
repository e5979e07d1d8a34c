"""Test-only worker behaviour (loaded through SHARDY_TEST_KERNELS): forges its attestations.

It proves a different digest and then writes the honest digest into the public signals, so
the signals look right and the proof is a real Groth16 proof, just not of these signals.
"""

from shardy.zk import digest_to_field
from workers.runtime import WorkerRuntime

_honest = WorkerRuntime.attest


def _forged(self, order, digest):
    proof, signals = _honest(self, order, "0" * 64)
    signals = list(signals)
    signals[3] = str(digest_to_field(digest))
    return proof, signals


WorkerRuntime.attest = _forged
