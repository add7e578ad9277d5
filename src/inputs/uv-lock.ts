/**
 * uv.lock (version 1): the locked graph of a uv project. pyslim walks it from the root project
 * along runtime edges whose markers hold for the Lambda target, so a lock made on a Mac with a
 * Windows-only or dev-only dependency installs exactly what the function needs on Lambda.
 */
import path from 'node:path';
import { PyslimError } from '../errors.js';
import { normalizeDistName } from '../python-names.js';
import { arrayAt, requiredString, stringAt, tableAt, type TomlTable } from './files.js';
import { LockedSet, gitRequirementUrl, isPypi, lockHash, withMarkerContext } from './locked.js';
import { evaluateMarker, type MarkerEnv } from './markers.js';
import { parseSpecifierSet } from './pep440.js';
import { anySatisfied, dependencyApplies, formatAlternatives, unknownGroup, type PyprojectInfo } from './pyproject.js';
import { pushUnique, type ResolvedInput } from './types.js';

export interface UvLockOptions {
  /** Absolute path of uv.lock. */
  file: string;
  /** Its name in messages. */
  shown: string;
  /** Extras or dependency groups of the root project to add. */
  groups?: readonly string[];
  markerEnv: MarkerEnv;
  /** The sibling pyproject.toml, when there is one: names the root and catches a stale lock. */
  pyproject?: PyprojectInfo;
  /** Every file read so far (the lock, the pyproject), for ResolvedInput.files. */
  files: string[];
}

type UvSourceKind = 'registry' | 'editable' | 'directory' | 'virtual' | 'path' | 'git' | 'url';
const SOURCE_KINDS: readonly UvSourceKind[] = ['registry', 'editable', 'directory', 'virtual', 'path', 'git', 'url'];

interface UvEdge {
  name: string;
  version?: string;
  /** The edge's `source` as a comparable key, when the lock disambiguates by source. */
  sourceKey?: string;
  marker?: string;
  extras: string[];
}

interface UvPackage {
  name: string;
  version?: string;
  kind: UvSourceKind;
  /** The source value: an index URL, a path relative to the lock, a git or archive URL. */
  location: string;
  sourceKey: string;
  subdirectory?: string;
  dependencies: UvEdge[];
  optional: Map<string, UvEdge[]>;
  dev: Map<string, UvEdge[]>;
  /** Extras and groups the project declares (from [package.metadata]), edges or not. */
  declaredExtras: string[];
  declaredGroups: string[];
  hashes: string[];
  /** How messages name the package: 'uv.lock: package "x"'. */
  where: string;
}

/** Resolves uv.lock to pinned requirements with hashes. */
export function resolveUvLock(doc: TomlTable, options: UvLockOptions): ResolvedInput {
  const { shown, markerEnv } = options;
  const lockDir = path.dirname(options.file);
  const version = doc.version;
  if (version !== 1) {
    throw new PyslimError('UNSUPPORTED_INPUT', `${shown}: lockfile version ${JSON.stringify(version)} is not supported`, {
      hint: 'pyslim reads uv.lock version 1; regenerate it with a uv release that writes version 1, or export requirements with "uv export"',
    });
  }
  checkRequiresPython(stringAt(doc['requires-python'], `${shown} requires-python`), markerEnv, shown);

  const packages = arrayAt(doc.package, `${shown} [[package]]`).map((raw, i) => readPackage(raw, i, shown));
  const byName = new Map<string, UvPackage[]>();
  for (const pkg of packages) byName.set(pkg.name, [...(byName.get(pkg.name) ?? []), pkg]);

  const root = findRoot(packages, options);
  const requested = options.groups ?? [];
  const rootEdges = [...root.dependencies];
  for (const want of requested) {
    const key = normalizeDistName(want);
    const extra = [...root.optional.entries()].find(([name]) => normalizeDistName(name) === key);
    const group = [...root.dev.entries()].find(([name]) => normalizeDistName(name) === key);
    const declared = [...root.declaredExtras, ...root.declaredGroups].some((name) => normalizeDistName(name) === key);
    if (!extra && !group && !declared) {
      const inPyproject = options.pyproject?.groups.some((g) => normalizeDistName(g.name) === key);
      if (inPyproject) {
        throw new PyslimError('INVALID_INPUT', `${shown} is out of date: pyproject.toml declares "${want}" but the lock does not`, { hint: 'Run "uv lock"' });
      }
      const available = [
        ...new Set([...root.optional.keys(), ...root.declaredExtras].map((n) => `${n} (extra)`)),
        ...new Set([...root.dev.keys(), ...root.declaredGroups].map((n) => `${n} (group)`)),
      ];
      throw unknownGroup(want, shown, available);
    }
    if (extra) rootEdges.push(...extra[1]);
    if (group) rootEdges.push(...group[1]);
  }
  if (options.pyproject) checkFreshness(options.pyproject, root, byName, markerEnv, shown);

  const set = new LockedSet();
  // Breadth-first from the root; a package is revisited only for extras not yet followed.
  const followed = new Map<UvPackage, Set<string>>();
  const queue: { pkg: UvPackage; extras: string[]; edges?: UvEdge[] }[] = [{ pkg: root, extras: [], edges: rootEdges }];
  while (queue.length) {
    const { pkg, extras, edges: forced } = queue.shift()!;
    const seen = followed.get(pkg);
    const edges: UvEdge[] = [];
    if (!seen) {
      followed.set(pkg, new Set());
      edges.push(...(forced ?? pkg.dependencies));
      emit(pkg, pkg === root, set, lockDir, shown);
    }
    const done = followed.get(pkg)!;
    for (const extra of extras) {
      const key = normalizeDistName(extra);
      if (done.has(key)) continue;
      done.add(key);
      const list = [...pkg.optional.entries()].find(([name]) => normalizeDistName(name) === key)?.[1];
      // An extra with no dependencies is not written to the lock; uv itself accepts it.
      if (list) edges.push(...list);
    }
    for (const edge of edges) {
      const where = `${shown}: package "${pkg.name}" dependency "${edge.name}"`;
      if (!withMarkerContext(where, () => evaluateMarker(edge.marker, markerEnv))) continue;
      queue.push({ pkg: target(edge, byName, where), extras: edge.extras });
    }
  }
  return set.toResolved('uv.lock', options.files);
}

