/**
 * What a pip resolution read, and whether pip would read the same now.
 *
 * Given the same requirements, options, interpreter, pip and marker environment, pip's resolver
 * is a function of what it reads: index and find-links pages, local find-links folders,
 * constraint files and its configuration. docker/pip_for_target.py records each of them with a
 * digest while pip resolves (PYSLIM_PIP_SOURCES). A later build of the same function checks the
 * record here: when every page, folder and file is as pip read it, pip would resolve the same
 * versions, so the build can reuse the last resolution without running pip (1.3 s of CPU and
 * about 2 s of a warm rebuild here, against a few tens of milliseconds for the check).
 *
 * Every doubt counts as a change, which only costs a pip run: a page that cannot be fetched for a
 * reason pip might not share (a timeout, a TLS or auth failure, a proxy pip would use), a record
 * from another pip, environment or kernel, or one that could not be made completely (a remote
 * constraints file, credentials in an index URL, a pip whose internals the recorder does not
 * know). The digests must match the recorder's definitions exactly; they are in both files.
 */
import { createHash } from 'node:crypto';
import dns from 'node:dns/promises';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { normalizeDistName } from '../python-names.js';
import { redact } from '../redact.js';
import type { ResolvedDistribution } from './pip-report.js';

export interface PipSources {
  format: typeof SOURCES_FORMAT;
  /** The pip version that resolved. */
  pip: string;
  /** Digest of the environment variables pip and its configuration lookup read. */
  environment: string;
  /** platform_release and platform_version, the markers pip still takes from the host. */
  uname: [string, string];
  /** pip's configuration files, by absolute path: a content digest, or "missing". */
  config: Record<string, string>;
  /** Index and find-links pages, by URL: a digest of the content pip parsed, or null when it got none. */
  pages: Record<string, string | null>;
  /** Local index and find-links locations (and local artifacts), by absolute path: pathState(). */
  paths: Record<string, string>;
  /** Requirement and constraint files pip read outside pyslim's own temp folder: fileState(). */
  files: Record<string, string>;
  /** Set when pip fetched pages through a proxy of its own configuration. */
  proxied?: boolean;
  /** Set when pip ran elsewhere (a container), whose network may reach what this host cannot. */
  elsewhere?: boolean;
}

const SOURCES_FORMAT = 1;

/** The variables that can change what pip reads or how: its own, where its configuration lives, proxies and certificates. */
const ENVIRONMENT_NAMES = /^(PIP_.*|HOME|XDG_CONFIG_HOME|XDG_CONFIG_DIRS|VIRTUAL_ENV|NETRC|REQUESTS_CA_BUNDLE|CURL_CA_BUNDLE|SSL_CERT_FILE|SSL_CERT_DIR|(https?|all|no)_proxy|(HTTPS?|ALL|NO)_PROXY)$/;

/** A digest of the environment pip runs with (values may hold credentials, so only the digest is kept). */
function pipEnvironmentDigest(env: Readonly<Record<string, string | undefined>>): string {
  const relevant = Object.entries(env)
    .filter(([name, value]) => value !== undefined && ENVIRONMENT_NAMES.test(name))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256').update(JSON.stringify(relevant)).digest('hex');
}

export interface SourcesContext {
  env: Readonly<Record<string, string | undefined>>;
  /** The version of the pip that runs (or would run) the resolution. */
  pipVersion: string | undefined;
}

/**
 * Where pip ran, when not on this host: a container, whose paths under the mounts are host paths.
 * What lies outside the mounts is the image's, which the cache key covers by the image's id.
 */
export interface PipPlace {
  /** The host path of a path pip saw, or undefined for one of the image's own. */
  hostPath(seen: string): string | undefined;
}

