/**
 * Attribution of a zip's entries to distributions, from the metadata inside the zip alone.
 *
 * Pure: it sees entry paths and the parsed metadata folders, never the zip. Each entry gets at
 * most one owner, through the first of these that applies:
 * 1. record: the distribution's RECORD lists the path (exact; pip --target zips have it);
 * 2. metadata: the path is inside the distribution's own *.dist-info folder;
 * 3. top-level / name: for a distribution without RECORD (pyslim's zips drop it), the top-level
 *    module or folder is named in its top_level.txt, or its name normalizes to the
 *    distribution's (typing_extensions.py → typing-extensions), or it is the auditwheel
 *    `<name>.libs` folder of vendored shared libraries;
 * 4. bytecode: `d/__pycache__/m.<tag>.pyc` belongs to whoever owns `d/m.py`;
 * 5. folder: the nearest enclosing folder whose attributed files all belong to one distribution
 *    (bytecode compiled after install, files a build step added).
 * What is left is unattributed: the function's own code, console scripts without RECORD, and
 * anything no metadata describes.
 */
import path from 'node:path';
import { normalizeDistName } from '../python-names.js';

/**
 * Where installed packages sit in a Lambda zip: the zip root (a function, /var/task), `python/`
 * or `python/lib/python3.X/site-packages/` (a layer, under /opt). Metadata folders anywhere else
 * (setuptools vendors some inside its own package) are not distributions of the zip.
 */
const PACKAGE_ROOT = /^(?:python\/(?:lib\/python3\.\d+\/site-packages\/)?)?/;

/** The package root a path lies under: the deepest of "", "python/", "python/lib/python3.X/site-packages/". */
export function packageRootOf(entryPath: string): string {
  return PACKAGE_ROOT.exec(entryPath)![0];
}

/** One metadata folder found in the zip, parsed. */
export interface MetadataFolder {
  /** The package root it sits in. */
  root: string;
  /** The folder's name, e.g. "requests-2.32.3.dist-info". */
  folder: string;
  /** Normalized distribution name. */
  key: string;
  /** Paths from RECORD (or an egg's installed-files.txt) as written there; null without one. */
  record: string[] | null;
  /** Whether record paths are relative to the metadata folder (egg-info) rather than the root. */
  recordRelativeToFolder: boolean;
  /** Names from top_level.txt; null without one. */
  topLevel: string[] | null;
}

/** Why an entry has its owner; see the module comment for the order. */
export type AttributionReason = 'record' | 'metadata' | 'top-level' | 'name' | 'bytecode' | 'folder';

export interface Attribution {
  /** Index into the metadata folders, or null for unattributed. */
  owner: number | null;
  reason: AttributionReason | null;
}

/** A top-level folder that several distributions without RECORD claim, and that could not be split. */
export interface SharedFolder {
  path: string;
  /** Indexes into the metadata folders. */
  owners: number[];
}

export interface AttributionResult {
  /** One per entry path, in the same order. */
  entries: Attribution[];
  sharedFolders: SharedFolder[];
}

