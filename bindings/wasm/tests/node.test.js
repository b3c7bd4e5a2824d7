// Node suite: every shared case against the nodejs build of the package.
import { test } from 'node:test';
import * as dcs from '../js/node.js';
import { cases as api } from './cases/api.js';
import { cases as badInput } from './cases/bad_input.js';
import { cases as till } from './cases/till.js';
import { vectorCases } from './cases/vectors.js';
import { readVectors } from './vectors_file.js';

for (const [name, fn] of Object.entries({ ...api, ...badInput, ...till })) {
  test(name, () => fn(dcs));
}

const vectors = readVectors();
for (const [name, fn] of Object.entries(vectorCases(vectors))) {
  test(`vectors: ${name}`, () => fn(dcs));
}
