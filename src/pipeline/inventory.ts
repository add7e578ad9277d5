/**
 * Inventory stage: lists every file that could go into the zip and gives each an owner.
 *
 * Installed files are attributed to their distribution through `*.dist-info/RECORD` (falling back
 * to the distribution that owns the file's top-level folder); the function's own files belong to
 * SOURCE_OWNER. The per-package table, the prune record and budget messages all read this one
 * attribution.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { importableName, normalizeDistName } from '../python-names.js';
import { SOURCE_OUTPUT_RULE, SOURCE_RULES, type SourceEntry } from '../rules/source.js';
import { type Distribution, SOURCE_OWNER, type TreeFile, UNATTRIBUTED } from '../model/files.js';

/** A part of the function folder left out by a source rule. */
export interface SourceExclusion {
  path: string;
  rule: string;
  /** Files and bytes left out; folders are not walked, so they count as one entry of unknown size. */
  isDirectory: boolean;
  bytes: number;
}

export interface InventoryOptions {
  /** Where the requirements were installed, or null when there are none. */
  depsDir: string | null;
  /** The function folder, or null to list installed packages only. It is only read. */
  sourceDir: string | null;
  /** Absolute paths pyslim itself writes (output zip, reports) that must not be packaged. */
  ownOutputs: readonly string[];
}

export interface Inventory {
  /** Every candidate file, deps and source, sorted by path. */
  files: TreeFile[];
  distributions: Distribution[];
  sourceExclusions: SourceExclusion[];
}

export async function takeInventory(options: InventoryOptions): Promise<Inventory> {
  const deps = options.depsDir ? await inventoryDeps(options.depsDir) : { files: [], distributions: [] };
  const source = options.sourceDir
    ? await inventorySource(options.sourceDir, new Set(options.ownOutputs.map((p) => path.resolve(p))))
    : { files: [], exclusions: [] };
  const files = [...deps.files, ...source.files].sort((a, b) => compareZipPaths(a.path, b.path));
  return { files, distributions: deps.distributions, sourceExclusions: source.exclusions };
}

/** Byte-order comparison of zip paths: the one sort order every stage uses. */
export function compareZipPaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function inventoryDeps(depsDir: string) {
  const listed = await walk(depsDir, '', () => undefined);
  const distributions: Distribution[] = [];
  const ownerOfPath = new Map<string, string>();
  for (const entry of await fs.readdir(depsDir, { withFileTypes: true })) {
    if (!entry.isDirectory() || !entry.name.endsWith('.dist-info')) continue;
    const dist = await readDistInfo(depsDir, entry.name, ownerOfPath);
    if (dist) distributions.push(dist);
  }
  const topLevelOwners = ownersOfTopLevelFolders(ownerOfPath);
  const files = listed.files.map(
    (file): TreeFile => ({
      ...file,
      owner: ownerOfPath.get(file.path) ?? topLevelOwners.get(file.path.split('/')[0]!) ?? UNATTRIBUTED,
      origin: 'deps',
    }),
  );
  distributions.sort((a, b) => compareZipPaths(a.key, b.key));
  return { files, distributions };
}

/**
 * Reads one dist-info folder: METADATA for the name and version, RECORD for the files it owns.
 * RECORD paths are relative to site-packages; pip's --target install writes console scripts as
 * "../../bin/x", which land in <target>/bin.
 */
async function readDistInfo(depsDir: string, distInfo: string, ownerOfPath: Map<string, string>): Promise<Distribution | undefined> {
  const folder = path.join(depsDir, distInfo);
  const metadata = await readOptional(path.join(folder, 'METADATA'));
  if (metadata === undefined) return undefined;
  const headers = parseMetadataHeaders(metadata);
  const name = headers.get('name')?.[0] ?? distInfo.replace(/-[^-]*\.dist-info$/, '');
  const key = normalizeDistName(name);
  const record = (await readOptional(path.join(folder, 'RECORD'))) ?? '';
  const recorded: string[] = [];
  for (const line of record.split(/\r?\n/)) {
    const recordPath = parseRecordPath(line);
    if (!recordPath) continue;
    const target = path.posix.normalize(path.posix.join('lib/python', recordPath));
    const zipPath = target.startsWith('lib/python/') ? target.slice('lib/python/'.length) : target;
    if (zipPath.startsWith('../')) continue;
    ownerOfPath.set(zipPath, key);
    recorded.push(zipPath);
  }
  ownerOfPath.set(`${distInfo}/RECORD`, key);
  const topLevelText = await readOptional(path.join(folder, 'top_level.txt'));
  const topLevel = topLevelText !== undefined ? parseTopLevel(topLevelText) : inferTopLevel(recorded);
  return {
    key,
    name,
    version: headers.get('version')?.[0] ?? '',
    distInfo,
    topLevel,
    hasTopLevelFile: topLevelText !== undefined,
    requires: headers.get('requires-dist') ?? [],
  };
}

