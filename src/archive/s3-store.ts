import { randomBytes } from 'node:crypto';
import { ArchiveUnavailableError } from '../errors.js';
import type { BlobStore } from './blob-store.js';

/**
 * The part of an S3Client (@aws-sdk/client-s3) the archive uses. Typed here, not imported, so that
 * taskledger's declarations load without the SDK installed; a real S3Client fits it.
 */
export interface S3ArchiveClient {
  send(command: never): Promise<unknown>;
}

type Sdk = typeof import('@aws-sdk/client-s3');
let sdk: Promise<Sdk> | undefined;

/** The SDK's command classes, loaded on first use: an optional peer, needed only by S3Archive. */
function loadSdk(): Promise<Sdk> {
  sdk ??= import('@aws-sdk/client-s3').catch((err: unknown) => {
    sdk = undefined;
    throw new ArchiveUnavailableError('S3Archive needs @aws-sdk/client-s3: npm install @aws-sdk/client-s3', err);
  });
  return sdk;
}

const isNotFound = (err: unknown) => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
};

const describe = (err: unknown) => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));

/**
 * A bucket and prefix as a blob store. A PutObject is atomic (readers see the old object or the new one,
 * whole) and durable once acknowledged, which is all the archive asks of a put.
 */
export class S3Store implements BlobStore {
  readonly location: string;
  private readonly prefix: string;

  constructor(
    private readonly client: S3ArchiveClient,
    private readonly bucket: string,
    prefix = '',
  ) {
    this.prefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    this.location = `s3://${bucket}/${this.prefix}`;
  }

  child(name: string): S3Store {
    return new S3Store(this.client, this.bucket, `${this.prefix}${name}/`);
  }

  async probe(write: boolean): Promise<void> {
    const { HeadBucketCommand } = await loadSdk();
    // HeadBucket needs the same permission as a listing (s3:ListBucket), and costs one small answer.
    await this.guard('reach the bucket', () => this.send(new HeadBucketCommand({ Bucket: this.bucket })));
    if (!write) return;
    const name = `.probe-${randomBytes(6).toString('hex')}`;
    await this.put(name, new Uint8Array(0));
    await this.delete(name);
  }

  async put(name: string, bytes: Uint8Array): Promise<void> {
    const { PutObjectCommand } = await loadSdk();
    await this.guard(`write ${name}`, () =>
      this.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.key(name), Body: bytes })),
    );
  }

  async get(name: string): Promise<Uint8Array | null> {
    const { GetObjectCommand } = await loadSdk();
    try {
      const out = (await this.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(name) }))) as {
        Body?: { transformToByteArray(): Promise<Uint8Array> };
      };
      return out.Body ? await out.Body.transformToByteArray() : new Uint8Array(0);
    } catch (err) {
      if (isNotFound(err)) return null;
      throw this.unavailable(`read ${name}`, err);
    }
  }

  async list(): Promise<string[]> {
    const { ListObjectsV2Command } = await loadSdk();
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = (await this.guard('list', () =>
        this.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, ContinuationToken: token })),
      )) as { Contents?: { Key?: string }[]; NextContinuationToken?: string; IsTruncated?: boolean };
      for (const o of page.Contents ?? []) if (o.Key) names.push(o.Key.slice(this.prefix.length));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    // Flat: what lies in "subfolders" of the prefix is not the archive's.
    return names.filter((n) => n !== '' && !n.includes('/') && !n.startsWith('.')).sort();
  }

  async delete(name: string): Promise<void> {
    const { DeleteObjectCommand } = await loadSdk();
    await this.guard(`delete ${name}`, () =>
      this.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(name) })),
    );
  }

  private key(name: string): string {
    return this.prefix + name;
  }

  /** The client's send, typed for the commands this store builds. */
  private send(command: object): Promise<unknown> {
    return this.client.send(command as never);
  }

  private async guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.unavailable(what, err);
    }
  }

  private unavailable(what: string, err: unknown): ArchiveUnavailableError {
    return new ArchiveUnavailableError(`archive ${this.location}: cannot ${what} (${describe(err)})`, err);
  }
}