/**
 * Reads the recorder's output into a record worth keeping, or undefined. Files under
 * `ownFolders` (pyslim's copy of the requirements, whose content is in the cache key) are left
 * out, and the local artifacts pip chose are added, so that a wheel replaced under the same name
 * shows. A record made in a container is translated to host paths; since the container's network
 * is not the host's, a page the host cannot fetch never counts as unchanged for it.
 *
 * Every distribution pip chose must have come from something recorded: its project page, or a
 * find-links folder holding its artifact. Otherwise pip found it some way the recorder did not
 * see (a pip whose internals moved), and the record would vouch for less than pip read. A direct
 * URL's artifact is on no page, so only a local one, checked by its size and time, will do.
 */
export async function readPipSources(
  file: string,
  context: SourcesContext & { ownFolders: readonly string[]; distributions: readonly ResolvedDistribution[]; place?: PipPlace },
): Promise<PipSources | undefined> {
  let raw: { format?: unknown; complete?: unknown; pip?: unknown; proxied?: unknown; uname?: unknown; config?: unknown; pages?: unknown; paths?: unknown; files?: unknown };
  try {
    raw = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch {
    return undefined; // no record (an unknown pip layout): pip runs next time
  }
  const pip = typeof raw.pip === 'string' ? raw.pip : context.pipVersion;
  if (raw.format !== SOURCES_FORMAT || raw.complete !== true || !pip) return undefined;
  const { place } = context;
  const onHost = (seen: string) => (place ? place.hostPath(seen) : seen);
  const pageOnHost = (url: string) => {
    if (!url.startsWith('file:')) return url;
    const href = mapDefined(onHost(fileURLToPath(url)), (p) => pathToFileURL(p).href);
    return href && url.endsWith('/') && !href.endsWith('/') ? `${href}/` : href;
  };
  const own = context.ownFolders.map((folder) => (folder.endsWith(path.sep) ? folder : folder + path.sep));
  const translate = <T>(entries: Record<string, T>, map: (key: string) => string | undefined) =>
    Object.fromEntries(Object.entries(entries).flatMap(([key, value]) => mapDefined(map(key), (mapped) => [[mapped, value] as const]) ?? []));
  const files = translate(raw.files as Record<string, string>, (name) => (own.some((folder) => name.startsWith(folder)) ? undefined : onHost(name)));
  const pages = translate(raw.pages as Record<string, string | null>, pageOnHost);
  const paths = translate(raw.paths as Record<string, string>, onHost);
  const config = translate(raw.config as Record<string, string>, onHost);
  const distributions = context.distributions.map((d) => ({ ...d, artifact: d.artifact && onHost(d.artifact) }));
  const pageNames = new Set(Object.keys(pages).map((url) => url.replace(/\/+$/, '').split('/').pop()));
  const found = (d: ResolvedDistribution) =>
    d.direct ? d.artifact !== undefined : pageNames.has(normalizeDistName(d.name)) || (d.artifact !== undefined && paths[path.dirname(d.artifact)]?.startsWith('listing:'));
  if (!distributions.every(found)) return undefined;
  for (const { artifact } of distributions) if (artifact) paths[artifact] ??= await pathState(artifact, false);
  return {
    format: SOURCES_FORMAT,
    pip,
    environment: pipEnvironmentDigest(context.env),
    uname: raw.uname as [string, string],
    config,
    pages,
    paths,
    files,
    ...(raw.proxied === true ? { proxied: true } : {}),
    ...(place ? { elsewhere: true } : {}),
  };
}

const mapDefined = <T, U>(value: T | undefined, map: (value: T) => U): U | undefined => (value === undefined ? undefined : map(value));

/** A record kept in the cache's notes (unchecked JSON), if it has the expected shape. */
export function validPipSources(value: unknown): PipSources | undefined {
  const sources = value as Partial<PipSources> | undefined;
  const isRecord = (x: unknown) => typeof x === 'object' && x !== null && !Array.isArray(x);
  const valid =
    sources?.format === SOURCES_FORMAT &&
    typeof sources.pip === 'string' &&
    typeof sources.environment === 'string' &&
    Array.isArray(sources.uname) &&
    isRecord(sources.config) &&
    isRecord(sources.pages) &&
    isRecord(sources.paths) &&
    isRecord(sources.files);
  return valid ? (sources as PipSources) : undefined;
}

/**
 * What pip would read differently now than the record says it read, in words (the first
 * difference found), or undefined when it would read exactly the same. All checks run at once;
 * any doubt counts as a difference, and so does a check that takes longer than `timeoutMs`.
 */
export async function pipSourcesChange(sources: PipSources, context: SourcesContext & { timeoutMs?: number }): Promise<string | undefined> {
  if (sources.pip !== context.pipVersion) return `pip's version (${sources.pip}, now ${context.pipVersion ?? 'none'})`;
  if (sources.environment !== pipEnvironmentDigest(context.env)) return "pip's environment variables";
  if (sources.uname[0] !== os.release() || sources.uname[1] !== os.version()) return 'the kernel (platform_release and platform_version markers)';
  const timeoutMs = context.timeoutMs ?? CHECK_TIMEOUT_MS;
  const signal = AbortSignal.timeout(timeoutMs);
  // Through a proxy, or from a container, a page this host cannot fetch may still reach pip.
  const absenceUncertain = sources.proxied === true || sources.elsewhere === true || Object.keys(context.env).some((name) => /^(https?|all)_proxy$/i.test(name) && context.env[name]);
  const differs = async (check: Promise<string | null | undefined>, recorded: string | null, what: string) => ((await check) === recorded ? undefined : what);
  const remote = new Map<string, string[]>();
  const checks: Promise<string | undefined>[] = [
    ...Object.entries(sources.config).map(([file, state]) => differs(fileState(file), state, `pip configuration file ${file}`)),
    ...Object.entries(sources.files).map(([file, state]) => differs(fileState(file), state, `file ${file}`)),
    ...Object.entries(sources.paths).map(([where, state]) =>
      differs(pathState(where, state.startsWith('listing:')), state, `${state.startsWith('listing:') ? 'find-links folder' : 'local path'} ${where}`),
    ),
  ];
  for (const [url, state] of Object.entries(sources.pages)) {
    if (url.startsWith('file:')) checks.push(differs(localPageState(url), state, `index page ${url}`));
    else if (/^https?:/i.test(url)) {
      const { origin } = new URL(url);
      remote.set(origin, [...(remote.get(origin) ?? []), url]);
    }
    else checks.push(Promise.resolve(`index page ${redact(url)}`));
  }
  for (const urls of remote.values()) {
    checks.push(
      remotePageStates(urls, { absenceUncertain, signal }).then((states) => {
        const changed = urls.find((url, i) => states[i] !== sources.pages[url]);
        return changed === undefined ? undefined : `index page ${redact(changed)}`;
      }),
    );
  }
  const timedOut = new Promise<string[]>((resolve) => signal.addEventListener('abort', () => resolve([`the index (no answer within ${timeoutMs / 1000} s)`]), { once: true }));
  return (await Promise.race([Promise.all(checks), timedOut])).find((change) => change !== undefined);
}

/** How long a check may take: a slower index is treated as changed (pip then runs). */
const CHECK_TIMEOUT_MS = 5_000;

const digest = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** A file's content digest, or "missing" (as the recorder's file_state). */
async function fileState(file: string): Promise<string> {
  try {
    return digest(await fs.readFile(file));
  } catch {
    return 'missing';
  }
}

