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
  /** How long the suite may take to send the case count (ms); default 10 s. */
  answerTimeout?: number;
  /** How long one case may run before its connection is dropped and the case fails (ms); default 2 min. */
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
  const count = Number(await readOne(`${base}/getCaseCount`, settings.answerTimeout ?? 10_000));
  if (!Number.isSafeInteger(count) || count < 1) throw new Error(`the fuzzing server reported ${count} cases`);
  const failed: AutobahnClientRun['failed'] = [];
  for (let index = 1; index <= count; index++) {
    process.stdout.write(`\rcase ${index}/${count}`);
    const error = await echoCase(`${base}/runCase?case=${index}&agent=${agent}`, settings);
    if (error !== null) failed.push({ index, error });
  }
  process.stdout.write('\n');
  const reports = await connect(`${base}/updateReports?agent=${agent}`);
  await reports.shutdown();
  console.log(`cases: ${count}`);
  for (const { index, error } of failed) {
    console.error(`case ${index} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
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
  const caseTimeout = settings.caseTimeout ?? 120_000;
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

/** The first message of a connection (the case count); the connection goes either way. */
async function readOne(url: string, timeout: number): Promise<string> {
  const peer = await connect(url);
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
