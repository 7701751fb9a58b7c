import { describe, expect, it } from 'vitest';
import { newId } from '../src/util/ids.js';
import fc from 'fast-check';
import { compareStreamIds } from '../src/events/stream-id.js';

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

describe('task ids', () => {
  it('draws a fresh random part in each new millisecond, past many refills of the random pool', () => {
    const t0 = Date.now() + 1_000_000; // later than any id made so far, so each call starts a new millisecond
    const ids = Array.from({ length: 2000 }, (_, i) => newId(t0 + i)); // 2,000 × 16 bytes: several refills
    for (const id of ids) expect(id).toMatch(ULID);
    const randomParts = ids.map((id) => id.slice(10));
    expect(new Set(randomParts).size).toBe(ids.length);
    // Every one of the 32 characters turns up in every position: the draws are spread, not stuck.
    for (let pos = 0; pos < 16; pos++) expect(new Set(randomParts.map((r) => r[pos])).size).toBe(32);
  });

  it('sorts in creation order, also within one millisecond', () => {
    const t = Date.now() + 2_000_000;
    const ids = [...Array.from({ length: 500 }, () => newId(t)), ...Array.from({ length: 500 }, () => newId(t + 1))];
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });
});

describe('compareStreamIds', () => {
  it('orders ids as their (ms, seq) pairs, also with sequences past 2^53', () => {
    const big = (id: string) => {
      const [ms, seq = '0'] = id.split('-');
      return [BigInt(ms!), BigInt(seq)] as const;
    };
    const exact = (a: string, b: string) => {
      const [am, as] = big(a);
      const [bm, bs] = big(b);
      return am !== bm ? (am < bm ? -1 : 1) : as === bs ? 0 : as < bs ? -1 : 1;
    };
    const id = fc
      .tuple(
        fc.bigInt({ min: 0n, max: 2n ** 48n }),
        fc.oneof(fc.bigInt({ min: 0n, max: 20n }), fc.bigInt({ min: 2n ** 53n - 2n, max: 2n ** 64n - 1n })),
        fc.boolean(),
      )
      .map(([ms, seq, withSeq]) => (withSeq ? `${ms}-${seq}` : `${ms}`));
    fc.assert(fc.property(id, id, (a, b) => compareStreamIds(a, b) === exact(a, b)));
    expect(compareStreamIds('1-18446744073709551615', '2-0')).toBe(-1);
    expect(compareStreamIds('5-9007199254740993', '5-9007199254740992')).toBe(1);
  });
});
