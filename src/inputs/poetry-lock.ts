/**
 * poetry.lock (lock-version 1.x and 2.x). The lock lists packages but not which of them the
 * project asked for, so the walk starts from pyproject.toml's dependencies (plus the requested
 * groups and extras) and follows each package's dependencies whose markers hold for the target.
 * Dev groups are therefore left out unless named, whatever the lock version says about groups.
 */
import path from 'node:path';
import { PyslimError } from '../errors.js';
import { normalizeDistName, requirementName } from '../python-names.js';
import { arrayAt, isTable, requiredString, stringAt, tableAt, type TomlTable } from './files.js';
import { LockedSet, gitRequirementUrl, isPypi, lockHash, withMarkerContext } from './locked.js';
import { markerHoldsForExtras, type MarkerEnv } from './markers.js';
import { formatVersion, parseVersion, type Specifier } from './pep440.js';
import { parseRequirement } from './pep508.js';
import { anySatisfied, dependencyApplies, formatAlternatives, parsePoetryConstraint, poetryDependency, selectDependencies, type DeclaredDependency, type PyprojectInfo } from './pyproject.js';
import { pushUnique, type ResolvedInput } from './types.js';

export interface PoetryLockOptions {
  file: string;
  shown: string;
  /** Poetry groups, extras or PEP 735 groups to add, by name. */
  groups?: readonly string[];
  markerEnv: MarkerEnv;
  /** The sibling pyproject.toml: it names the roots of the walk. */
  pyproject: PyprojectInfo;
  files: string[];
}

interface PoetrySource {
  type: string;
  url?: string;
  reference?: string;
  resolvedReference?: string;
  subdirectory?: string;
}

interface PoetryPackage {
  name: string;
  version: string;
  pythonVersions?: Specifier[][];
  /** Lock 2.1: when the package is needed at all; per group when a table. */
  markers?: string | Record<string, string>;
  dependencies: DeclaredDependency[];
  /** Extra name (normalized) → names of the optional dependencies it turns on. */
  extras: Map<string, string[]>;
  hashes: string[];
  source?: PoetrySource;
  develop: boolean;
  where: string;
}

const RELOCK = 'Run "poetry lock" to update poetry.lock';

/** Resolves poetry.lock to pinned requirements with hashes. */
export function resolvePoetryLock(doc: TomlTable, options: PoetryLockOptions): ResolvedInput {
  const { shown, markerEnv, pyproject } = options;
  const projectDir = path.dirname(pyproject.file);
  const metadata = tableAt(doc.metadata, `${shown} [metadata]`);
  const lockVersion = stringAt(metadata['lock-version'], `${shown} [metadata].lock-version`) ?? '';
  const major = Number(lockVersion.split('.')[0]);
  if (!(major === 1 || major === 2)) {
    throw new PyslimError('UNSUPPORTED_INPUT', `${shown}: lock-version "${lockVersion}" is not supported`, {
      hint: 'pyslim reads poetry.lock versions 1.x and 2.x; regenerate it or export requirements with "poetry export"',
    });
  }
  const lockPython = stringAt(metadata['python-versions'], `${shown} [metadata].python-versions`);
  const python = markerEnv.python_full_version;
  if (lockPython !== undefined && typeof python === 'string' && !anySatisfied(python, parsePoetryConstraint(lockPython, `${shown} [metadata].python-versions`))) {
    throw new PyslimError('UNSUPPORTED_INPUT', `${shown}: the project supports Python ${lockPython}, the target runtime has ${python}`, {
      hint: 'Choose a runtime the project supports, or widen the python constraint and run "poetry lock"',
    });
  }

  // Lock 1.x keeps the file hashes under [metadata.files], keyed by package name.
  const legacyFiles = tableAt(metadata.files, `${shown} [metadata.files]`);
  const packages = arrayAt(doc.package, `${shown} [[package]]`).map((raw, i) => readPackage(raw, i, shown, projectDir, legacyFiles));
  const byName = new Map<string, PoetryPackage[]>();
  for (const pkg of packages) byName.set(pkg.name, [...(byName.get(pkg.name) ?? []), pkg]);

  const set = new LockedSet();
  // Per package, the extras already followed: a package is revisited only to follow new extras.
  const followed = new Map<PoetryPackage, Set<string>>();
  const queue: { dep: DeclaredDependency; from: string }[] = selectDependencies(pyproject, options.groups)
    .filter((dep) => dependencyApplies(dep, markerEnv))
    .map((dep) => ({ dep, from: dep.where }));

  while (queue.length) {
    const { dep, from } = queue.shift()!;
    const pkg = findPackage(dep, byName, markerEnv, options, from);
    let extras = followed.get(pkg);
    const firstVisit = !extras;
    if (!extras) {
      extras = new Set();
      followed.set(pkg, extras);
      emit(pkg, set, shown, projectDir);
    }
    const added = dep.extras.map(normalizeDistName).filter((e) => !extras!.has(e));
    added.forEach((e) => extras!.add(e));
    if (!firstVisit && !added.length) continue;

    // Optional dependencies count only when an active extra of this package lists them.
    const enabled = new Set([...extras].flatMap((e) => pkg.extras.get(e) ?? []));
    for (const child of pkg.dependencies) {
      if (child.optional && !enabled.has(normalizeDistName(child.name))) continue;
      const where = `${pkg.where} dependency "${child.name}"`;
      if (withMarkerContext(where, () => dependencyApplies(child, markerEnv, [...extras!]))) queue.push({ dep: child, from: where });
    }
  }
  return set.toResolved('poetry.lock', options.files);
}