function readEdges(value: unknown, where: string): UvEdge[] {
  return arrayAt(value, where).map((raw, i) => {
    const at = `${where}[${i}]`;
    const edge = tableAt(raw, at);
    const extra = edge.extra;
    return {
      name: normalizeDistName(requiredString(edge.name, `${at}.name`)),
      version: stringAt(edge.version, `${at}.version`),
      sourceKey: edge.source === undefined ? undefined : sourceKey(tableAt(edge.source, `${at}.source`)),
      marker: stringAt(edge.marker, `${at}.marker`),
      // uv writes `extra = ["socks"]`; accept a lone string as well.
      extras: typeof extra === 'string' ? [extra] : arrayAt(extra, `${at}.extra`).map(String),
    };
  });
}

function readGroups(value: unknown, where: string): Map<string, UvEdge[]> {
  return new Map(Object.entries(tableAt(value, where)).map(([name, edges]) => [name, readEdges(edges, `${where}.${name}`)]));
}

function sourceKey(source: TomlTable): string {
  return JSON.stringify(Object.keys(source).sort().map((k) => [k, source[k]]));
}

function readPackage(raw: unknown, index: number, shown: string): UvPackage {
  const table = tableAt(raw, `${shown} [[package]] #${index + 1}`);
  const name = normalizeDistName(requiredString(table.name, `${shown} [[package]] #${index + 1} name`));
  const where = `${shown}: package "${name}"`;
  const source = tableAt(table.source, `${where} source`);
  const kind = SOURCE_KINDS.find((k) => k in source);
  if (!kind) {
    throw new PyslimError('UNSUPPORTED_INPUT', `${where} has an unknown source ${JSON.stringify(Object.keys(source))}`, {
      hint: `pyslim knows ${SOURCE_KINDS.join(', ')} sources; regenerate the lock or export requirements with "uv export"`,
    });
  }
  const hashes: string[] = [];
  const sdist = table.sdist === undefined ? undefined : tableAt(table.sdist, `${where} sdist`);
  const wheels = arrayAt(table.wheels, `${where} wheels`).map((w, i) => tableAt(w, `${where} wheels[${i}]`));
  for (const [i, file] of [...(sdist ? [sdist] : []), ...wheels].entries()) {
    const hash = lockHash(file.hash, `${where} file ${i + 1}`);
    if (hash) pushUnique(hashes, hash);
  }
  const metadata = tableAt(table.metadata, `${where} metadata`);
  return {
    name,
    version: stringAt(table.version, `${where} version`),
    kind,
    location: requiredString(source[kind], `${where} source.${kind}`),
    sourceKey: sourceKey(source),
    subdirectory: stringAt(source.subdirectory, `${where} source.subdirectory`),
    dependencies: readEdges(table.dependencies, `${where} dependencies`),
    optional: readGroups(table['optional-dependencies'], `${where} optional-dependencies`),
    dev: readGroups(table['dev-dependencies'], `${where} dev-dependencies`),
    declaredExtras: arrayAt(metadata['provides-extras'], `${where} metadata.provides-extras`).map(String),
    declaredGroups: Object.keys(tableAt(metadata['requires-dev'], `${where} metadata.requires-dev`)),
    hashes,
    where,
  };
}

