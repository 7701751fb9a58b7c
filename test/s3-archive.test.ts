import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveUnavailableError, S3Archive } from '../src/index.js';
import { S3Store } from '../src/archive/s3-store.js';
import { all, archiveBehaviours, ev, threeSegments } from './helpers/archive.js';
import { freePort, tempDir } from './helpers/redis.js';

/**
 * S3Archive against a real S3-protocol server on loopback (s3rver, files in a temp dir), through the real
 * SDK: never a mock of it.
 */
let server: S3rver;
let client: S3Client;
let endpoint = '';
let places = 0;
const BUCKET = 'taskledger-archive';

const clientFor = (url: string) =>
  new S3Client({
    endpoint: url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    maxAttempts: 1,
  });

beforeAll(async () => {
  const dir = tempDir('s3rver');
  server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir.path });
  const { port } = await server.run();
  endpoint = `http://127.0.0.1:${port}`;
  client = clientFor(endpoint);
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
});

afterAll(async () => {
  client.destroy();
  await server.close();
});

describe('S3Archive', () => {
  // Each test its own prefix in one bucket: archives side by side, as they would share a real bucket.
  archiveBehaviours(async () => {
    const prefix = `tests/place-${++places}`;
    return {
      archive: (options) => new S3Archive({ client, bucket: BUCKET, prefix, ...options }),
      store: new S3Store(client, BUCKET, prefix),
    };
  });

  it('keeps to its prefix: other objects in the bucket are not the archive’s', async () => {
    const a = new S3Archive({ client, bucket: BUCKET, prefix: 'shared/a/' });
    const b = new S3Archive({ client, bucket: BUCKET, prefix: 'shared/a/b' });
    await threeSegments(a);
    await b.open('other');
    await b.append([ev(1, 0, 'x')]);
    // An object that only looks like a segment, in a "subfolder" of a's prefix.
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'shared/a/old/seg-1-0-1-0.ndjson.gz', Body: 'x' }));
    expect(await a.verify()).toMatchObject({ ok: true, segments: 3, notes: [] });
    expect((await all(b)).map((e) => e.id)).toEqual(['1-0']);
    expect(a.location).toBe(`s3://${BUCKET}/shared/a/`);
  });

  it('works at the bucket root', async () => {
    await client.send(new CreateBucketCommand({ Bucket: 'taskledger-root' }));
    const archive = new S3Archive({ client, bucket: 'taskledger-root' });
    await threeSegments(archive);
    expect(await archive.lastId()).toBe('30-4');
    expect((await archive.verify()).ok).toBe(true);
  });

  it('says ArchiveUnavailableError for a missing bucket and an unreachable endpoint', async () => {
    await expect(new S3Archive({ client, bucket: 'no-such-bucket', prefix: 'x' }).open('ns')).rejects.toBeInstanceOf(
      ArchiveUnavailableError,
    );
    const nobody = clientFor(`http://127.0.0.1:${await freePort()}`);
    try {
      const archive = new S3Archive({ client: nobody, bucket: BUCKET, prefix: 'x' });
      await expect(archive.open('ns')).rejects.toBeInstanceOf(ArchiveUnavailableError);
      await expect(archive.verify()).rejects.toBeInstanceOf(ArchiveUnavailableError);
    } finally {
      nobody.destroy();
    }
  });
});

describe('the built package', () => {
  it('loads the S3 SDK only when an S3Archive is used (it is an optional peer)', () => {
    const dist = fileURLToPath(new URL('../dist/', import.meta.url));
    const statics = readdirSync(dist, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.js') || f.endsWith('.d.ts'))
      .filter((f) => /(from|import)\s+['"]@aws-sdk\//.test(readFileSync(dist + f, 'utf8')));
    expect(statics).toEqual([]);
    expect(readFileSync(`${dist}archive/s3-store.js`, 'utf8')).toContain("import('@aws-sdk/client-s3')");
  });
});
