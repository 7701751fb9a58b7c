import { describe, expect, it } from 'vitest';
import { Batcher, answerAll } from '../src/redis/batcher.js';

const immediates = () => process.getActiveResourcesInfo().filter((r) => r === 'Immediate').length;
const turn = () => new Promise((res) => setImmediate(res));

describe('Batcher', () => {
  it('sends the calls of one turn together and answers each with its own result or error', async () => {
    const sent: number[][] = [];
    const b = new Batcher<number, number>(async (items) => {
      sent.push(items);
      return items.map((i) => (i === 2 ? new Error('two') : i * 10));
    });
    const calls = [1, 2, 3].map((i) => b.add(i));
    const results = await Promise.allSettled(calls);
    expect(sent).toEqual([[1, 2, 3]]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([
      10,
      'two',
      30,
    ]);
  });

  it('waits a second turn with turns 2, and a drain that takes every call leaves no turn scheduled', async () => {
    const sent: number[][] = [];
    const b = new Batcher<number, number>(
      async (items) => {
        sent.push(items);
        return items;
      },
      256,
      2,
    );
    const before = immediates();
    void b.add(1);
    expect(immediates()).toBe(before + 1);
    const taken = b.drain();
    expect(taken.map((p) => p.item)).toEqual([1]);
    // The flush it had scheduled is gone: no event-loop round is spent on an empty batch.
    expect(immediates()).toBe(before);
    answerAll(taken, Promise.resolve([1]));

    // Drained between its two turns, it is cancelled too.
    const late = b.add(2);
    await turn();
    expect(sent).toEqual([]);
    answerAll(b.drain(), Promise.resolve([2]));
    expect(immediates()).toBe(before);
    await expect(late).resolves.toBe(2);
    await turn();
    await turn();
    expect(sent).toEqual([]);

    // Undrained, it flushes after its second turn.
    const alone = b.add(3);
    await turn();
    expect(sent).toEqual([]);
    await turn();
    expect(sent).toEqual([[3]]);
    await expect(alone).resolves.toBe(3);
  });

  it('a partial drain leaves the rest to the scheduled flush', async () => {
    const sent: number[][] = [];
    const b = new Batcher<number, number>(async (items) => {
      sent.push(items);
      return items;
    });
    const calls = [1, 2, 3].map((i) => b.add(i));
    const taken = b.drain(2);
    answerAll(taken, Promise.resolve([1, 2]));
    expect(await Promise.all(calls)).toEqual([1, 2, 3]);
    expect(sent).toEqual([[3]]);
  });
});