/**
 * What pip sees at a local location (as the recorder's path_state): "missing", "other",
 * "file:<size>:<mtime ns>", "dir", or for a find-links folder "listing:<digest>" of its entries
 * with their sizes and modification times.
 */
export async function pathState(where: string, listing: boolean): Promise<string> {
  const found = await fs.stat(where, { bigint: true }).catch(() => undefined);
  if (!found) return 'missing';
  if (found.isFile()) return `file:${found.size}:${found.mtimeNs}`;
  if (!found.isDirectory()) return 'other';
  if (!listing) return 'dir';
  const real = await fs.realpath(where);
  const names = await fs.readdir(real);
  const lines = await Promise.all(
    names.map(async (name) => {
      const entry = await fs.stat(path.join(real, name), { bigint: true }).catch(() => undefined);
      const kind = entry?.isFile() ? `${entry.size}\t${entry.mtimeNs}` : entry?.isDirectory() ? 'd' : '?';
      return `${name}\t${kind}`;
    }),
  );
  // Python sorts by code point, which is the order of the UTF-8 bytes.
  lines.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return `listing:${createHash('sha256').update(lines.join('\n')).digest('hex')}`;
}

/** The content types pip accepts for a simple-API page. */
const PAGE_TYPES = /^(application\/vnd\.pypi\.simple\.v1\+json|application\/vnd\.pypi\.simple\.v1\+html|text\/html)\b/i;
/** Network failures pip meets the same way (it gets no page): no such host, nothing listening, no route. */
const DEFINITE_FAILURES = new Set(['ENOTFOUND', 'ECONNREFUSED', 'ENETUNREACH', 'EHOSTUNREACH']);

