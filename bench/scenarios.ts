/**
 * What the suite measures: the servers and clients under test and the scenarios run against them.
 * @module
 */

/** Server entries, each a file in `servers/`, in table order. */
export const SERVERS = ['ws', 'ws-addons', 'uws', 'raw', 'wspeer'] as const;
/** Client entries, each a file in `clients/`, in table order. */
export const CLIENTS = ['ws', 'ws-addons', 'wspeer'] as const;
/** Every ratio is computed against this entry (and against `ws` as a second reference). */
export const BASELINE = 'ws-addons';
/** The server the client scenarios talk to. */
export const CLIENT_SCENARIO_SERVER = 'ws-addons';

/** Echo traffic against each server. */
export interface EchoScenario {
  readonly kind: 'echo';
  readonly connections: number;
  readonly inFlight: number;
  readonly payloadSize: number;
  readonly text: boolean;
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
  { number: 5, id: 'handshake', title: 'handshakes: upgrade + close, 50 at a time', kind: 'handshake', count: { full: 2000, quick: 1000 }, concurrency: 50 },
  { number: 6, id: 'idle-memory', title: 'idle connections: server memory per connection', kind: 'idle', count: { full: 10_000, quick: 2000 }, concurrency: 100 },
  { number: 7, id: 'client-32', title: `client side: 64 conns × 32 B binary, 16 in flight, against ${CLIENT_SCENARIO_SERVER}`, kind: 'client', connections: 64, inFlight: 16, payloadSize: 32, text: false },
  { number: 7, id: 'client-64k', title: `client side: 16 conns × 64 KiB binary, 4 in flight, against ${CLIENT_SCENARIO_SERVER}`, kind: 'client', connections: 16, inFlight: 4, payloadSize: 64 * KiB, text: false },
];

/** Warm-up and measured interval for the echo and client scenarios. */
export interface Timing {
  readonly rounds: number;
  readonly warmupMs: number;
  readonly durationMs: number;
}

/** Full run: 9 rounds; quick run: 3 shorter rounds. */
export function timingFor(quick: boolean): Timing {
  return quick ? { rounds: 3, warmupMs: 500, durationMs: 1500 } : { rounds: 9, warmupMs: 1500, durationMs: 4000 };
}
