// A small harness for the article's snippets: they report through console.log (success)
// and console.error (failure) and swallow their errors, so the harness records what they
// print, then checks it. A failure names the peer, the step and the response.
'use strict';
const util = require('node:util');

/** Runs `fn` while recording console.log / console.error; returns what was printed. */
async function capture(fn) {
  const logged = [];
  const errors = [];
  const { log, error } = console;
  console.log = (...args) => logged.push(args);
  console.error = (...args) => errors.push(args);
  let result;
  try {
    result = await fn();
  } finally {
    console.log = log;
    console.error = error;
  }
  return { logged, errors, result };
}

/** The response an axios error carries, as one line for a failure message. */
function describe(value) {
  if (value && value.isAxiosError) {
    const response = value.response;
    if (!response) {
      return `no response (${value.code || value.message})`;
    }
    return `${response.status} ${JSON.stringify(response.data)}`;
  }
  return util.inspect(value, { depth: 4, breakLength: Infinity });
}

/** A failure of `peer` at `step`, with what it saw. */
class InteropError extends Error {
  constructor(peer, step, detail) {
    super(`${peer}: ${step}: ${detail}`);
    this.name = 'InteropError';
  }
}

function fail(peer, step, detail) {
  throw new InteropError(peer, step, detail);
}

module.exports = { capture, describe, fail, InteropError };