function readPackage(raw: unknown, index: number, shown: string, projectDir: string, legacyFiles: TomlTable): PoetryPackage {
  const table = tableAt(raw, `${shown} [[package]] #${index + 1}`);
  const name = normalizeDistName(requiredString(table.name, `${shown} [[package]] #${index + 1} name`));
  const where = `${shown}: package "${name}"`;
  const version = requiredString(table.version, `${where} version`);

  const pythonText = stringAt(table['python-versions'], `${where} python-versions`);
  const markersValue = table.markers;
  let markers: PoetryPackage['markers'];
  if (typeof markersValue === 'string') markers = markersValue;
  else if (isTable(markersValue)) markers = Object.fromEntries(Object.entries(markersValue).map(([group, m]) => [group, String(m)]));

  const dependencies: DeclaredDependency[] = [];
  for (const [depName, value] of Object.entries(tableAt(table.dependencies, `${where} dependencies`))) {
    for (const variant of Array.isArray(value) ? value : [value]) dependencies.push(poetryDependency(depName, variant, `${where} dependencies`, projectDir));
  }

  const extras = new Map<string, string[]>();
  for (const [extra, list] of Object.entries(tableAt(table.extras, `${where} extras`))) {
    const names = arrayAt(list, `${where} extras.${extra}`).map((entry) => {
      const text = String(entry);
      // Entries read "PySocks (>=1.5.6,!=1.5.7)" or PEP 508; only the name matters here.
      try {
        return normalizeDistName(parseRequirement(text).name);
      } catch {
        return normalizeDistName(requirementName(text) ?? text);
      }
    });
    extras.set(normalizeDistName(extra), names);
  }

  const files = table.files !== undefined ? table.files : legacyFiles[name] ?? legacyFiles[requiredString(table.name, `${where} name`)];
  const hashes: string[] = [];
  for (const [i, file] of arrayAt(files, `${where} files`).entries()) {
    const hash = lockHash(tableAt(file, `${where} files[${i}]`).hash, `${where} files[${i}]`);
    if (hash) pushUnique(hashes, hash);
  }

  let source: PoetrySource | undefined;
  if (table.source !== undefined) {
    const s = tableAt(table.source, `${where} source`);
    source = {
      type: requiredString(s.type, `${where} source.type`),
      url: stringAt(s.url, `${where} source.url`),
      reference: stringAt(s.reference, `${where} source.reference`),
      resolvedReference: stringAt(s.resolved_reference, `${where} source.resolved_reference`),
      subdirectory: stringAt(s.subdirectory, `${where} source.subdirectory`),
    };
  }

  return {
    name,
    version,
    pythonVersions: pythonText === undefined ? undefined : parsePoetryConstraint(pythonText, `${where} python-versions`),
    markers,
    dependencies,
    extras,
    hashes,
    source,
    develop: table.develop === true,
    where,
  };
}

