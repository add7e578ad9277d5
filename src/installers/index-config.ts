/**
 * Package index configuration: where pip finds packages. pyslim's own flags win over the host
 * pip's configuration, key by key. The local installer passes pyslim's flags to the host pip
 * (which reads its own configuration itself); the container installer forwards the merged result
 * into the container, mounting local folders read-only.
 */
import path from 'node:path';
import type { Exec } from '../exec.js';

export interface IndexConfig {
  /** Replaces pip's default index (PyPI). */
  indexUrl?: string;
  extraIndexUrls: string[];
  /** URLs or local folders of wheels. */
  findLinks: string[];
  trustedHosts: string[];
  /** Constraint files (absolute paths or URLs). */
  constraints: string[];
  noIndex: boolean;
  /** A CA bundle for https indexes. */
  cert?: string;
}

export const EMPTY_INDEX_CONFIG: IndexConfig = { extraIndexUrls: [], findLinks: [], trustedHosts: [], constraints: [], noIndex: false };

const SECTION_RANK: Record<string, number> = { global: 0, install: 1, ':env:': 2 };

/**
 * Parses `pip config list` output (`global.extra-index-url='a b'`, `:env:.find-links='/x'`).
 * For each key the most specific section wins, as in pip: environment, then [install], then [global].
 */
export function parsePipConfigList(text: string): IndexConfig {
  const best = new Map<string, { rank: number; value: string }>();
  for (const line of text.split(/\r?\n/)) {
    const match = /^(:env:|[\w-]+)\.([\w-]+)='(.*)'$/.exec(line.trim());
    if (!match) continue;
    const [, section, key, value] = match as unknown as [string, string, string, string];
    const rank = SECTION_RANK[section];
    if (rank === undefined) continue;
    const seen = best.get(key);
    if (!seen || rank >= seen.rank) best.set(key, { rank, value });
  }
  const list = (key: string) => (best.get(key)?.value ?? '').split(/\s+/).filter(Boolean);
  const config: IndexConfig = {
    extraIndexUrls: list('extra-index-url'),
    findLinks: list('find-links'),
    trustedHosts: list('trusted-host'),
    constraints: list('constraint'),
    noIndex: /^(1|true|yes|on)$/i.test(best.get('no-index')?.value ?? ''),
  };
  const indexUrl = best.get('index-url')?.value;
  if (indexUrl) config.indexUrl = indexUrl;
  const cert = best.get('cert')?.value;
  if (cert) config.cert = cert;
  return config;
}

/** Reads the host pip's configuration; an empty config when there is no host pip. */
export async function readHostPipConfig(exec: Exec, env: Readonly<Record<string, string | undefined>>, python: string): Promise<IndexConfig> {
  const result = await exec(python, ['-m', 'pip', 'config', 'list'], { env, timeoutMs: 30_000 });
  return result.exitCode === 0 ? parsePipConfigList(result.stdout) : { ...EMPTY_INDEX_CONFIG };
}

/** pyslim's flags replace the host configuration's value for each key they set. */
export function mergeIndexConfig(host: IndexConfig, flags: Partial<IndexConfig>): IndexConfig {
  const pick = <K extends keyof IndexConfig>(key: K): IndexConfig[K] => {
    const value = flags[key];
    const set = Array.isArray(value) ? value.length > 0 : value !== undefined && value !== false;
    return (set ? value : host[key]) as IndexConfig[K];
  };
  const merged: IndexConfig = {
    extraIndexUrls: pick('extraIndexUrls'),
    findLinks: pick('findLinks'),
    trustedHosts: pick('trustedHosts'),
    constraints: pick('constraints'),
    noIndex: pick('noIndex'),
  };
  const indexUrl = pick('indexUrl');
  if (indexUrl) merged.indexUrl = indexUrl;
  const cert = pick('cert');
  if (cert) merged.cert = cert;
  return merged;
}

/** pip command-line options for pyslim's own index flags (the local installer's host pip). */
export function pipIndexArgs(flags: Partial<IndexConfig>): string[] {
  return [
    ...(flags.indexUrl ? ['--index-url', flags.indexUrl] : []),
    ...(flags.extraIndexUrls ?? []).flatMap((url) => ['--extra-index-url', url]),
    ...(flags.findLinks ?? []).flatMap((link) => ['--find-links', link]),
    ...(flags.trustedHosts ?? []).flatMap((host) => ['--trusted-host', host]),
    ...(flags.constraints ?? []).flatMap((file) => ['--constraint', file]),
    ...(flags.noIndex ? ['--no-index'] : []),
    ...(flags.cert ? ['--cert', flags.cert] : []),
  ];
}

export interface Mount {
  hostPath: string;
  containerPath: string;
  readOnly: boolean;
}

/** Where host folders appear inside the container: under one prefix, so nothing in the image is shadowed. */
export const HOST_MOUNT_PREFIX = '/pyslim/host';

export interface ForwardedIndex {
  /** PIP_* variables for the container; values may hold credentials, so they travel by environment, never argv. */
  env: Record<string, string>;
  mounts: Mount[];
}

/**
 * Translates the index configuration for pip inside a container. Local folders are mounted
 * read-only under HOST_MOUNT_PREFIX and their paths rewritten. A `file://` index is mounted with
 * its parent folder, because simple-index pages link to files beside the index
 * (`../../files/x.whl`).
 */
export function forwardIndexConfig(config: IndexConfig, cwd: string): ForwardedIndex {
  const mounts = new Map<string, Mount>();
  const mount = (hostPath: string) => {
    const absolute = path.resolve(cwd, hostPath);
    if (!mounts.has(absolute)) mounts.set(absolute, { hostPath: absolute, containerPath: HOST_MOUNT_PREFIX + absolute, readOnly: true });
    return HOST_MOUNT_PREFIX + absolute;
  };
  const fileUrlPath = (url: string) => decodeURIComponent(new URL(url).pathname);
  const indexUrl = (url: string) => {
    if (!url.startsWith('file:')) return url;
    const local = fileUrlPath(url).replace(/\/+$/, '');
    mount(path.dirname(local));
    return `file://${HOST_MOUNT_PREFIX}${local}${url.endsWith('/') ? '/' : ''}`;
  };
  const location = (value: string) => {
    if (value.startsWith('file:')) return `file://${mount(fileUrlPath(value))}`;
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return value;
    return mount(value);
  };

  const env: Record<string, string> = {};
  if (config.indexUrl) env.PIP_INDEX_URL = indexUrl(config.indexUrl);
  if (config.extraIndexUrls.length) env.PIP_EXTRA_INDEX_URL = config.extraIndexUrls.map(indexUrl).join(' ');
  if (config.findLinks.length) env.PIP_FIND_LINKS = config.findLinks.map(location).join(' ');
  if (config.trustedHosts.length) env.PIP_TRUSTED_HOST = config.trustedHosts.join(' ');
  if (config.constraints.length) env.PIP_CONSTRAINT = config.constraints.map(location).join(' ');
  if (config.noIndex) env.PIP_NO_INDEX = '1';
  if (config.cert) env.PIP_CERT = location(config.cert);
  return { env, mounts: [...mounts.values()] };
}