/** The header block of a METADATA file (RFC 822 style), keys lower-cased, values in order. */
export function parseMetadataHeaders(text: string): Map<string, string[]> {
  const headers = new Map<string, string[]>();
  let last: string[] | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line === '') break;
    if (/^\s/.test(line) && last) {
      last[last.length - 1] += `\n${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    last = headers.get(key) ?? [];
    last.push(line.slice(colon + 1).trim());
    headers.set(key, last);
  }
  return headers;
}

/** The path column of a RECORD line (CSV; a path may be quoted when it holds a comma). */
function parseRecordPath(line: string): string | undefined {
  if (!line.trim()) return undefined;
  if (line.startsWith('"')) {
    const end = line.indexOf('",');
    return end > 0 ? line.slice(1, end).replace(/""/g, '"') : undefined;
  }
  const comma = line.indexOf(',');
  return comma < 0 ? line : line.slice(0, comma);
}

function parseTopLevel(text: string): string[] {
  const names = text
    .split(/\r?\n/)
    .map((line) => line.trim().split('/')[0]!)
    .filter(Boolean);
  return [...new Set(names)].sort(compareZipPaths);
}

/** Top-level importable names from the RECORD paths, for wheels without top_level.txt. */
export function inferTopLevel(paths: readonly string[]): string[] {
  const names = new Set<string>();
  for (const p of paths) {
    const segments = p.split('/');
    const name = importableName(segments[0]!, segments.length > 1);
    if (name && name !== '__pycache__') names.add(name);
  }
  return [...names].sort(compareZipPaths);
}

/** Top-level folders that exactly one distribution's RECORD claims files in. */
function ownersOfTopLevelFolders(ownerOfPath: Map<string, string>): Map<string, string> {
  const owners = new Map<string, string | null>();
  for (const [p, owner] of ownerOfPath) {
    const slash = p.indexOf('/');
    if (slash < 0) continue;
    const top = p.slice(0, slash);
    const seen = owners.get(top);
    owners.set(top, seen === undefined || seen === owner ? owner : null);
  }
  const unique = new Map<string, string>();
  for (const [top, owner] of owners) if (owner) unique.set(top, owner);
  return unique;
}

async function inventorySource(sourceDir: string, ownOutputs: Set<string>) {
  const exclusions: SourceExclusion[] = [];
  const listed = await walk(sourceDir, '', async (entry, abs) => {
    if (ownOutputs.has(abs) || (!entry.isDirectory && isOwnTempFile(entry.name))) return SOURCE_OUTPUT_RULE;
    const isVirtualenv = entry.isDirectory && (await exists(path.join(abs, 'pyvenv.cfg')));
    return SOURCE_RULES.find((rule) => rule.matches({ ...entry, isVirtualenv }))?.name;
  });
  for (const skipped of listed.skipped) exclusions.push(skipped);
  const files = listed.files.map((file): TreeFile => ({ ...file, owner: SOURCE_OWNER, origin: 'source' }));
  return { files, exclusions };
}

/** The temp files pyslim writes beside its output (see the zip stage). */
export function isOwnTempFile(name: string): boolean {
  return /^\.pyslim-.*\.tmp$/.test(name);
}

type Skip = (entry: Omit<SourceEntry, 'isVirtualenv'>, abs: string) => string | undefined | Promise<string | undefined>;

interface Listed {
  files: Omit<TreeFile, 'owner' | 'origin'>[];
  skipped: SourceExclusion[];
}

/**
 * Lists the regular files under `root`. Symlinks are followed (the zip stores their target's
 * content, as Lambda cannot rely on links), except links that loop back into a folder being walked.
 */
async function walk(root: string, prefix: string, skip: Skip, seen = new Set<string>()): Promise<Listed> {
  const listed: Listed = { files: [], skipped: [] };
  const real = await fs.realpath(root);
  if (seen.has(real)) return listed;
  seen.add(real);
  const entries = await fs.readdir(root, { withFileTypes: true });
  entries.sort((a, b) => compareZipPaths(a.name, b.name));
  for (const entry of entries) {
    const abs = path.join(root, entry.name);
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    let stats;
    try {
      stats = await fs.stat(abs);
    } catch {
      continue; // a dangling symlink: there is no content to package
    }
    const isDirectory = stats.isDirectory();
    if (!isDirectory && !stats.isFile()) continue;
    const rule = await skip({ path: rel, name: entry.name, isDirectory }, abs);
    if (rule) {
      listed.skipped.push({ path: rel, rule, isDirectory, bytes: isDirectory ? 0 : stats.size });
      continue;
    }
    if (isDirectory) {
      const inner = await walk(abs, rel, skip, seen);
      listed.files.push(...inner.files);
      listed.skipped.push(...inner.skipped);
    } else {
      listed.files.push({ path: rel, abs, size: stats.size, executable: (stats.mode & 0o111) !== 0 });
    }
  }
  seen.delete(real);
  return listed;
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

/**
 * Copies the function's files that ship into a folder of pyslim's own, so that later stages
 * (bytecode, the import check, the zip) work on exactly what ships and never write into the
 * user's folder. Returns the files pointing at their copies.
 */
export async function stageSourceFiles(files: readonly TreeFile[], into: string): Promise<TreeFile[]> {
  const staged: TreeFile[] = [];
  for (const file of files) {
    if (file.origin !== 'source') {
      staged.push(file);
      continue;
    }
    const abs = path.join(into, ...file.path.split('/'));
    await fs.mkdir(path.dirname(abs), { recursive: true });
    await fs.copyFile(file.abs, abs);
    staged.push({ ...file, abs });
  }
  return staged;
}
