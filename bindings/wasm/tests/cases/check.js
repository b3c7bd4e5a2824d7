// Minimal assertions that run unchanged in Node and in the browser (node:assert is Node-only).

/** JSON text of a value with bigints and bytes spelled out, for messages and deep comparison. */
export function show(value) {
  return JSON.stringify(value, (_, v) => {
    if (typeof v === 'bigint') return `${v}n`;
    if (v instanceof Uint8Array) return `bytes:${hex(v)}`;
    return v;
  });
}

/** Lowercase hex of bytes. */
export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Bytes from lowercase or uppercase hex. */
export function fromHex(text) {
  if (typeof text !== 'string' || text.length % 2 !== 0 || /[^0-9a-f]/i.test(text)) {
    throw new Error(`not an even-length hex string: ${text}`);
  }
  return Uint8Array.from(text.match(/../g) ?? [], (h) => parseInt(h, 16));
}

/** Throws unless `actual === expected` (or, for objects, their `show` forms are equal). */
export function eq(actual, expected, what = 'value') {
  const same = typeof actual === 'object' && actual !== null ? show(actual) === show(expected) : actual === expected;
  if (!same) throw new Error(`${what}: expected ${show(expected)}, got ${show(actual)}`);
}

/** Throws unless `cond` is truthy. */
export function ok(cond, what) {
  if (!cond) throw new Error(`expected: ${what}`);
}

/** Throws unless `fn()` throws an `Error` whose message matches `pattern`; returns the error. */
export function throws(fn, pattern, what = 'call') {
  let error;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  if (error === undefined) throw new Error(`${what}: expected an error matching ${pattern}, nothing was thrown`);
  if (!(error instanceof Error)) throw new Error(`${what}: threw a non-Error ${show(error)}`);
  if (error instanceof WebAssembly.RuntimeError) throw new Error(`${what}: the module trapped (${error.message})`);
  if (!pattern.test(error.message)) throw new Error(`${what}: error ${JSON.stringify(error.message)} does not match ${pattern}`);
  return error;
}
