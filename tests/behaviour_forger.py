"""Test-only worker behaviour: forges its attestations.

A test worker imports it through `Cluster(worker_modules=...)`.

It proves a different digest and then writes the honest digest into the public signals, so
the signals look right and the proof is a real Groth16 proof, just not of these signals.
Statement version 1 carries the digest's top 248 bits at signal 3; version 2 its two 128-bit
halves at signals 3 and 4 (`shardy.statement`).
"""

from shardy import statement
from shardy.workers.engine import Engine
from shardy.zk import digest_to_field

_honest = Engine.attest


def _forged(self, order, digest):
    proof, signals = _honest(self, order, "0" * 64)
    signals = list(signals)
    if len(signals) == statement.N_PUBLIC[statement.V2]:
        hi, lo = statement.digest_halves(digest)
        signals[3], signals[4] = str(hi), str(lo)
    else:
        signals[3] = str(digest_to_field(digest))
    return proof, signals


Engine.attest = _forged
