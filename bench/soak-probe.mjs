// The soak's latency probe, on a thread of its own (a busy main thread would delay it): a PING every 10 ms on
// a connection of its own, each round trip timed. Posts back [sent at (epoch ms), round trip (ms), ...].
import { parentPort, workerData } from 'node:worker_threads';
import { Redis } from 'ioredis';

const redis = new Redis(workerData.url);
const now = () => performance.timeOrigin + performance.now();
const samples = [];
let stopped = false;
parentPort.once('message', () => (stopped = true));
while (!stopped) {
  const t = now();
  await redis.ping();
  samples.push(t, now() - t);
  await new Promise((r) => setTimeout(r, Math.max(0, t + 10 - now())));
}
redis.disconnect();
parentPort.postMessage(Float64Array.from(samples));
