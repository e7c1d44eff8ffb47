/**
 * What the suite measures: the servers and clients under test and the scenarios run against them.
 * @module
 */

/** Server entries, each a file in `servers/`, in table order. */
export const SERVERS = ['ws', 'ws-addons', 'uws', 'raw', 'wspeer', 'wspeer-twin'] as const;
/**
 * The A/A control: `wspeer-twin` is `wspeer` under another name, measured like any other
 * subject. Its per-round ratios to `wspeer` would all be 1.00× on an unbiased, quiet
 * machine; the report prints them so that a reader can tell a finding from the noise.
 */
export const CONTROL = { subject: 'wspeer-twin', twinOf: 'wspeer' } as const;
/**
 * Echo-only entries: wspeer with `lentMessages` on, the opt-in that lends each message to
 * the callback as it lies in the read buffer (as uWebSockets.js does), so its own row shows
 * what the opt-in buys next to the default one.
 */
export const LENT_SERVERS = ['wspeer-lent'] as const;
/** The subjects of the plain echo scenarios. */
const ECHO_SERVERS = [...SERVERS, ...LENT_SERVERS] as const;
/**
 * Server entries with permessage-deflate on, in table order. They only take part in the
 * deflate scenarios, where they are compared with `DEFLATE_BASELINE` alone.
 */
export const DEFLATE_SERVERS = ['ws-deflate', 'wspeer-deflate', 'wspeer-deflate-ctx'] as const;
/** The reference of the deflate scenarios. */
export const DEFLATE_BASELINE = 'ws-deflate';
/** Client entries, each a file in `clients/`, in table order. */
export const CLIENTS = ['ws', 'ws-addons', 'wspeer'] as const;
/** Every ratio is computed against this entry (and against `ws` as a second reference), except in the deflate scenarios. */
export const BASELINE = 'ws-addons';
/** The server the client scenarios talk to: the fastest there is, so that the clients are what limits the rate. */
export const CLIENT_SCENARIO_SERVER = 'uws';

/** Echo traffic against each server. */
export interface EchoScenario {
  readonly kind: 'echo';
  readonly connections: number;
  readonly inFlight: number;
  readonly payloadSize: number;
  readonly text: boolean;
  /** permessage-deflate on: compressible JSON text, the `DEFLATE_SERVERS` only. */
  readonly deflate?: boolean;
}
/** Connection churn: server CPU per upgrade-and-close. */
export interface HandshakeScenario {
  readonly kind: 'handshake';
  readonly count: { readonly full: number; readonly quick: number };
  readonly concurrency: number;
}
/** Idle connections: server memory per connection. */
export interface IdleScenario {
  readonly kind: 'idle';
  readonly count: { readonly full: number; readonly quick: number };
  readonly concurrency: number;
  /**
   * permessage-deflate on (the `DEFLATE_SERVERS` only): each connection first exchanges one
   * compressed JSON message of this many bytes, so that the server holds whatever zlib state
   * it keeps per connection.
   */
  readonly deflateMessage?: number;
}
/** Echo traffic from each client implementation against one fixed server. */
export interface ClientScenario {
  readonly kind: 'client';
  readonly connections: number;
  readonly inFlight: number;
  readonly payloadSize: number;
  readonly text: boolean;
}

/** A scenario with its number (for `--only`), short id and a human title. */
export type Scenario = { readonly number: number; readonly id: string; readonly title: string } & (
  | EchoScenario
  | HandshakeScenario
  | IdleScenario
  | ClientScenario
);

const KiB = 1024;
const MiB = 1024 * KiB;

