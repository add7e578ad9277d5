/**
 * The remote cache's object store on S3 (or an S3-compatible store), through the AWS SDK v3 with
 * its standard credential chain and region settings. The SDK is imported only here, on first use,
 * so builds without a remote cache never load it.
 */
import type { Readable } from 'node:stream';
import { StoreUnavailable, type ObjectStore, type RemoteCacheConfig } from './remote.js';

/** Opens the store: loads the SDK and makes one client for the build. */
export async function openS3Store(config: RemoteCacheConfig): Promise<ObjectStore> {
  const { S3Client, GetObjectCommand, PutObjectCommand } = await import('@aws-sdk/client-s3').catch((error: unknown) => {
    throw new StoreUnavailable(`the AWS SDK could not be loaded: ${(error as Error).message}`);
  });
  const credentials = config.credentials();
  const client = new S3Client({
    // Without a region in the environment the SDK looks in the profile; an S3-compatible store
    // usually ignores it, so one is made up there.
    ...(config.region ? { region: config.region } : config.endpoint ? { region: 'us-east-1' } : {}),
    ...(config.endpoint ? { endpoint: config.endpoint, forcePathStyle: true } : {}),
    ...(credentials ? { credentials } : {}),
    // Two tries, then the store counts as unavailable: a retry storm would make the build slower
    // than one without the cache.
    maxAttempts: 2,
    requestHandler: { connectionTimeout: Math.min(config.timeoutMs, 5000), requestTimeout: config.timeoutMs, throwOnRequestTimeout: true },
    // The entries carry their own SHA-256; S3-compatible stores do not all accept the SDK's
    // default CRC32 trailers.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const call = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      throw new StoreUnavailable(explain(error, config));
    }
  };
  return {
    async get(name) {
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: config.bucket, Key: name }));
        return { body: out.Body as Readable, length: out.ContentLength };
      } catch (error) {
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if ((error as Error).name === 'NoSuchKey' || status === 404) return null;
        throw new StoreUnavailable(explain(error, config));
      }
    },
    async put(name, body, length) {
      await call(() => client.send(new PutObjectCommand({ Bucket: config.bucket, Key: name, Body: body, ContentLength: length })));
    },
  };
}

/** A store failure as the warning says it: what went wrong, never a credential. */
function explain(error: unknown, config: RemoteCacheConfig): string {
  const e = error as Error & { code?: string; $metadata?: { httpStatusCode?: number } };
  const where = config.endpoint ?? 'S3';
  const status = e.$metadata?.httpStatusCode;
  if (e.name === 'CredentialsProviderError' || /credential/i.test(e.message ?? '')) return 'no AWS credentials were found (environment, profile, or instance role)';
  if (e.name === 'AccessDenied' || status === 403) return `access denied to s3://${config.bucket}`;
  if (e.name === 'NoSuchBucket') return `no bucket ${config.bucket} at ${where}`;
  if (e.name === 'TimeoutError' || e.name === 'RequestTimeout' || e.code === 'ETIMEDOUT' || /timed? ?out/i.test(e.message ?? '')) {
    return `${where} did not answer within ${config.timeoutMs / 1000} s`;
  }
  if (e.code && /^E[A-Z]+$/.test(e.code)) return `cannot reach ${where} (${e.code})`;
  return `${where}: ${e.name}${status ? ` (HTTP ${status})` : ''}: ${(e.message ?? '').split('\n')[0]!.slice(0, 200)}`;
}
