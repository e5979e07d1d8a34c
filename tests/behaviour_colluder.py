"""Test-only worker behaviour: a colluder. While the file named by SHARDY_TEST_COLLUDE_FILE
exists, every output it computes is altered the same way on every colluding worker (its first
byte flipped) before it is stored and attested: one shared wrong digest, valid proofs.

"Naive" colluders start with the file present; "smart" ones are honest until it appears
(after they have reached standing).

A test worker imports it through `Cluster(worker_modules=...)`.
"""

import os

from shardy.workers import execute

_honest = execute.compute
_flag = os.environ["SHARDY_TEST_COLLUDE_FILE"]


def _tamper(output):
    data = bytearray(output)
    if data:
        data[0] ^= 0x01
    return bytes(data)


def _colluding(engine, order, payload, digest_of, report=lambda stage, pct: None):
    if not os.path.exists(_flag):
        return _honest(engine, order, payload, digest_of, report)
    return _honest(engine, order, payload, lambda out: digest_of(_tamper(out)), report)


execute.compute = _colluding
