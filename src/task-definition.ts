import type { z } from 'zod';
import { UnrecoverableError, ValidationError } from './errors.js';
import { knownKeys } from './known-keys.js';
import { validateName } from './validation.js';
import type { EnqueueRequest, JsonValue, Task } from './types.js';
import { deadlineOption } from './util/long-timer.js';
import type { TaskHandler } from './worker/worker.js';
import type { TaskContext } from './worker/handler-context.js';

/**
 * A task type declared with a zod schema for its spec. Registered on a TaskQueue (`tasks` option), enqueue
 * refuses a bad spec with ValidationError; its `handler()` gives the handler a typed, validated spec.
 */
export interface TaskDefinition<Schema extends z.ZodType = z.ZodType> {
  readonly type: string;
  readonly schema: Schema;
  /** Handler deadline in ms for tasks of this type (a task's own timeoutMs wins). */
  readonly timeoutMs: number | undefined;
  /** Checks a spec; throws ValidationError naming each problem. */
  parse(spec: unknown): z.output<Schema>;
  /** An enqueue request for this type, its spec checked now. */
  request(req: Omit<EnqueueRequest, 'type' | 'spec'> & { spec: z.input<Schema> }): EnqueueRequest;
  /** Wraps a typed handler: the spec it sees has passed the schema; a bad one fails the task at once. */
  // eslint-disable-next-line @typescript-eslint/no-invalid-void-type -- handlers may return nothing (`async () => {}` is Promise<void>, not assignable to Promise<JsonValue | undefined>); no option of the rule allows void in a union
  handler(fn: (task: Task<z.output<Schema> & JsonValue>, ctx: TaskContext) => Promise<JsonValue | void>): TaskHandler;
}

export function defineTask<Schema extends z.ZodType>(
  type: string,
  schema: Schema,
  options: { timeoutMs?: number } = {},
): TaskDefinition<Schema> {
  if (typeof type !== 'string' || type.trim() === '') throw new ValidationError('a task definition needs a type');
  validateName(type, 'type');
  const given: unknown = schema;
  if (typeof given !== 'object' || given === null || typeof (given as z.ZodType).safeParse !== 'function')
    throw new ValidationError(`defineTask("${type}"): the schema must be a zod schema`);
  knownKeys(options, ['timeoutMs'], `defineTask("${type}") options`, true);
  const timeoutMs =
    options.timeoutMs === undefined ? undefined : deadlineOption(options.timeoutMs, 1, `${type}: timeoutMs`, 1);
  const parse = (spec: unknown): z.output<Schema> => {
    const result = schema.safeParse(spec);
    if (result.success) return result.data;
    const detail = result.error.issues
      .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
      .join('; ');
    throw new ValidationError(`spec for task type "${type}": ${detail}`);
  };
  return {
    type,
    schema,
    timeoutMs,
    parse,
    request: (req) => {
      parse(req.spec);
      return { ...req, type, spec: req.spec as JsonValue };
    },
    handler: (fn) => async (task, ctx) => {
      let spec: z.output<Schema>;
      try {
        spec = parse(task.spec);
      } catch (err) {
        throw new UnrecoverableError((err as Error).message);
      }
      return fn({ ...task, spec } as Task<z.output<Schema> & JsonValue>, ctx);
    },
  };
}