/** The project the lock is for: the package whose source is the lock's own folder. */
function findRoot(packages: UvPackage[], options: UvLockOptions): UvPackage {
  const local = packages.filter((p) => (p.kind === 'editable' || p.kind === 'virtual') && path.normalize(p.location) === '.');
  const named = options.pyproject?.name;
  const root = (named ? local.find((p) => p.name === named) : undefined) ?? (local.length === 1 ? local[0] : undefined);
  if (!root) {
    throw new PyslimError('UNSUPPORTED_INPUT', `${options.shown}: no root project (a package with source editable = "." or virtual = ".")`, {
      hint: 'Point pyslim at the uv.lock in the project (or workspace) root folder',
    });
  }
  return root;
}

function target(edge: UvEdge, byName: Map<string, UvPackage[]>, where: string): UvPackage {
  const candidates = (byName.get(edge.name) ?? []).filter(
    (p) => (edge.version === undefined || p.version === edge.version) && (edge.sourceKey === undefined || p.sourceKey === edge.sourceKey),
  );
  if (candidates.length !== 1) {
    throw new PyslimError('INVALID_INPUT', `${where}: ${candidates.length ? 'matches several' : 'matches no'} locked package${edge.version ? ` (version ${edge.version})` : ''}`, {
      hint: 'The lock is inconsistent; regenerate it with "uv lock"',
    });
  }
  return candidates[0]!;
}

function emit(pkg: UvPackage, isRoot: boolean, set: LockedSet, lockDir: string, shown: string): void {
  if (isRoot || pkg.kind === 'virtual') return; // the function's own code, or a package that only groups dependencies
  const line = `${shown}: package "${pkg.name}"`;
  switch (pkg.kind) {
    case 'registry':
      if (!pkg.version) throw new PyslimError('INVALID_INPUT', `${pkg.where} has no version`, { hint: 'Regenerate the lock with "uv lock"' });
      set.addRequirement({ name: pkg.name, version: pkg.version, hashes: pkg.hashes }, pkg.where);
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(pkg.location)) {
        if (!isPypi(pkg.location)) pushUnique(set.pipOptions.extraIndexUrls, pkg.location);
      } else {
        // A registry on disk is a flat folder of archives: pip's --find-links.
        pushUnique(set.pipOptions.findLinks, path.resolve(lockDir, pkg.location));
      }
      return;
    case 'url':
      set.addRequirement({ name: pkg.name, version: pkg.version ?? '', url: pkg.location, hashes: pkg.hashes }, pkg.where);
      return;
    case 'git': {
      const commit = /#([0-9a-f]{7,40})$/i.exec(pkg.location)?.[1];
      set.addVcs({ name: pkg.name, url: gitRequirementUrl(pkg.location, commit, pkg.subdirectory), line });
      return;
    }
    case 'editable':
    case 'directory':
    case 'path':
      set.addLocalPath({ name: pkg.name, path: path.resolve(lockDir, pkg.location), editable: pkg.kind === 'editable', line });
      return;
  }
}

function checkRequiresPython(requiresPython: string | undefined, env: MarkerEnv, shown: string): void {
  if (requiresPython === undefined) return;
  const specifiers = parseSpecifierSet(requiresPython);
  const python = env.python_full_version;
  if (!specifiers || typeof python !== 'string') return;
  if (!anySatisfied(python, [specifiers])) {
    throw new PyslimError('UNSUPPORTED_INPUT', `${shown}: the project requires Python ${requiresPython}, the target runtime has ${python}`, {
      hint: 'Choose a runtime the project supports, or change requires-python and run "uv lock"',
    });
  }
}

/** A dependency in pyproject.toml that the lock's root does not have means the lock is stale. */
function checkFreshness(pyproject: PyprojectInfo, root: UvPackage, byName: Map<string, UvPackage[]>, env: MarkerEnv, shown: string): void {
  if (pyproject.style !== 'pep621' || (pyproject.name && pyproject.name !== root.name)) return;
  for (const dep of pyproject.main) {
    if (!dependencyApplies(dep, env)) continue;
    const name = normalizeDistName(dep.name);
    const edge = root.dependencies.find((e) => e.name === name);
    const locked = edge ? byName.get(name)?.find((p) => edge.version === undefined || p.version === edge.version) : undefined;
    const versionOk = !locked?.version || dep.url || dep.path || dep.vcs || anySatisfied(locked.version, dep.versions);
    if (!edge || !versionOk) {
      throw new PyslimError('INVALID_INPUT', `${shown} is out of date: ${dep.where} wants ${dep.name}${edge ? ` ${formatAlternatives(dep.versions)}, the lock has ${locked!.version}` : ', which the lock lacks'}`, {
        hint: 'Run "uv lock"',
      });
    }
  }
}
