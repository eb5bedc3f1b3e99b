// The trivial activity body, shared with the benchmark's in-process baseline (direct calls, no host).
function echo(input) {
  return input;
}

module.exports = { echo };
