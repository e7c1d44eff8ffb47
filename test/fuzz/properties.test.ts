/**
 * The fuzz properties, briefly, on every test run: `npm run fuzz` runs the same ones for a
 * million cases.
 */
import { test } from 'node:test';

import { PROPERTIES } from '../../fuzz/properties.ts';

for (const property of PROPERTIES) {
  test(`fuzz: ${property.name}`, () => {
    property.run(500);
  });
}
