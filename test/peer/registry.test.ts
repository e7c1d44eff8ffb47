/**
 * The registry behind a server's peers, its sockets in handshake and the pending deadlines:
 * a set whose members know their own place.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Registry } from '../../src/peer/registry.ts';

interface Member {
  name: string;
  registryIndex: number;
}

const member = (name: string): Member => ({ name, registryIndex: -1 });
const names = (registry: Registry<Member>): string[] => [...registry].map((m) => m.name).sort();

test('add, has, delete and size behave as a Set\'s, whatever the order of removal', () => {
  const registry = new Registry<Member>();
  const all = ['a', 'b', 'c', 'd', 'e'].map(member);
  for (const m of all) registry.add(m);
  registry.add(all[0]!);
  assert.equal(registry.size, 5, 'adding a member twice keeps one');
  for (const [index, gone] of [all[1]!, all[4]!, all[0]!].entries()) {
    assert.equal(registry.delete(gone), true);
    assert.equal(registry.delete(gone), false, 'a member removed is no longer in');
    assert.equal(registry.has(gone), false);
    assert.equal(gone.registryIndex, -1);
    assert.equal(registry.size, 4 - index);
  }
  assert.deepEqual(names(registry), ['c', 'd']);
  assert.ok(registry.has(all[2]!) && registry.has(all[3]!));
  assert.equal(registry.delete(member('stranger')), false);
});

test('a member of another registry is not taken for one of this one', () => {
  const first = new Registry<Member>();
  const second = new Registry<Member>();
  const inFirst = member('x');
  const inSecond = member('y');
  first.add(inFirst);
  second.add(inSecond);
  // Both sit at index 0 of their own registry.
  assert.equal(second.has(inFirst), false);
  assert.equal(second.delete(inFirst), false);
  assert.equal(first.size, 1);
  assert.equal(second.size, 1);
});

test('iterating walks a snapshot: members may be removed and added meanwhile', () => {
  const registry = new Registry<Member>();
  for (const name of ['a', 'b', 'c', 'd']) registry.add(member(name));
  const seen: string[] = [];
  for (const m of registry) {
    seen.push(m.name);
    registry.delete(m);
    if (m.name === 'a') registry.add(member('late'));
  }
  assert.deepEqual(seen.sort(), ['a', 'b', 'c', 'd']);
  assert.deepEqual(names(registry), ['late']);
});

test('forEach, keys, values and entries answer as a ReadonlySet does', () => {
  const registry = new Registry<Member>();
  const [a, b] = [member('a'), member('b')];
  registry.add(a).add(b);
  const each: string[] = [];
  registry.forEach((value, key, set) => {
    assert.equal(value, key);
    assert.equal(set, registry);
    each.push(value.name);
  });
  assert.deepEqual(each.sort(), ['a', 'b']);
  assert.deepEqual([...registry.keys()].map((m) => m.name).sort(), ['a', 'b']);
  assert.deepEqual([...registry.values()].map((m) => m.name).sort(), ['a', 'b']);
  assert.deepEqual([...registry.entries()].map(([k, v]) => (k === v ? k.name : 'mismatch')).sort(), ['a', 'b']);
});

test('ten thousand members added and removed in a shuffled order leave it consistent', () => {
  const registry = new Registry<Member>();
  const all = Array.from({ length: 10_000 }, (_, i) => member(String(i)));
  for (const m of all) registry.add(m);
  // Remove every third, then check membership of everyone.
  for (let i = 0; i < all.length; i += 3) registry.delete(all[i]!);
  for (const [i, m] of all.entries()) assert.equal(registry.has(m), i % 3 !== 0, `member ${i}`);
  assert.equal(registry.size, all.length - Math.ceil(all.length / 3));
  assert.equal(new Set(registry).size, registry.size, 'no member listed twice');
});
