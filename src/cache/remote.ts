/**
 * The remote dependency cache: local entries shared through an object store (S3), so a fresh CI
 * runner's first build downloads what another runner built. Signed, and never worse than no
 * remote cache at all.
 *
 *   <prefix>/pyslim-deps/1/<key>/manifest.json   small, signed, written last
 *   <prefix>/pyslim-deps/1/<key>/<random>.pack   the local entry folder, packed
 *
 * Trust: a manifest names its key, its payload, the payload's size and SHA-256, and carries an
 * HMAC-SHA256 of all that made with PYSLIM_CACHE_SIGNING_KEY. Readers use an entry only when the
 * signature verifies and the payload matches it; anything else is a rejection (a warning naming
 * the key) and the build goes on as a miss. Someone who can write the bucket but lacks the key
 * (a pull request's job, when CI gives the key to protected branches only) cannot plant an entry.
 *
 * Atomic for readers: the payload goes up under a name of its own first, the manifest last, and an
 * object store replaces an object whole, so a reader sees the old entry or the new one, never
 * half of either. Two runners uploading one key both succeed; the last manifest wins and names
 * its own complete payload.
 *
 * Never worse: any failure of the store (unreachable, denied, no credentials, a timeout) is one
 * warning, and the rest of the build runs without the remote cache.
 */
import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import type { RemoteCacheStatus } from '../model/report.js';
import type { BuildWarning } from '../warnings.js';
import type { DepsCache } from './store.js';

/** The remote cache as configured: where, and how. Secrets sit behind functions, so no JSON of it holds them. */
export interface RemoteCacheConfig {
  /** s3://bucket/prefix, as given. */
  url: string;
  bucket: string;
  /** The key prefix, without a trailing slash ('' for the bucket's root). */
  prefix: string;
  /** An S3-compatible endpoint, or null for AWS's. */
  endpoint: string | null;
  region: string | null;
  /** Download, never upload (pull requests). */
  readOnly: boolean;
  /** How long one request may take before the store counts as unavailable. */
  timeoutMs: number;
  /** PYSLIM_CACHE_SIGNING_KEY. */
  signingKey: () => string | undefined;
  /** Static credentials from the build's environment, or undefined for the SDK's default chain. */
  credentials: () => RemoteCredentials | undefined;
}

export interface RemoteCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** What the remote cache needs of an object store. */
export interface ObjectStore {
  /** The object's bytes as a stream, or null when there is no such object. */
  get(name: string): Promise<{ body: AsyncIterable<Uint8Array>; length: number | undefined } | null>;
  put(name: string, body: Buffer | Readable, length: number): Promise<void>;
}

/** A failure of the store itself (not of an entry): the remote cache is off for the rest of the build. */
export class StoreUnavailable extends Error {}

/** Transfers over this size report progress. */
export const PROGRESS_MIN_BYTES = 4 * 1024 * 1024;

const LAYOUT = 'pyslim-deps/1';
const MANIFEST_FORMAT = 1;
const PACK_MAGIC = Buffer.from('PYSLIMPACK1\n');

/** The signed description of one remote entry. */
interface RemoteManifest {
  format: typeof MANIFEST_FORMAT;
  key: string;
  /** The payload's object name, relative to the key's folder. */
  payload: string;
  bytes: number;
  sha256: string;
  createdAt: string;
  /** HMAC-SHA256 of the fields above, hex. */
  signature: string;
}

/** One file of a packed entry. */
interface PackedFile {
  path: string;
  kind: 'file' | 'exec' | 'dir' | 'link';
  size: number;
  target?: string;
}

export type TransferProgress = (action: 'downloading' | 'uploading', current: number, total: number) => void;

/** Why an entry was not used, when the entry (not the store) is at fault. */
class Rejected extends Error {}

export class RemoteCache {
  private store: Promise<ObjectStore> | null = null;
  private unavailable: string | null = null;
  readonly warnings: BuildWarning[] = [];
  readonly status: RemoteCacheStatus;

