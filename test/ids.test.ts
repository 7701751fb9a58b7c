import { describe, expect, it } from 'vitest';
import { newId } from '../src/util/ids.js';

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
