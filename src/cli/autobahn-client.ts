/**
 * The Autobahn|Testsuite testee client: ask the fuzzing server how many cases there are,
 * run each by echoing every message back until the server closes, then ask it to write
 * the reports. A case whose connection fails is reported, not skipped in silence.
 * @module
 */
import { connect } from '../client/connect.ts';
import { TimeoutError } from '../peer/errors.ts';
import type { Peer } from '../peer/peer.ts';

/** Where the fuzzing server is and what to call ourselves in its report. */
export interface AutobahnClientSettings {
  url: string;
  agent: string;
  /** Largest message a case may send; the suite's 9.* cases go up to 16 MiB. */
  maxPayload?: number;
  /** Offer permessage-deflate with context takeover, which the suite's 12.* and 13.* cases need. */
  deflate?: boolean;
  /**
   * How long the suite may take to answer the first request, the case count (ms); default
   * 60 s. Until then a refused or dropped connection is tried again: a port Docker publishes
   * accepts connections before the suite in the container listens.
   */
  answerTimeout?: number;
  /**
   * How long one case may run before its connection is dropped and the case fails (ms);
   * default 10 min, past the suite's own limits (8 min for its largest 13.* cases) on a
   * slow or emulated host.
   */
  caseTimeout?: number;
}

/** What a run did: the suite's case count, and the cases whose connection could not be opened or that outran `caseTimeout`. */
export interface AutobahnClientRun {
  count: number;
  failed: Array<{ index: number; error: unknown }>;
}

/**
 * Run every case of the suite against our client, then have the suite write its reports.
 * Prints `cases: N` (the suite's count, which the report must hold) and each case that
 * failed: no case of the suite expects that, so the caller should fail the run. Every wait
 * is bounded, so a suite that stops answering ends the run rather than hangs it.
 */
export async function runAutobahnClient(settings: AutobahnClientSettings): Promise<AutobahnClientRun> {
  const base = settings.url.replace(/\/+$/, '');
  const agent = encodeURIComponent(settings.agent);
  const answer = await readFirst(`${base}/getCaseCount`, settings.answerTimeout ?? 60_000);
  const count = Number(answer);
  // What it said, quoted: `Number` would turn "many" into NaN and "" into 0.
  if (!Number.isSafeInteger(count) || count < 1) throw new Error(`the fuzzing server reported ${JSON.stringify(answer)} cases`);
  const failed: AutobahnClientRun['failed'] = [];
  try {
    for (let index = 1; index <= count; index++) {
      process.stdout.write(`\rcase ${index}/${count}`);
      const error = await echoCase(`${base}/runCase?case=${index}&agent=${agent}`, settings);
      if (error !== null) failed.push({ index, error });
    }
    process.stdout.write('\n');
    const reports = await connect(`${base}/updateReports?agent=${agent}`);
    await reports.shutdown();
  } finally {
    // Named whether or not the run got to the end: a suite that died midway leaves only these.
    for (const { index, error } of failed) {
      console.error(`case ${index} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  console.log(`cases: ${count}`);
  console.log(`reports updated for agent ${settings.agent}`);
  return { count, failed };
}

/**
 * Connect, echo every message until the connection closes. Returns why the connection could
 * not be opened or why the case failed (it outran `caseTimeout`), or null.
 */
async function echoCase(url: string, settings: AutobahnClientSettings): Promise<unknown> {
  const deflate = settings.deflate ?? true;
  let peer: Peer;
  try {
    peer = await connect(url, {}, { maxPayload: settings.maxPayload ?? 20 * 1024 * 1024, deflate: deflate ? { contextTakeover: true, threshold: 0 } : false });
  } catch (error) {
    return error;
  }
  const caseTimeout = settings.caseTimeout ?? 600_000;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    peer.close();
  }, caseTimeout);
  // The read path on purpose: the server testee uses callbacks, so both APIs face the suite.
  for await (const message of peer) {
    // A write refused because the case closed the connection needs no handling.
    peer.write(message.data).catch(ignore);
  }
  clearTimeout(timer);
  return timedOut ? new TimeoutError('the case', caseTimeout) : null;
}

/**
 * The first message of the suite's first connection (the case count), trying again every
 * half second while the connection is refused or dropped before its handshake, up to
 * `timeout` ms in all.
 */
async function readFirst(url: string, timeout: number): Promise<string> {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      return await readOne(url, Math.max(1, deadline - Date.now()));
    } catch (error) {
      if (!isNotListeningYet(error) || Date.now() + RETRY_DELAY >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY));
    }
  }
}

/** Between tries of the first request. */
const RETRY_DELAY = 500;

/** A connection refused or reset, or closed before the end of the handshake: nothing listens behind the port yet. */
function isNotListeningYet(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'WS_RESPONSE_CLOSED';
}

/** The first message of a connection (the case count); the connection goes either way. */
async function readOne(url: string, timeout: number): Promise<string> {
  const peer = await connect(url, {}, { timeout });
  let message;
  try {
    message = await peer.read(timeout);
  } catch (error) {
    peer.close(); // a suite that stopped answering is not owed a closing handshake
    throw error;
  }
  await peer.shutdown();
  if (message === null || typeof message.data !== 'string') throw new Error(`no case count from ${url}`);
  return message.data;
}

function ignore(): void {}