  constructor(
    readonly config: RemoteCacheConfig,
    private readonly open: (config: RemoteCacheConfig) => Promise<ObjectStore>,
    private readonly onProgress?: TransferProgress,
  ) {
    this.status = {
      url: config.url,
      readOnly: config.readOnly,
      lookup: 'skipped',
      lookupReason: 'the local cache had the entry',
      upload: 'skipped',
      uploadReason: 'nothing new to upload',
      bytesDownloaded: 0,
      bytesUploaded: 0,
      downloadSeconds: 0,
      uploadSeconds: 0,
    };
    if (!config.signingKey()) this.unavailable = 'PYSLIM_CACHE_SIGNING_KEY is not set, so entries can be neither verified nor signed';
  }

  /**
   * Looks a key up remotely and, when a verified entry is there, unpacks it into the local cache
   * under that key. True when the local cache now has it.
   */
  async fetch<Layer>(key: string, cache: DepsCache<Layer>): Promise<boolean> {
    if (this.skipped('lookup')) return false;
    const started = performance.now();
    let staging: string | undefined;
    try {
      const store = await this.connect();
      const manifest = await this.readManifest(store, key);
      if (!manifest) {
        this.status.lookup = 'miss';
        this.status.lookupReason = 'no entry';
        return false;
      }
      const payload = await store.get(this.name(key, manifest.payload));
      if (!payload) throw new Rejected('its payload is missing');
      staging = await cache.staging();
      await unpack(payload.body, manifest, staging, (n) => {
        this.status.bytesDownloaded = n;
        if (manifest.bytes > PROGRESS_MIN_BYTES) this.onProgress?.('downloading', n, manifest.bytes);
      });
      await cache.publish(staging, key);
      staging = undefined;
      this.status.lookup = 'hit';
      this.status.lookupReason = null;
      return true;
    } catch (error) {
      if (error instanceof Rejected) {
        this.status.lookup = 'rejected';
        this.status.lookupReason = error.message;
        this.warnings.push({ code: 'REMOTE_CACHE', message: `remote cache entry ${key} was not used: ${error.message}; building it instead` });
      } else {
        this.fail('lookup', error);
      }
      return false;
    } finally {
      if (staging) await cache.discard(staging);
      this.status.downloadSeconds = seconds(started);
    }
  }

  /** Uploads a local entry: its payload first, then its signed manifest. */
  async upload(key: string, entryDir: string): Promise<void> {
    if (this.config.readOnly) {
      this.status.upload = 'skipped';
      this.status.uploadReason = 'read-only (--remote-cache-read-only)';
      return;
    }
    if (this.skipped('upload')) return;
    const started = performance.now();
    try {
      const store = await this.connect();
      const files = await listEntry(entryDir);
      const header = packHeader(files);
      const total = header.length + files.reduce((n, f) => n + f.size, 0);
      const hash = createHash('sha256');
      let sent = 0;
      const self = this;
      const body = Readable.from(
        (async function* () {
          for await (const chunk of packStream(entryDir, files, header)) {
            hash.update(chunk);
            sent += chunk.length;
            if (total > PROGRESS_MIN_BYTES) self.onProgress?.('uploading', sent, total);
            yield chunk;
          }
        })(),
        { objectMode: false },
      );
      const payload = `${randomUUID()}.pack`;
      await store.put(this.name(key, payload), body, total);
      if (sent !== total) throw new Error(`the entry changed while it was uploaded (${sent} of ${total} bytes)`);
      const fields = { format: MANIFEST_FORMAT, key, payload, bytes: total, sha256: hash.digest('hex'), createdAt: new Date().toISOString() } as const;
      const manifest: RemoteManifest = { ...fields, signature: sign(this.config.signingKey()!, fields) };
      const manifestBytes = Buffer.from(`${JSON.stringify(manifest)}\n`);
      await store.put(this.name(key, 'manifest.json'), manifestBytes, manifestBytes.length);
      this.status.upload = 'uploaded';
      this.status.uploadReason = null;
      this.status.bytesUploaded = total;
    } catch (error) {
      this.fail('upload', error);
    } finally {
      this.status.uploadSeconds = seconds(started);
    }
  }

  /** When the store is already known to be unusable: records why and says so. */
  private skipped(what: 'lookup' | 'upload'): boolean {
    if (!this.unavailable) return false;
    if (what === 'lookup') {
      this.status.lookup = 'skipped';
      this.status.lookupReason = this.unavailable;
    } else {
      this.status.upload = 'skipped';
      this.status.uploadReason = this.unavailable;
    }
    this.warnOnce();
    return true;
  }

