import { announceReady, listenPort } from './control.ts';
const { server } = (await import('../../.scratch/dist-new/index.js')) as unknown as typeof import('../../src/index.ts');
const port = listenPort();
await server(`ws://127.0.0.1:${port}`, (peer) => { peer.onMessage((message) => { peer.send(message); }); }, { maxPayload: 64 * 1024 * 1024 });
announceReady('wspeer-new', 'A/B build new');
