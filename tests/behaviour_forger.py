"""Test-only worker behaviour: forges its attestations.

A test worker imports it through `Cluster(worker_modules=...)`.

It proves a different digest and then writes the honest digest into the public signals, so
the signals look right and the proof is a real Groth16 proof, just not of these signals.
"""

from shardy.workers.engine import Engine
from shardy.zk import digest_to_field

_honest = Engine.attest


def _forged(self, order, digest):
    proof, signals = _honest(self, order, "0" * 64)
    signals = list(signals)
    signals[3] = str(digest_to_field(digest))
    return proof, signals


Engine.attest = _forged
