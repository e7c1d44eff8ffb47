/**
 * One measured round: a fresh server process, one load process, server samples at both marks.
 * @module
 */
import { CLIENT_SCENARIO_SERVER, HANDSHAKE_WARMUP, type Scenario, type Timing } from '../scenarios.ts';
import { ChildLines, freePort, startNode, stopChild } from './processes.ts';
import { Line, parseLoadResult, parseServerStats, type LoadConfig, type LoadResult, type ServerStats } from './protocol.ts';

/** The server's core and the load's core: they never share one. */
const SERVER_CORE = 0;
const LOAD_CORE = 1;
const READY_TIMEOUT_MS = 30_000;

/** A completed round. */
export interface RoundResult {
  readonly ok: true;
  readonly load: LoadResult;
  readonly before: ServerStats;
  readonly after: ServerStats;
  readonly serverDetails: string;
}
/** A round that could not run; `unavailable` means the subject cannot start at all. */
export interface RoundFailure {
  readonly ok: false;
  readonly unavailable: boolean;
  readonly reason: string;
}

function loadConfigFor(scenario: Scenario, url: string, subject: string, timing: Timing, quick: boolean): LoadConfig {
  switch (scenario.kind) {
    case 'echo':
    case 'client':
      return {
        mode: 'echo',
        url,
        connections: scenario.connections,
        inFlight: scenario.inFlight,
        payloadSize: scenario.payloadSize,
        text: scenario.text,
        warmupMs: timing.warmupMs,
        durationMs: timing.durationMs,
        allowMaskedEcho: scenario.kind === 'echo' && subject === 'raw',
        deflate: scenario.kind === 'echo' && scenario.deflate === true,
      };
    case 'handshake':
      // Warm up with more connections than are measured (see HANDSHAKE_WARMUP).
      return { mode: 'handshake', url, count: quick ? scenario.count.quick : scenario.count.full, concurrency: scenario.concurrency, warmupCount: quick ? HANDSHAKE_WARMUP.quick : HANDSHAKE_WARMUP.full };
    case 'idle':
      return {
        mode: 'idle',
        url,
        count: quick ? scenario.count.quick : scenario.count.full,
        concurrency: scenario.concurrency,
        warmupCount: 200,
        settleMs: 300,
        deflateMessage: scenario.deflateMessage ?? 0,
      };
  }
}

/**
 * Asks a server for its accounting and waits for the answer: idle scenarios collect garbage
 * first and have the memory measured again once settled (see `stats settle` in control.ts).
 */
async function sampleServer(server: ReturnType<typeof startNode>, lines: ChildLines, idle: boolean): Promise<ServerStats> {
  server.stdin.write(idle ? 'stats settle\n' : 'stats\n');
  const line = await lines.next([Line.stats], idle ? 60_000 : 10_000);
  return parseServerStats(line.slice(Line.stats.length + 1));
}

/**
 * Runs one round of `scenario` for `subject` (a server name, or a client name for client
 * scenarios). Never throws: failures come back as a `RoundFailure`, and both processes are
 * stopped before it returns.
 */
export async function runRound(scenario: Scenario, subject: string, timing: Timing, quick: boolean): Promise<RoundResult | RoundFailure> {
  const serverName = scenario.kind === 'client' ? CLIENT_SCENARIO_SERVER : subject;
  const port = await freePort();
  const server = startNode({ script: `bench/servers/${serverName}.ts`, core: SERVER_CORE, env: { PORT: String(port) }, nodeFlags: ['--expose-gc'] });
  const serverLines = new ChildLines(server);
  let load: ReturnType<typeof startNode> | undefined;
  try {
    let serverDetails: string;
    try {
      serverDetails = (await serverLines.next([Line.ready], READY_TIMEOUT_MS)).split(' ').slice(2).join(' ');
    } catch (error) {
      return { ok: false, unavailable: server.exitCode !== null, reason: `server ${serverName}: ${errorText(error)}` };
    }
    const config = loadConfigFor(scenario, `ws://127.0.0.1:${port}`, subject, timing, quick);
    const script = scenario.kind === 'client' ? `bench/clients/${subject}.ts` : 'bench/loadgen.ts';
    load = startNode({ script, args: [JSON.stringify(config)], core: LOAD_CORE });
    const loadLines = new ChildLines(load);
    const samples: ServerStats[] = [];
    const deadlineMs = timing.warmupMs + timing.durationMs + 120_000;
    for (;;) {
      let line: string;
      try {
        line = await loadLines.next([Line.mark, Line.result], deadlineMs);
      } catch (error) {
        const unavailable = scenario.kind === 'client' && loadLines.stderrTail.some((text) => text.startsWith('UNAVAILABLE'));
        return { ok: false, unavailable, reason: `${scenario.kind === 'client' ? `client ${subject}` : 'load generator'}: ${errorText(error)}` };
      }
      if (line.startsWith(Line.mark)) {
        samples.push(await sampleServer(server, serverLines, scenario.kind === 'idle'));
        load.stdin.write(`${Line.go}\n`);
        continue;
      }
      const [before, after] = samples;
      if (before === undefined || after === undefined) return { ok: false, unavailable: false, reason: 'missing MARK lines' };
      return roundOutcome(parseLoadResult(line.slice(Line.result.length + 1)), before, after, serverDetails);
    }
  } catch (error) {
    return { ok: false, unavailable: false, reason: errorText(error) };
  } finally {
    await Promise.all([load === undefined ? undefined : stopChild(load), stopChild(server)]);
  }
}

/**
 * A finished round's result, or its failure if nothing was completed in the measured interval:
 * its CPU per unit would be infinite, and as a reference it would make every subject 0× in
 * that round. A round that stalled has failed.
 */
export function roundOutcome(load: LoadResult, before: ServerStats, after: ServerStats, serverDetails: string): RoundResult | RoundFailure {
  if (load.completed === 0) return { ok: false, unavailable: false, reason: `nothing completed in the measured interval (${load.errors} errors)` };
  return { ok: true, load, before, after, serverDetails };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
