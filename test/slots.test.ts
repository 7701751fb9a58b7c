import { describe, expect, it } from 'vitest';
import { Slots } from '../src/worker/slots.js';

describe('worker slots', () => {
  it('counts running and reserved slots as taken', () => {
    let running = 1;
    const slots = new Slots(4, () => running);
    expect(slots.free()).toBe(3);
    slots.reserve(2);
    expect(slots.free()).toBe(1);
    running = 2;
    expect(slots.free()).toBe(0);
    slots.unreserve(2);
    expect(slots.free()).toBe(2);
  });

  it('a wait that ends by its hold time leaves the waiters: a reader busy for hours keeps one wait, not one more per hold', async () => {
    const slots = new Slots(1, () => 1);
    for (let i = 0; i < 5; i++) {
      const waiting = slots.waitForFree(5);
      expect(slots.waiting).toBe(1);
      expect(await waiting).toBe(false);
      expect(slots.waiting).toBe(0);
    }
  });

  it('wake() ends every wait with true', async () => {
    const slots = new Slots(2, () => 2);
    const waits = [slots.waitForFree(60_000), slots.waitForFree(60_000)];
    expect(slots.waiting).toBe(2);
    slots.wake();
    expect(await Promise.all(waits)).toEqual([true, true]);
    expect(slots.waiting).toBe(0);
  });
});
