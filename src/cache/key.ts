/**
 * The cache key of a dependency layer: everything that can change the installed, pruned and
 * compiled tree, or its compressed entries. Any change to any input is a miss; nothing stale is
 * ever served. Inputs that may hold credentials (index URLs) enter the key only as hashes.
 */
import { createHash } from 'node:crypto';

export interface CacheInputs {
  /** pyslim's version: its rules and stages shape the layer. */
  pyslim: string;
  /** The compressor and its settings: they shape the compressed bytes. */
  compressor: string;
  runtime: string;
  arch: string;
  /** local or docker. */
  installer: string;
  /** The container image and its local id, or null. */
  image: string | null;
  /** The interpreter that compiles bytecode, or null. */
  interpreter: string | null;
  /** Hash of the requirements as installed (includes and constraints inlined). */
  requirements: string;
  /** Hash of the resolved distributions (name, version, artifact hash), or 'locked' for hash-pinned inputs. */
  resolved: string;
  /** Hash of the index configuration (index URLs, find-links, trusted hosts, constraints). */
  index: string;
  /** Prune settings: profile, --exclude, --keep, --boto-services, --exclude-runtime-packages, --strip. */
  prune: string;
  bytecode: string;
}

/** Human names for the inputs, for the report's "why it missed". */
export const INPUT_NAMES: Record<keyof CacheInputs, string> = {
  pyslim: 'pyslim version',
  compressor: 'compressor',
  runtime: 'runtime',
  arch: 'architecture',
  installer: 'installer',
  image: 'image',
  interpreter: 'interpreter',
  requirements: 'requirements',
  resolved: 'resolved versions',
  index: 'index configuration',
  prune: 'prune options',
  bytecode: 'bytecode mode',
};

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The key: a hash of the inputs in a fixed order. */
export function cacheKey(inputs: CacheInputs): string {
  const ordered = (Object.keys(INPUT_NAMES) as (keyof CacheInputs)[]).map((name) => [name, inputs[name]]);
  return sha256(JSON.stringify(ordered)).slice(0, 32);
}

/** Which inputs differ between two builds, by human name. */
export function changedInputs(before: CacheInputs, after: CacheInputs): string[] {
  return (Object.keys(INPUT_NAMES) as (keyof CacheInputs)[]).filter((name) => before[name] !== after[name]).map((name) => INPUT_NAMES[name]);
}
