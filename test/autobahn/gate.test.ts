import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import {
  caseOutcome,
  compareCaseIds,
  evaluate,
  GateInputError,
  judge,
  parseIndex,
  selectAgent,
  sortCaseIds,
  summarize,
} from '../../autobahn/gate.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'wspeer-gate-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

let dirCount = 0;

type Entry = { behavior: string; behaviorClose: string };

function entry(behavior: string, behaviorClose = behavior): Entry & Record<string, unknown> {
  return { behavior, behaviorClose, duration: 3, remoteCloseCode: 1000, reportfile: 'x.json' };
}

/** Writes `content` (an object, or raw text) as index.json in a fresh directory. */
function reportDir(content: unknown): string {
  const dir = join(scratch, `r${dirCount++}`);
  mkdirSync(dir);
  const text = typeof content === 'string' ? content : JSON.stringify(content);
  writeFileSync(join(dir, 'index.json'), text);
  return dir;
}

function runGate(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const child = spawnSync(process.execPath, ['--import', 'tsx', 'autobahn/gate.ts', ...args], {
    cwd: root,
    encoding: 'utf8',
  });
  return { status: child.status, stdout: child.stdout, stderr: child.stderr };
}

const allOk = {
  wspeer: {
    '1.1.1': entry('OK'),
    '2.1': entry('OK'),
    '6.4.1': entry('NON-STRICT', 'OK'),
    '7.1.6': entry('INFORMATIONAL', 'INFORMATIONAL'),
    '12.1.1': entry('OK'),
  },
};

describe('gate CLI exit codes', () => {
  test('all OK/INFORMATIONAL exits 0 and prints the table', () => {
    const dir = reportDir({
      wspeer: { '1.1.1': entry('OK'), '7.1.6': entry('INFORMATIONAL'), '13.1.1': entry('OK') },
    });
    const run = runGate(dir);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /1 Framing/);
    assert.match(run.stdout, /7 Close handling/);
    assert.match(run.stdout, /13 WebSocket compression \(different parameters\)/);
    assert.match(run.stdout, /PASS/);
  });

  test('one FAILED case exits 1 and is named', () => {
    const dir = reportDir({
      wspeer: { '1.1.1': entry('OK'), '5.19': entry('FAILED', 'OK'), '6.2.1': entry('OK') },
    });
    const run = runGate(dir, '--agent', 'wspeer');
    assert.equal(run.status, 1);
    assert.match(run.stdout, /FAIL: 1 case/);
    assert.match(run.stdout, /5\.19 \(behavior FAILED, close OK\)/);
    assert.doesNotMatch(run.stdout, /x 1\.1\.1/);
  });

  test('a failing close verdict alone also fails', () => {
    const dir = reportDir({ wspeer: { '7.5.1': entry('OK', 'WRONG CODE') } });
    const run = runGate(dir);
    assert.equal(run.status, 1);
    assert.match(run.stdout, /7\.5\.1 \(behavior OK, close WRONG CODE\)/);
  });

  test('NON-STRICT is a prominent warning but exits 0', () => {
    const run = runGate(reportDir(allOk));
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /WARNING: 1 NON-STRICT/);
    assert.match(run.stdout, /! 6\.4\.1/);
  });

  test('UNIMPLEMENTED exits 1', () => {
    const dir = reportDir({
      wspeer: { '1.1.1': entry('OK'), '12.1.1': entry('UNIMPLEMENTED') },
    });
    const run = runGate(dir);
    assert.equal(run.status, 1);
    assert.match(run.stdout, /12\.1\.1 \(behavior UNIMPLEMENTED/);
  });

  test('missing index.json exits 2', () => {
    const run = runGate(join(scratch, 'does-not-exist'));
    assert.equal(run.status, 2);
    assert.match(run.stderr, /cannot read .*index\.json/);
  });

  test('malformed JSON exits 2', () => {
    const run = runGate(reportDir('{"wspeer": {'));
    assert.equal(run.status, 2);
    assert.match(run.stderr, /not valid JSON/);
  });

  test('wrong shape exits 2', () => {
    const run = runGate(reportDir({ wspeer: { '1.1.1': { behavior: 'OK' } } }));
    assert.equal(run.status, 2);
    assert.match(run.stderr, /behaviorClose/);
  });

  test('absent agent exits 2', () => {
    const run = runGate(reportDir({ other: { '1.1.1': entry('OK') } }), '--agent', 'wspeer');
    assert.equal(run.status, 2);
    assert.match(run.stderr, /agent "wspeer" is not in the report/);
  });

  test('several agents without --agent exits 2', () => {
    const dir = reportDir({ a: { '1.1.1': entry('OK') }, b: { '1.1.1': entry('OK') } });
    const run = runGate(dir);
    assert.equal(run.status, 2);
    assert.match(run.stderr, /--agent/);
  });

  test('missing directory argument exits 2', () => {
    const run = runGate();
    assert.equal(run.status, 2);
    assert.match(run.stderr, /usage/);
  });
});

