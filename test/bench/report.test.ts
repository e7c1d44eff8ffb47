/**
 * The report's A/A control: `wspeer-twin / wspeer` per scenario, from per-round ratios, so
 * that a reader sees how far identical subjects stray in the same run.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { SubjectSeries } from '../../bench/lib/metrics.ts';
import { controlTable, type ScenarioResults } from '../../bench/lib/report.ts';
import { SCENARIOS } from '../../bench/scenarios.ts';

function scenario(id: string): ScenarioResults['scenario'] {
  return SCENARIOS.find((entry) => entry.id === id)!;
}

test('the A/A control gives the median and the range of per-round twin / original ratios on the first metric, pairing rounds', () => {
  const original: SubjectSeries = { subject: 'wspeer', rounds: [{ cpu: 10 }, { cpu: 20 }, { cpu: 10 }, undefined], failures: [] };
  // Round by round: 1.1, 0.9, 1.3; the fourth failed for the original and is left out.
  const twin: SubjectSeries = { subject: 'wspeer-twin', rounds: [{ cpu: 11 }, { cpu: 18 }, { cpu: 13 }, { cpu: 50 }], failures: [] };
  const idleOriginal: SubjectSeries = { subject: 'wspeer', rounds: [{ settledRssPerConn: 2000, rssPerConn: 5000 }], failures: [] };
  const idleTwin: SubjectSeries = { subject: 'wspeer-twin', rounds: [{ settledRssPerConn: 2200, rssPerConn: 5000 }], failures: [] };
  const table = controlTable([
    { scenario: scenario('binary-64k'), series: [original, twin] },
    { scenario: scenario('idle-memory'), series: [idleOriginal, idleTwin] },
    { scenario: scenario('binary-4m'), series: [original] },
  ]);
  assert.ok(table !== null);
  const rows = table.split('\n').slice(2);
  assert.equal(rows.length, 2, 'a scenario without the twin has no row');
  assert.equal(rows[0], '| 3. binary-64k | server CPU µs/msg | 1.10× | 0.90× – 1.30× | 3 |');
  assert.equal(rows[1], '| 6. idle-memory | server RSS B/conn, settled | 1.10× | 1.10× – 1.10× | 1 |');
});

test('without the twin in any scenario there is no control table', () => {
  const original: SubjectSeries = { subject: 'wspeer', rounds: [{ cpu: 10 }], failures: [] };
  assert.equal(controlTable([{ scenario: scenario('binary-32'), series: [original] }]), null);
});
