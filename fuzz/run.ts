/**
 * `npm run fuzz [-- --cases N] [-- --seed S]`: every property of `properties.ts`, a million
 * cases in all by default, with a line of figures per property; exits non-zero on the
 * first failure (fast-check prints the shrunk counterexample and the seed to replay it).
 * @module
 */
import { PROPERTIES } from './properties.ts';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`--${name} needs a whole number`);
  return value;
}

const total = option('cases', 1_000_000);
const seed = option('seed', Date.now() % 2 ** 31);
const perProperty = Math.ceil(total / PROPERTIES.length);
console.log(`fuzzing: ${PROPERTIES.length} properties × ${perProperty} cases, seed ${seed}`);
let failures = 0;
for (const property of PROPERTIES) {
  const started = performance.now();
  try {
    property.run(perProperty, seed);
    console.log(`ok    ${property.name}: ${perProperty} cases in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } catch (error) {
    failures++;
    console.log(`FAIL  ${property.name}\n${error instanceof Error ? error.message : String(error)}`);
  }
}
console.log(`${PROPERTIES.length * perProperty} cases run, ${failures} properties failed`);
process.exitCode = failures === 0 ? 0 : 1;
