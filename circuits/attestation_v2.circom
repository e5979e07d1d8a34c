// Shardy's replica attestation, statement version 2: "I, the holder of the secret behind
// workerCommitment, attest that the order orderHash of task taskId produced the result whose
// sha256 is digestHi * 2^128 + digestLo."
//
// Public inputs (in this order): statement (= 2), taskId, orderHash, digestHi, digestLo,
// workerCommitment. Private input: workerSecret.
// The order hash binds the kernel, its params, the payload's sha256, the seed, the output
// length, the round and the replica (shardy/statement.py); the digest is bound in full (two
// 128-bit halves; version 1 kept only its top 248 bits). Verifiers compute every public input
// themselves and compare, so no value needs a range check here.
// Constraints: statement = 2; workerCommitment = Poseidon(workerSecret); every other public
// input appears in a constraint (its square), so none can be dropped by the compiler.
pragma circom 2.1.0;

include "poseidon.circom";

template AttestationV2() {
    signal input statement;
    signal input taskId;
    signal input orderHash;
    signal input digestHi;
    signal input digestLo;
    signal input workerCommitment;
    signal input workerSecret;

    // The statement's version is part of what is proven.
    statement === 2;

    // The worker knows the secret behind its public commitment.
    component hash = Poseidon1();
    hash.in <== workerSecret;
    workerCommitment === hash.out;

    // Bind the remaining public inputs with a multiplication each.
    signal taskIdSquared;
    signal orderHashSquared;
    signal digestHiSquared;
    signal digestLoSquared;
    taskIdSquared <== taskId * taskId;
    orderHashSquared <== orderHash * orderHash;
    digestHiSquared <== digestHi * digestHi;
    digestLoSquared <== digestLo * digestLo;
}

component main {public [statement, taskId, orderHash, digestHi, digestLo, workerCommitment]} = AttestationV2();
