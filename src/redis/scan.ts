import { Cluster } from 'ioredis';
import type { Connection } from './connection.js';

/** A SCAN pattern that matches `prefix` literally, then anything. */
export const prefixPattern = (prefix: string): string => `${prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}*`;

/**
 * Every key matching `pattern`, in batches of about `count` (SCAN: no key is missed that exists throughout,
 * one may come twice). On a cluster, every primary is scanned.
 */
export async function* scanKeys(redis: Connection, pattern: string, count = 1000): AsyncGenerator<string[]> {
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      cursor = next;
      if (keys.length) yield keys;
    } while (cursor !== '0');
  }
}