  /** The store failed: one warning for the whole build, and no more requests. */
  private fail(what: 'lookup' | 'upload', error: unknown): void {
    this.unavailable = `the store failed (${describe(error)})`;
    this.skipped(what);
  }

  private warned = false;
  private warnOnce(): void {
    if (this.warned) return;
    this.warned = true;
    this.warnings.push({ code: 'REMOTE_CACHE', message: `remote cache ${this.config.url} not used: ${this.unavailable}; building as without it` });
  }

  private connect(): Promise<ObjectStore> {
    this.store ??= this.open(this.config);
    return this.store;
  }

  private name(key: string, file: string): string {
    return [this.config.prefix, LAYOUT, key, file].filter(Boolean).join('/');
  }

  /** The key's manifest, verified; null when there is none. */
  private async readManifest(store: ObjectStore, key: string): Promise<RemoteManifest | null> {
    const object = await store.get(this.name(key, 'manifest.json'));
    if (!object) return null;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of object.body) {
      size += chunk.length;
      if (size > 64 * 1024) throw new Rejected('its manifest is too large');
      chunks.push(Buffer.from(chunk));
    }
    let manifest: RemoteManifest;
    try {
      manifest = JSON.parse(Buffer.concat(chunks).toString('utf8')) as RemoteManifest;
    } catch {
      throw new Rejected('its manifest is not valid JSON');
    }
    if (typeof manifest?.signature !== 'string') throw new Rejected('it is not signed');
    const { signature, ...fields } = manifest;
    const expected = Buffer.from(sign(this.config.signingKey()!, fields), 'hex');
    const given = Buffer.from(signature, 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new Rejected('its signature does not verify (another signing key, or altered)');
    if (manifest.format !== MANIFEST_FORMAT || manifest.key !== key) throw new Rejected('it was signed for another key or format');
    if (!/^[\w-]+\.pack$/.test(manifest.payload) || !Number.isSafeInteger(manifest.bytes) || !/^[0-9a-f]{64}$/.test(manifest.sha256)) {
      throw new Rejected('its manifest is malformed');
    }
    return manifest;
  }
}

/** The signature of a manifest's fields, in a fixed order (JSON key order is not a contract). */
function sign(secret: string, fields: Omit<RemoteManifest, 'signature'>): string {
  const text = ['pyslim remote cache', fields.format, fields.key, fields.payload, fields.bytes, fields.sha256, fields.createdAt].join('\n');
  return createHmac('sha256', secret).update(text).digest('hex');
}

