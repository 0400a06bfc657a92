pragma circom 2.0.0;

// Dev fixture for lazai-zk: proves knowledge of a and b with a * b = c, bound to a task id.
// Public signals, in snarkjs order: c (the output), then task (a public input).
template Multiplier() {
    signal input a;
    signal input b;
    signal input task;
    signal output c;
    signal taskSquared;

    c <== a * b;
    // Constrains `task` so it is a real public input of the circuit.
    taskSquared <== task * task;
}

component main {public [task]} = Multiplier();