/** A file: page as pip reads it: index.html for a folder, and only an HTML file as a page. */
async function localPageState(url: string): Promise<string | null> {
  let file = fileURLToPath(url);
  if ((await fs.stat(file).catch(() => undefined))?.isDirectory()) file = path.join(file, 'index.html');
  if (!/\.html?$/i.test(file)) return null;
  return fs.readFile(file).then(digest, () => null);
}

/**
 * The pages of one http(s) origin as pip would get them now: a content digest, null when pip
 * would get none, or undefined when that cannot be told (which never equals a record).
 *
 * The host name is looked up once first: when it does not resolve, pip gets none of its pages
 * either (unless its absence is uncertain: a proxy, a container). Then one page alone, so the rest can share its
 * connection, and the others a few at a time. (Many lookups at once stalled for 5 s on these
 * machines' resolver.)
 */
async function remotePageStates(
  urls: readonly string[],
  { absenceUncertain, signal }: { absenceUncertain: boolean; signal: AbortSignal },
): Promise<(string | null | undefined)[]> {
  const failure = await dns.lookup(new URL(urls[0]!).hostname).then(
    () => undefined,
    (error: NodeJS.ErrnoException) => error.code ?? 'unknown',
  );
  if (failure) return urls.map(() => (!absenceUncertain && DEFINITE_FAILURES.has(failure) ? null : undefined));
  const states = [await remotePageState(urls[0]!, absenceUncertain, signal)];
  for (let i = 1; i < urls.length; i += REMOTE_PAGES_AT_ONCE) {
    states.push(...(await Promise.all(urls.slice(i, i + REMOTE_PAGES_AT_ONCE).map((url) => remotePageState(url, absenceUncertain, signal)))));
  }
  return states;
}

const REMOTE_PAGES_AT_ONCE = 6;

async function remotePageState(url: string, absenceUncertain: boolean, signal: AbortSignal): Promise<string | null | undefined> {
  try {
    const response = await fetch(url, {
      headers: { Accept: 'application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01', 'Cache-Control': 'max-age=0' },
      signal,
    });
    // An authentication answer may be one pip gets past with netrc or keyring credentials.
    if ([401, 403, 407].includes(response.status)) return undefined;
    if (!response.ok || !PAGE_TYPES.test(response.headers.get('content-type') ?? '')) return null;
    return digest(new Uint8Array(await response.arrayBuffer()));
  } catch (error) {
    const cause = (error as { cause?: { code?: string; errors?: { code?: string }[] } }).cause;
    const code = cause?.code ?? cause?.errors?.[0]?.code;
    return !absenceUncertain && code && DEFINITE_FAILURES.has(code) ? null : undefined;
  }
}
