/**
 * `wspeer-twin`: the `wspeer` entry under another name, the run's A/A control. It runs the
 * same code in its own process and its own place in each round, so its ratio to `wspeer`
 * would be 1.00× on a harness without bias; how far it strays says how small a difference
 * between two subjects this run can resolve.
 * @module
 */
import { startWspeerEcho } from './wspeer-echo.ts';

await startWspeerEcho('wspeer-twin');
