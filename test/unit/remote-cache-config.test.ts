/** Resolving --remote-cache: the URL and endpoint are validated, and secrets stay out of any JSON of the configuration. */
import { describe, expect, it } from 'vitest';
import { resolveRemoteCache } from '../../src/config.js';

const env = { PYSLIM_CACHE_SIGNING_KEY: 'sekrit-signing', AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'sekrit-aws', AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000' };

describe('resolveRemoteCache', () => {
  it.each([
    ['s3://bucket', 'bucket', ''],
    ['s3://my.bucket-1/ci/pyslim/', 'my.bucket-1', 'ci/pyslim'],
  ])('%s', (url, bucket, prefix) => {
    const config = resolveRemoteCache({ remoteCache: url }, env)!;
    expect(config).toMatchObject({ bucket, prefix, endpoint: 'http://127.0.0.1:9000', readOnly: false, timeoutMs: 30_000 });
    expect(config.signingKey()).toBe('sekrit-signing');
    expect(config.credentials()).toEqual({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'sekrit-aws' });
    expect(JSON.stringify(config)).not.toMatch(/sekrit|AKIDEXAMPLE/);
  });

  it('the flag overrides AWS_ENDPOINT_URL_S3; none means the SDK default chain', () => {
    expect(resolveRemoteCache({ remoteCache: 's3://bucket', remoteCacheEndpoint: 'https://minio.example' }, env)!.endpoint).toBe('https://minio.example');
    expect(resolveRemoteCache({ remoteCache: 's3://bucket' }, {})!).toMatchObject({ endpoint: null, region: null });
    expect(resolveRemoteCache({ remoteCache: 's3://bucket' }, {})!.credentials()).toBeUndefined();
    expect(resolveRemoteCache({}, env)).toBeNull();
  });

  it.each([
    [{ remoteCache: 'https://bucket/x' }, 'invalid --remote-cache "https://bucket/x"'],
    [{ remoteCache: 's3://B' }, 'invalid --remote-cache "s3://B"'],
    [{ remoteCache: 's3://bucket', remoteCacheEndpoint: 'minio:9000' }, 'invalid --remote-cache-endpoint "minio:9000"'],
    [{ remoteCache: 's3://bucket', remoteCacheTimeout: 0 }, 'invalid --remote-cache-timeout "0"'],
  ])('rejects %j', (options, message) => {
    expect(() => resolveRemoteCache(options, env)).toThrow(message);
  });
});