/** The entry folder's contents, in a fixed order. */
async function listEntry(dir: string): Promise<PackedFile[]> {
  const files: PackedFile[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    const full = path.join(entry.parentPath ?? entry.path, entry.name);
    const rel = path.relative(dir, full).split(path.sep).join('/');
    if (entry.isDirectory()) files.push({ path: rel, kind: 'dir', size: 0 });
    else if (entry.isSymbolicLink()) files.push({ path: rel, kind: 'link', size: 0, target: await fs.readlink(full) });
    else if (entry.isFile()) {
      const stats = await fs.stat(full);
      files.push({ path: rel, kind: stats.mode & 0o100 ? 'exec' : 'file', size: stats.size });
    }
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The pack's header: magic, the index's length, the index. */
function packHeader(files: readonly PackedFile[]): Buffer {
  const index = Buffer.from(JSON.stringify(files));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(index.length);
  return Buffer.concat([PACK_MAGIC, length, index]);
}

async function* packStream(dir: string, files: readonly PackedFile[], header: Buffer): AsyncGenerator<Buffer> {
  yield header;
  for (const file of files) {
    if (file.kind !== 'file' && file.kind !== 'exec') continue;
    let read = 0;
    for await (const chunk of createReadStream(path.join(dir, file.path), { highWaterMark: 1024 * 1024 })) {
      read += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
    if (read !== file.size) throw new Error(`${file.path} changed while it was uploaded`);
  }
}

/**
 * Unpacks a payload into `staging` as it arrives, hashing every byte; the caller publishes the
 * folder only when this returns, that is when size and SHA-256 match the signed manifest. Paths
 * are checked before anything is written, and links are made last, so an altered payload cannot
 * write outside the folder before the hash catches it.
 */
async function unpack(body: AsyncIterable<Uint8Array>, manifest: RemoteManifest, staging: string, progress: (bytes: number) => void): Promise<void> {
  const hash = createHash('sha256');
  const reader = byteReader(body, (chunk) => {
    hash.update(chunk);
    if (reader.total > manifest.bytes) throw new Rejected('its payload is longer than its manifest says');
    progress(reader.total);
  });
  const magic = await reader.exactly(PACK_MAGIC.length + 4);
  if (!magic || !magic.subarray(0, PACK_MAGIC.length).equals(PACK_MAGIC)) throw new Rejected('its payload is not a pyslim pack');
  const indexBytes = await reader.exactly(magic.readUInt32BE(PACK_MAGIC.length));
  if (!indexBytes) throw new Rejected('its payload is truncated');
  let files: PackedFile[];
  try {
    files = JSON.parse(indexBytes.toString('utf8')) as PackedFile[];
  } catch {
    throw new Rejected('its payload index is not valid JSON');
  }
  for (const file of files) {
    if (typeof file.path !== 'string' || file.path.startsWith('/') || file.path.split('/').some((part) => part === '..' || part === '') || !Number.isSafeInteger(file.size)) {
      throw new Rejected(`its payload names an unsafe path (${String(file.path)})`);
    }
  }
  for (const file of files) {
    const target = path.join(staging, file.path);
    if (file.kind === 'dir') {
      await fs.mkdir(target, { recursive: true });
    } else if (file.kind === 'file' || file.kind === 'exec') {
      await fs.mkdir(path.dirname(target), { recursive: true });
      const out = await fs.open(target, 'w', file.kind === 'exec' ? 0o755 : 0o644);
      try {
        for (let left = file.size; left > 0; ) {
          const chunk = await reader.upTo(left);
          if (!chunk) throw new Rejected('its payload is truncated');
          await out.write(chunk);
          left -= chunk.length;
        }
      } finally {
        await out.close();
      }
    }
  }
  if (!(await reader.atEnd())) throw new Rejected('its payload is longer than its manifest says');
  if (reader.total !== manifest.bytes) throw new Rejected(`its payload is truncated (${reader.total} of ${manifest.bytes} bytes)`);
  if (hash.digest('hex') !== manifest.sha256) throw new Rejected('its payload does not match its SHA-256');
  for (const file of files) {
    if (file.kind === 'link') {
      await fs.mkdir(path.dirname(path.join(staging, file.path)), { recursive: true });
      await fs.symlink(String(file.target), path.join(staging, file.path));
    }
  }
}

/** Reads a stream of chunks by exact lengths; `seen` sees every chunk once, as it arrives. */
function byteReader(body: AsyncIterable<Uint8Array>, seen: (chunk: Buffer) => void) {
  const source = body[Symbol.asyncIterator]();
  let buffered: Buffer = Buffer.alloc(0);
  const reader = {
    total: 0,
    async fill(): Promise<boolean> {
      const next = await source.next();
      if (next.done) return false;
      const chunk = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
      reader.total += chunk.length;
      seen(chunk);
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      return true;
    },
    /** Exactly n bytes, or null when the stream ends first. */
    async exactly(n: number): Promise<Buffer | null> {
      while (buffered.length < n) if (!(await reader.fill())) return null;
      const out = buffered.subarray(0, n);
      buffered = buffered.subarray(n);
      return out;
    },
    /** Between 1 and n bytes, or null at the end. */
    async upTo(n: number): Promise<Buffer | null> {
      if (buffered.length === 0 && !(await reader.fill())) return null;
      const out = buffered.subarray(0, Math.min(n, buffered.length));
      buffered = buffered.subarray(out.length);
      return out;
    },
    async atEnd(): Promise<boolean> {
      return buffered.length === 0 && !(await reader.fill());
    },
  };
  return reader;
}

/** A store error in one line, with no credentials in it. */
function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.slice(0, 300);
}

const seconds = (started: number) => Math.round(performance.now() - started) / 1000;