/** All scenarios, in run order. */
export const SCENARIOS: readonly Scenario[] = [
  { number: 1, id: 'binary-32', title: '64 conns × 32 B binary, 16 in flight', kind: 'echo', connections: 64, inFlight: 16, payloadSize: 32, text: false },
  { number: 2, id: 'text-125', title: '64 conns × 125 B UTF-8 text, 16 in flight', kind: 'echo', connections: 64, inFlight: 16, payloadSize: 125, text: true },
  { number: 3, id: 'binary-64k', title: '16 conns × 64 KiB binary, 4 in flight', kind: 'echo', connections: 16, inFlight: 4, payloadSize: 64 * KiB, text: false },
  { number: 4, id: 'binary-4m', title: '2 conns × 4 MiB binary, 1 in flight', kind: 'echo', connections: 2, inFlight: 1, payloadSize: 4 * MiB, text: false },
  // 10,000 measured per round, not 2,000: in two 9-round runs of this scenario alone, the A/A
  // control's per-round range narrowed from 0.89–1.33× to 0.81–1.09×, for about a minute more.
  { number: 5, id: 'handshake', title: 'handshakes: upgrade + close, 50 at a time', kind: 'handshake', count: { full: 10_000, quick: 1000 }, concurrency: 50 },
  // 10,000 in a quick pass too: what a server spends once (optimized code, heap pages) is
  // divided over the connections. Over 2,000, wspeer measured 760 and 870 B above raw in two
  // quick runs, against 310 to 420 B over 10,000, which turned the target's verdict; the
  // 10,000 take some 10 s more.
  { number: 6, id: 'idle-memory', title: 'idle connections: server memory per connection', kind: 'idle', count: { full: 10_000, quick: 10_000 }, concurrency: 100 },
  { number: 7, id: 'client-32', title: `client side: 64 conns × 32 B binary, 16 in flight, against ${CLIENT_SCENARIO_SERVER}`, kind: 'client', connections: 64, inFlight: 16, payloadSize: 32, text: false },
  { number: 7, id: 'client-64k', title: `client side: 16 conns × 64 KiB binary, 4 in flight, against ${CLIENT_SCENARIO_SERVER}`, kind: 'client', connections: 16, inFlight: 4, payloadSize: 64 * KiB, text: false },
  { number: 7, id: 'client-4m', title: `client side: 2 conns × 4 MiB binary, 1 in flight, against ${CLIENT_SCENARIO_SERVER}`, kind: 'client', connections: 2, inFlight: 1, payloadSize: 4 * MiB, text: false },
  { number: 8, id: 'deflate-128', title: 'permessage-deflate: 64 conns × 128 B JSON text, 16 in flight', kind: 'echo', connections: 64, inFlight: 16, payloadSize: 128, text: true, deflate: true },
  { number: 8, id: 'deflate-16k', title: 'permessage-deflate: 16 conns × 16 KiB JSON text, 4 in flight', kind: 'echo', connections: 16, inFlight: 4, payloadSize: 16 * KiB, text: true, deflate: true },
  // Far fewer connections than idle-memory: with context takeover, zlib keeps some 250 KB per connection.
  { number: 9, id: 'deflate-idle', title: 'permessage-deflate idle connections (one 128 B message each): server memory per connection', kind: 'idle', count: { full: 2000, quick: 500 }, concurrency: 50, deflateMessage: 128 },
];

/** Whether a scenario runs with permessage-deflate, against the `DEFLATE_SERVERS`. */
export function usesDeflate(scenario: Scenario): boolean {
  return (scenario.kind === 'echo' && scenario.deflate === true) || (scenario.kind === 'idle' && (scenario.deflateMessage ?? 0) > 0);
}

/** The subjects of a scenario (server or client names), in table order. */
export function subjectsOf(scenario: Scenario): readonly string[] {
  if (scenario.kind === 'client') return CLIENTS;
  if (usesDeflate(scenario)) return DEFLATE_SERVERS;
  return scenario.kind === 'echo' ? ECHO_SERVERS : SERVERS;
}

/** The subjects a scenario's ratio columns compare against, the main reference first. */
export function referencesOf(scenario: Scenario): readonly string[] {
  return usesDeflate(scenario) ? [DEFLATE_BASELINE] : [BASELINE, 'ws'];
}

/** Warm-up and measured interval for the echo and client scenarios. */
export interface Timing {
  readonly rounds: number;
  readonly warmupMs: number;
  readonly durationMs: number;
}

/**
 * Rounds of the idle scenarios when `--rounds` is not given: fewer than the others, as settled
 * memory moves by a few percent at most from round to round, and each round opens 10,000
 * connections per server and waits at both marks for its memory to settle (2 to 4 s each:
 * see `stats settle` in bench/servers/control.ts).
 */
export const IDLE_ROUNDS = { full: 3, quick: 1 } as const;

/** How many rounds `scenario` runs; `explicit`: `timing.rounds` was given (`--rounds`) and holds for all. */
export function roundsOf(scenario: Scenario, timing: Timing, quick: boolean, explicit: boolean): number {
  return scenario.kind === 'idle' ? idleRounds(timing, quick, explicit) : timing.rounds;
}

/** How many rounds the idle scenarios run (see {@link roundsOf}). */
export function idleRounds(timing: Timing, quick: boolean, explicit: boolean): number {
  if (explicit) return timing.rounds;
  return quick ? IDLE_ROUNDS.quick : IDLE_ROUNDS.full;
}

/** Full run: 9 rounds; quick run: 3 shorter rounds. */
export function timingFor(quick: boolean): Timing {
  return quick ? { rounds: 3, warmupMs: 500, durationMs: 1500 } : { rounds: 9, warmupMs: 1500, durationMs: 4000 };
}

/**
 * Connections opened and closed before a handshake round measures: each round is a fresh
 * process, and the JIT is still compiling per-connection code long after the first thousand.
 * Profiled over 2,000 handshakes, the optimizing compiler took 11 % of wspeer's CPU and 7 % of
 * ws's after 3,000 warm-up connections, 3 % and 2 % after 5,000, and 0.1 % after 10,000.
 */
export const HANDSHAKE_WARMUP = { quick: 5_000, full: 10_000 } as const;
