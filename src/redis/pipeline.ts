import type { ChainableCommander } from 'ioredis';
import type { Connection } from './connection.js';
import { commandName, type ScriptName } from './scripts.js';

/** A pipeline that also queues taskledger's scripts by name (defined on the connection by defineScripts). */
export interface ScriptPipeline {
  /** The plain ioredis pipeline, for ordinary commands. */
  readonly commands: ChainableCommander;
  /** Queues a script call; `args` as for the script called directly. */
  script(name: ScriptName, ...args: (string | number)[]): void;
  /** Sends everything queued; one [error, reply] per command, in order. */
  exec(): Promise<[Error | null, unknown][]>;
}

export function scriptPipeline(redis: Connection): ScriptPipeline {
  const commands = redis.pipeline();
  // defineCommand adds each script as a method of every pipeline made from the connection afterwards.
  const methods = commands as unknown as Record<string, (...args: (string | number)[]) => unknown>;
  return {
    commands,
    script: (name, ...args) => void methods[commandName(name)]!(...args),
    exec: async () => (await commands.exec()) ?? [],
  };
}