/** Attributes each entry path (folders end with "/") to one of `folders`, or to none. */
export function attributeEntries(paths: readonly string[], folders: readonly MetadataFolder[]): AttributionResult {
  const index = new Map(paths.map((p, i) => [p, i]));
  const entries: Attribution[] = paths.map(() => ({ owner: null, reason: null }));
  const claim = (i: number, owner: number, reason: AttributionReason) => {
    if (entries[i]!.owner === null) entries[i] = { owner, reason };
  };

  // 1. RECORD, exact paths. The first distribution to list a path keeps it.
  folders.forEach((meta, d) => {
    for (const recorded of meta.record ?? []) {
      for (const candidate of recordCandidates(meta, recorded)) {
        const i = index.get(candidate);
        if (i !== undefined) {
          claim(i, d, 'record');
          break;
        }
      }
    }
  });

  // 2. The metadata folder itself, with or without RECORD.
  const metadataOwner = new Map(folders.map((meta, d) => [`${meta.root}${meta.folder}`, d]));
  const split = paths.map(splitPath);
  split.forEach(({ root, top }, i) => {
    const d = metadataOwner.get(`${root}${top}`);
    if (d !== undefined) claim(i, d, 'metadata');
  });

  // 3. Top-level names, for distributions without RECORD.
  const shared = claimTopLevel(paths, split, folders, entries, claim);

  // 4. Bytecode beside its source. Bytecode whose source ships follows that source, even when the
  // source has no owner (the function's own handler.py): a top-level __pycache__/ mixes modules.
  const followsSource = new Set<number>();
  paths.forEach((p, i) => {
    if (entries[i]!.owner !== null) return;
    const match = /^(.*\/)?__pycache__\/([^/.]+)\.[^/]*\.pyc$/.exec(p);
    const source = match ? index.get(`${match[1] ?? ''}${match[2]}.py`) : undefined;
    if (source === undefined) return;
    followsSource.add(i);
    const owner = entries[source]!.owner;
    if (owner !== null) claim(i, owner, 'bytecode');
  });

  // 5. The nearest folder with a single owner. Shared folders are marked ambiguous so that their
  // unsplit files do not fall to whichever distribution happens to own a sibling.
  const folderOwner = new Map<string, number | null>();
  paths.forEach((p, i) => {
    const owner = entries[i]!.owner;
    if (owner === null) return;
    for (const folder of enclosingFolders(p, split[i]!.root)) {
      const seen = folderOwner.get(folder);
      folderOwner.set(folder, seen === undefined || seen === owner ? owner : null);
    }
  });
  for (const folder of shared) folderOwner.set(folder.path, null);
  paths.forEach((p, i) => {
    if (entries[i]!.owner !== null || followsSource.has(i)) return;
    for (const folder of enclosingFolders(p, split[i]!.root)) {
      if (!folderOwner.has(folder)) continue;
      const owner = folderOwner.get(folder)!;
      if (owner !== null) claim(i, owner, 'folder');
      break;
    }
  });

  return { entries, sharedFolders: shared };
}

/**
 * Where a RECORD path can be in the zip. RECORD paths are relative to site-packages; pip's
 * --target install writes console scripts as "../../bin/x" relative to a lib/python folder it then
 * flattens into the target, so for a shallow root "../../bin/x" means "<root>bin/x". In a
 * site-packages root the plain join already lands there ("python/bin/x").
 */
function recordCandidates(meta: MetadataFolder, recorded: string): string[] {
  if (meta.recordRelativeToFolder) return keep([joinInside(`${meta.root}${meta.folder}/`, recorded)]);
  const plain = joinInside(meta.root, recorded);
  const viaTarget = joinInside(`${meta.root}lib/python/`, recorded);
  const flattened = viaTarget?.startsWith(`${meta.root}lib/python/`) ? undefined : viaTarget;
  return keep([plain, flattened]);
}

const keep = (paths: (string | undefined)[]) => paths.filter((p): p is string => p !== undefined);

/** Joins inside the zip; undefined when the result would leave it. */
function joinInside(base: string, relative: string): string | undefined {
  const joined = path.posix.normalize(`${base}${relative}`);
  return joined === '..' || joined.startsWith('../') || joined.startsWith('/') ? undefined : joined;
}

interface SplitPath {
  root: string;
  /** The first segment under the root. */
  top: string;
  /** Whether `top` is a folder (the path goes on past it). */
  topIsFolder: boolean;
}

function splitPath(entryPath: string): SplitPath {
  const root = packageRootOf(entryPath);
  const rest = entryPath.slice(root.length);
  const slash = rest.indexOf('/');
  return { root, top: slash < 0 ? rest : rest.slice(0, slash), topIsFolder: slash >= 0 };
}

/** The folders (with trailing slash) that enclose a path, nearest first, down to the root's top level; a folder entry encloses itself. */
function enclosingFolders(entryPath: string, root: string): string[] {
  const folders: string[] = [];
  let end = entryPath.endsWith('/') ? entryPath.length - 1 : entryPath.lastIndexOf('/');
  while (end > root.length) {
    folders.push(entryPath.slice(0, end + 1));
    end = entryPath.lastIndexOf('/', end - 1);
  }
  return folders;
}