/** The locked entry a declared dependency resolves to; several entries of one name differ by python or markers. */
function findPackage(dep: DeclaredDependency, byName: Map<string, PoetryPackage[]>, env: MarkerEnv, options: PoetryLockOptions, from: string): PoetryPackage {
  const name = normalizeDistName(dep.name);
  const all = byName.get(name) ?? [];
  const python = typeof env.python_full_version === 'string' ? env.python_full_version : undefined;
  const versionOk = (p: PoetryPackage) => Boolean(dep.url || dep.path || dep.vcs || p.source?.type === 'directory' || p.source?.type === 'git') || anySatisfied(p.version, dep.versions);
  const candidates = all.filter(versionOk);
  const fitting = candidates.filter(
    (p) =>
      (!p.pythonVersions || !python || anySatisfied(python, p.pythonVersions)) &&
      // Lock 2.1 package markers may name the project's own extras (`extra == "compat"`).
      withMarkerContext(`${p.where} markers`, () =>
        (typeof p.markers === 'string' ? [p.markers] : Object.values(p.markers ?? { main: '' })).some((m) => markerHoldsForExtras(m, env, options.groups ?? [])),
      ),
  );
  const chosen = fitting[0] ?? (candidates.length === 1 ? candidates[0] : undefined);
  if (!chosen) {
    const wanted = formatAlternatives(dep.versions);
    const locked = all.map((p) => p.version).join(', ');
    throw new PyslimError('INVALID_INPUT', `${options.shown} is out of date: ${from} wants ${dep.name} ${wanted}, ${locked ? `the lock has ${locked}` : 'which the lock lacks'}`, {
      hint: RELOCK,
    });
  }
  return chosen;
}

function emit(pkg: PoetryPackage, set: LockedSet, shown: string, projectDir: string): void {
  const line = `${shown}: package "${pkg.name}"`;
  const source = pkg.source;
  switch (source?.type) {
    case undefined:
    case 'legacy':
    case 'pypi':
      set.addRequirement({ name: pkg.name, version: normalizedVersion(pkg.version), hashes: pkg.hashes }, pkg.where);
      if (source?.url && !isPypi(source.url)) pushUnique(set.pipOptions.extraIndexUrls, source.url);
      return;
    case 'url':
      set.addRequirement({ name: pkg.name, version: normalizedVersion(pkg.version), url: requiredString(source.url, `${pkg.where} source.url`), hashes: pkg.hashes }, pkg.where);
      return;
    case 'git':
      set.addVcs({
        name: pkg.name,
        url: gitRequirementUrl(requiredString(source.url, `${pkg.where} source.url`), source.resolvedReference ?? source.reference, source.subdirectory),
        line,
      });
      return;
    case 'directory':
    case 'file':
      // Paths in the lock are relative to the project folder.
      set.addLocalPath({ name: pkg.name, path: path.resolve(projectDir, requiredString(source.url, `${pkg.where} source.url`)), editable: pkg.develop, line });
      return;
    default:
      throw new PyslimError('UNSUPPORTED_INPUT', `${pkg.where} has an unknown source type "${source?.type}"`, {
        hint: 'Export requirements with "poetry export" and build from requirements.txt',
      });
  }
}

function normalizedVersion(version: string): string {
  const parsed = parseVersion(version);
  return parsed ? formatVersion(parsed) : version;
}