describe('gate pure functions', () => {
  test('case ids sort numerically', () => {
    const ids = ['1.1.10', '10.1.1', '1.1.9', '9.8.6', '1.2.1', '2.10', '2.9', '1.1.1', '12.1.1'];
    assert.deepEqual(sortCaseIds(ids), [
      '1.1.1',
      '1.1.9',
      '1.1.10',
      '1.2.1',
      '2.9',
      '2.10',
      '9.8.6',
      '10.1.1',
      '12.1.1',
    ]);
    assert.equal(compareCaseIds('1.1', '1.1.1') < 0, true);
    assert.equal(compareCaseIds('3.1', '3.1'), 0);
  });

  test('failures are listed in numeric order', () => {
    const cases = parseIndex(
      JSON.stringify({
        wspeer: {
          '1.1.10': entry('FAILED'),
          '1.1.9': entry('FAILED'),
          '1.1.2': entry('OK'),
        },
      }),
    ).get('wspeer');
    assert.ok(cases);
    assert.deepEqual(
      judge(cases).failures.map((flagged) => flagged.id),
      ['1.1.9', '1.1.10'],
    );
  });

  test('the worse verdict decides the bucket', () => {
    assert.equal(caseOutcome(entry('OK', 'OK')), 'OK');
    assert.equal(caseOutcome(entry('INFORMATIONAL', 'OK')), 'INFORMATIONAL');
    assert.equal(caseOutcome(entry('OK', 'INFORMATIONAL')), 'INFORMATIONAL');
    assert.equal(caseOutcome(entry('NON-STRICT', 'OK')), 'NON-STRICT');
    assert.equal(caseOutcome(entry('NON-STRICT', 'UNCLEAN')), 'FAILED');
    assert.equal(caseOutcome(entry('UNIMPLEMENTED', 'UNIMPLEMENTED')), 'UNIMPLEMENTED');
    assert.equal(caseOutcome(entry('OK', 'WRONG CODE')), 'FAILED');
  });

  test('summarize counts per family in family order', () => {
    const cases = parseIndex(
      JSON.stringify({
        wspeer: {
          '12.1.1': entry('UNIMPLEMENTED'),
          '1.1.1': entry('OK'),
          '1.1.2': entry('FAILED'),
          '6.4.1': entry('NON-STRICT', 'OK'),
          '99.1': entry('OK'),
        },
      }),
    ).get('wspeer');
    assert.ok(cases);
    const rows = summarize(cases);
    assert.deepEqual(
      rows.map((row) => [row.category, row.name, row.total]),
      [
        [1, 'Framing', 2],
        [6, 'UTF-8 handling', 1],
        [12, 'WebSocket compression (different payloads)', 1],
        [99, 'Other', 1],
      ],
    );
    assert.deepEqual(rows[0]?.counts, {
      OK: 1,
      'NON-STRICT': 0,
      INFORMATIONAL: 0,
      UNIMPLEMENTED: 0,
      FAILED: 1,
    });
    assert.equal(rows[1]?.counts['NON-STRICT'], 1);
    assert.equal(rows[2]?.counts.UNIMPLEMENTED, 1);
  });

  test('judge separates failures from warnings', () => {
    const cases = parseIndex(JSON.stringify(allOk)).get('wspeer');
    assert.ok(cases);
    const verdict = judge(cases);
    assert.equal(verdict.exitCode, 0);
    assert.deepEqual(verdict.failures, []);
    assert.deepEqual(
      verdict.warnings.map((flagged) => flagged.id),
      ['6.4.1'],
    );
  });

  test('parseIndex rejects bad input with GateInputError', () => {
    assert.throws(() => parseIndex('[]'), GateInputError);
    assert.throws(() => parseIndex('{"a": 1}'), GateInputError);
    assert.throws(() => parseIndex('{"a": {"x.y": {}}}'), GateInputError);
    assert.throws(() => parseIndex('{"a": {"1.1": {"behavior": 1, "behaviorClose": "OK"}}}'), GateInputError);
  });

  test('selectAgent picks the only agent and rejects empty ones', () => {
    const index = parseIndex(JSON.stringify({ solo: { '1.1.1': entry('OK') }, empty: {} }));
    assert.equal(selectAgent(index, 'solo').agent, 'solo');
    assert.throws(() => selectAgent(index, 'empty'), /no cases/);
    assert.throws(() => selectAgent(index), /--agent/);
    const single = parseIndex(JSON.stringify({ solo: { '1.1.1': entry('OK') } }));
    assert.equal(selectAgent(single).agent, 'solo');
  });

  test('a report with fewer cases than the suite said it would run fails as incomplete, however clean it is', () => {
    const count = Object.keys(allOk.wspeer).length;
    assert.equal(evaluate(JSON.stringify(allOk), 'wspeer', count).exitCode, 0);
    const { lines, exitCode } = evaluate(JSON.stringify(allOk), 'wspeer', count + 1);
    assert.equal(exitCode, 1);
    assert.ok(lines.some((line) => line.startsWith(`INCOMPLETE: the report holds ${count} case(s), but the suite said it would run ${count + 1}`)));
    assert.ok(!lines.some((line) => line.startsWith('PASS')));
  });

  test('evaluate reports totals', () => {
    const { lines, exitCode } = evaluate(JSON.stringify(allOk), 'wspeer');
    assert.equal(exitCode, 0);
    const totals = lines.find((line) => line.startsWith('All'));
    assert.ok(totals);
    assert.deepEqual(totals.trim().split(/\s+/), ['All', '3', '1', '1', '0', '0', '5']);
  });
});