/**
 * The importable name a top-level entry provides, loosely: unlike importableName it accepts
 * names that start with a digit, such as mypyc's "81d243bd2c585b0f4821__mypyc.cpython-311-…so",
 * which top_level.txt lists.
 */
export function topLevelName(segment: string, isFolder: boolean): string | undefined {
  if (isFolder) return segment;
  return /^([^.]+)(?:\.[^/]*)?\.(?:py|pyc|pyi|so|pyd)$/.exec(segment)?.[1];
}

type Claim = (i: number, owner: number, reason: AttributionReason) => void;

function claimTopLevel(
  paths: readonly string[],
  split: readonly SplitPath[],
  folders: readonly MetadataFolder[],
  entries: readonly Attribution[],
  claim: Claim,
): SharedFolder[] {
  const candidates = folders.map((meta, d) => ({ meta, d })).filter(({ meta }) => meta.record === null);
  if (candidates.length === 0) return [];
  const claimants = new Map<string, { d: number; reason: AttributionReason }[]>();
  const claimantsOf = (s: SplitPath) => {
    const key = `${s.root}\0${s.top}\0${s.topIsFolder}`;
    let found = claimants.get(key);
    if (!found) {
      found = [];
      for (const { meta, d } of candidates) {
        if (meta.root !== s.root) continue;
        const reason = topLevelReason(meta, s.top, s.topIsFolder);
        if (reason) found.push({ d, reason });
      }
      claimants.set(key, found);
    }
    return found;
  };

  const shared = new Map<string, Set<number>>();
  paths.forEach((p, i) => {
    if (entries[i]!.owner !== null) return;
    const s = split[i]!;
    const found = claimantsOf(s);
    if (found.length === 1) {
      claim(i, found[0]!.d, found[0]!.reason);
    } else if (found.length > 1) {
      const owner = splitNamespace(p.slice(s.root.length), s.top, found.map(({ d }) => ({ d, key: folders[d]!.key })));
      if (owner !== undefined) claim(i, owner, 'name');
      else if (s.topIsFolder) {
        const folder = `${s.root}${s.top}/`;
        const owners = shared.get(folder) ?? new Set<number>();
        for (const { d } of found) owners.add(d);
        shared.set(folder, owners);
      }
    }
  });
  return [...shared].map(([folder, owners]) => ({ path: folder, owners: [...owners].sort((a, b) => a - b) }));
}

function topLevelReason(meta: MetadataFolder, top: string, isFolder: boolean): AttributionReason | undefined {
  const name = topLevelName(top, isFolder);
  if (name !== undefined && meta.topLevel?.includes(name)) return 'top-level';
  if (name !== undefined && normalizeDistName(name) === meta.key) return 'name';
  // auditwheel puts a wheel's vendored shared libraries in "<name>.libs" (numpy.libs, pillow.libs).
  const libs = isFolder ? /^(.+)\.libs$/.exec(top)?.[1] : undefined;
  if (libs !== undefined && (normalizeDistName(libs) === meta.key || meta.topLevel?.includes(libs))) return 'name';
  return undefined;
}

/**
 * Splits a namespace folder shared by several distributions (google/ for protobuf and
 * googleapis-common-protos, azure/ for many) by the sub-path each name suggests:
 * protobuf → google/protobuf, google-cloud-storage → google/cloud/storage.
 * Returns the one distribution that matches, or undefined.
 */
function splitNamespace(rest: string, top: string, claimants: readonly { d: number; key: string }[]): number | undefined {
  const matches = claimants.filter(({ key }) => {
    const prefixes = [`${top}/${key.replace(/-/g, '_')}`, key.replace(/-/g, '/')];
    return prefixes.some((prefix) => prefix.startsWith(`${top}/`) && (rest.startsWith(`${prefix}/`) || rest.startsWith(`${prefix}.`)));
  });
  return matches.length === 1 ? matches[0]!.d : undefined;
}
