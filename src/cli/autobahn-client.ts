/**
 * The Autobahn|Testsuite testee client: ask the fuzzing server how many cases there are,
 * run each by echoing every message back until the server closes, then ask it to write
 * the reports.
 * @module
 */
import { connect } from '../client/connect.ts';

/** Where the fuzzing server is and what to call ourselves in its report. */
export interface AutobahnClientSettings {
  url: string;
  agent: string;
  /** Largest message a case may send; the suite's 9.* cases go up to 16 MiB. */
  maxPayload?: number;
  /** Offer permessage-deflate with context takeover, which the suite's 12.* and 13.* cases need. */
  deflate?: boolean;
}

/** Run every case of the suite against our client. */
export async function runAutobahnClient(settings: AutobahnClientSettings): Promise<void> {
  const base = settings.url.replace(/\/+$/, '');
  const agent = encodeURIComponent(settings.agent);
  const count = Number(await readOne(`${base}/getCaseCount`));
  if (!Number.isSafeInteger(count) || count < 1) throw new Error(`the fuzzing server reported ${count} cases`);
  for (let index = 1; index <= count; index++) {
    process.stdout.write(`\rcase ${index}/${count}`);
    await echoCase(`${base}/runCase?case=${index}&agent=${agent}`, settings.maxPayload ?? 20 * 1024 * 1024, settings.deflate ?? true);
  }
  process.stdout.write('\n');
  const reports = await connect(`${base}/updateReports?agent=${agent}`);
  await reports.shutdown();
  console.log(`reports updated for agent ${settings.agent}`);
}

/** Connect, echo every message until the connection closes. Failed connections are part of some cases. */
async function echoCase(url: string, maxPayload: number, deflate: boolean): Promise<void> {
  let peer;
  try {
    peer = await connect(url, {}, { maxPayload, deflate: deflate ? { contextTakeover: true, threshold: 0 } : false });
  } catch {
    return;
  }
  // The read path on purpose: the server testee uses callbacks, so both APIs face the suite.
  for await (const message of peer) {
    // A write refused because the case closed the connection needs no handling.
    peer.write(message.data).catch(ignore);
  }
}

/** The first message of a connection (the case count). */
async function readOne(url: string): Promise<string> {
  const peer = await connect(url);
  const message = await peer.read(10_000);
  await peer.shutdown();
  if (message === null || typeof message.data !== 'string') throw new Error(`no case count from ${url}`);
  return message.data;
}

function ignore(): void {}
