// Shardy's replica attestation: "I, the holder of the secret behind workerCommitment, attest that
// task taskId run with seed and outputLen produced resultDigest."
//
// Public inputs (in this order): taskId, seed, outputLen, resultDigest, workerCommitment.
// Private input: workerSecret.
// Constraints: workerCommitment = Poseidon(workerSecret); outputLen < 2^32; every public input
// appears in a constraint (squares of taskId, seed and resultDigest), so none can be dropped.
pragma circom 2.1.0;

include "poseidon.circom";

// in < 2^n, by decomposition into n boolean signals.
template RangeCheck(n) {
    signal input in;
    signal bits[n];
    var sum = 0;
    var weight = 1;
    for (var i = 0; i < n; i++) {
        bits[i] <-- (in >> i) & 1;
        bits[i] * (bits[i] - 1) === 0;
        sum += bits[i] * weight;
        weight += weight;
    }
    sum === in;
}

template Attestation() {
    signal input taskId;
    signal input seed;
    signal input outputLen;
    signal input resultDigest;
    signal input workerCommitment;
    signal input workerSecret;

    // The worker knows the secret behind its public commitment.
    component hash = Poseidon1();
    hash.in <== workerSecret;
    workerCommitment === hash.out;

    // outputLen is a u32.
    component len = RangeCheck(32);
    len.in <== outputLen;

    // Bind the remaining public inputs with a multiplication each.
    signal taskIdSquared;
    signal seedSquared;
    signal resultDigestSquared;
    taskIdSquared <== taskId * taskId;
    seedSquared <== seed * seed;
    resultDigestSquared <== resultDigest * resultDigest;
}

component main {public [taskId, seed, outputLen, resultDigest, workerCommitment]} = Attestation();
