/**
 * A real S3-protocol server (s3rver) on 127.0.0.1, on a free port, over its own temp folder, and
 * an SDK client for it: the remote cache's tests run through the real AWS SDK against it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

/** s3rver's own credentials: it checks request signatures against them. */
export const S3RVER_ENV = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

export interface S3Server {
  endpoint: string;
  bucket: string;
  client: S3Client;
  get(key: string): Promise<Buffer>;
  put(key: string, body: Buffer | string): Promise<void>;
  list(prefix: string): Promise<string[]>;
  stop(): Promise<void>;
}

export async function startS3Server(bucket = 'pyslim-cache'): Promise<S3Server> {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'pyslim-s3-'));
  // s3rver ships no types.
  const name = 's3rver';
  const { default: S3rver } = (await import(name)) as { default: new (options: object) => { run(): Promise<{ port: number }>; close(): Promise<void> } };
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  let stopped = false;
  return {
    endpoint,
    bucket,
    client,
    async get(key) {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await out.Body!.transformToByteArray());
    },
    async put(key, body) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    },
    async list(prefix) {
      const out = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
      return (out.Contents ?? []).map((o) => o.Key!).sort();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      client.destroy();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
