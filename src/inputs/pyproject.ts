/**
 * pyproject.toml: PEP 621 `[project]` dependencies and optional dependencies, PEP 735
 * `[dependency-groups]`, and Poetry's `[tool.poetry.*]` tables for projects without a static
 * `[project].dependencies`. Used alone (an unlocked install) and as the roots of poetry.lock.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PyslimError } from '../errors.js';
import { normalizeDistName } from '../python-names.js';
import { arrayAt, isTable, readToml, stringAt, tableAt, type TomlTable } from './files.js';
import { MarkerError, evaluateMarker, type MarkerEnv } from './markers.js';
import { parseSpecifier, parseVersion, pinnedVersion, satisfies, type Specifier } from './pep440.js';
import { RequirementError, formatRequirement, parseRequirement } from './pep508.js';
import { emptyPipOptions, pushUnique, type PipIndexOptions, type ResolvedInput } from './types.js';

/** One dependency as a project declares it, whatever the table it came from. */
export interface DeclaredDependency {
  /** As written; normalize with normalizeDistName to compare. */
  name: string;
  extras: string[];
  /** Alternatives, any of which may hold (Poetry's "||"); [[]] means any version. */
  versions: Specifier[][];
  /** PEP 508 marker, when declared. */
  marker?: string;
  /** Poetry's `python = "…"`: the Python versions the dependency applies to. */
  python?: Specifier[][];
  /** A direct URL (`name @ https://…`, Poetry `url`). */
  url?: string;
  /** A VCS URL in pip's spelling (git+https://…@rev). */
  vcs?: string;
  /** A local folder or archive (absolute). */
  path?: string;
  editable?: boolean;
  /** Poetry `optional = true`: installed only through an extra of [tool.poetry.extras]. */
  optional?: boolean;
  /** Where it is declared, for messages: 'pyproject.toml [project].dependencies'. */
  where: string;
}

/** A named set of dependencies a user can ask for with `groups`. */
export interface DependencyGroup {
  /** Name as declared. */
  name: string;
  kind: 'extra' | 'group';
  dependencies: DeclaredDependency[];
}

export interface PyprojectInfo {
  file: string;
  /** The file name shown in messages. */
  shown: string;
  /** Normalized [project].name or [tool.poetry].name. */
  name?: string;
  /** `requires-python` (or Poetry's `python` dependency): the Python versions the project supports. */
  requiresPython?: Specifier[][];
  /** Which table the runtime dependencies came from. */
  style: 'pep621' | 'poetry' | 'none';
  main: DeclaredDependency[];
  groups: DependencyGroup[];
  pipOptions: PipIndexOptions;
}

/** Reads pyproject.toml into its declared dependencies. */
export async function readPyproject(file: string, shown: string): Promise<PyprojectInfo> {
  const doc = await readToml(file, shown, 'Check the path of pyproject.toml');
  return pyprojectInfo(doc, file, shown);
}

export function pyprojectInfo(doc: TomlTable, file: string, shown: string): PyprojectInfo {
  const base = path.dirname(file);
  const project = isTable(doc.project) ? doc.project : undefined;
  const tool = tableAt(doc.tool, `${shown} [tool]`);
  const poetry = isTable(tool.poetry) ? tool.poetry : undefined;
  const dynamic = arrayAt(project?.dynamic, `${shown} [project].dynamic`);
  const poetryDeps = tableAt(poetry?.dependencies, `${shown} [tool.poetry.dependencies]`);
  const hasPoetryDeps = Object.keys(poetryDeps).some((k) => k.toLowerCase() !== 'python');

  let style: PyprojectInfo['style'] = 'none';
  let main: DeclaredDependency[] = [];
  const groups: DependencyGroup[] = [];

  // PEP 621 first; Poetry's own table when [project] leaves dependencies out or dynamic.
  const pep621Static = project !== undefined && !dynamic.includes('dependencies') && (project.dependencies !== undefined || !hasPoetryDeps);
  if (pep621Static) {
    style = 'pep621';
    main = pep508List(project!.dependencies, `${shown} [project].dependencies`, base);
  } else if (hasPoetryDeps) {
    style = 'poetry';
    main = poetryTable(poetryDeps, `${shown} [tool.poetry.dependencies]`, base);
  } else if (dynamic.includes('dependencies')) {
    throw new PyslimError('UNSUPPORTED_INPUT', `${shown}: [project].dependencies is dynamic (the build backend computes it)`, {
      hint: 'Declare the dependencies statically, or give pyslim a requirements.txt or lockfile',
    });
  }

  const optional = tableAt(project?.['optional-dependencies'], `${shown} [project.optional-dependencies]`);
  for (const [name, list] of Object.entries(optional)) {
    groups.push({ name, kind: 'extra', dependencies: pep508List(list, `${shown} [project.optional-dependencies].${name}`, base) });
  }
  groups.push(...dependencyGroups(tableAt(doc['dependency-groups'], `${shown} [dependency-groups]`), shown, base));

  if (poetry) {
    // Poetry extras name optional entries of [tool.poetry.dependencies].
    const extras = tableAt(poetry.extras, `${shown} [tool.poetry.extras]`);
    for (const [name, list] of Object.entries(extras)) {
      const names = arrayAt(list, `${shown} [tool.poetry.extras].${name}`).map((n) => normalizeDistName(String(n)));
      groups.push({ name, kind: 'extra', dependencies: main.filter((d) => d.optional && names.includes(normalizeDistName(d.name))) });
    }
    const legacyDev = tableAt(poetry['dev-dependencies'], `${shown} [tool.poetry.dev-dependencies]`);
    if (Object.keys(legacyDev).length) groups.push({ name: 'dev', kind: 'group', dependencies: poetryTable(legacyDev, `${shown} [tool.poetry.dev-dependencies]`, base) });
    for (const [name, group] of Object.entries(tableAt(poetry.group, `${shown} [tool.poetry.group]`))) {
      const where = `${shown} [tool.poetry.group.${name}.dependencies]`;
      groups.push({ name, kind: 'group', dependencies: poetryTable(tableAt(tableAt(group, where).dependencies, where), where, base) });
    }
  }

  const requiresPythonText = stringAt(project?.['requires-python'], `${shown} [project].requires-python`);
  const poetryPython = poetryDeps.python;
  const requiresPython =
    requiresPythonText !== undefined
      ? [specifiersOrThrow(requiresPythonText, `${shown} [project].requires-python`)]
      : typeof poetryPython === 'string'
        ? parsePoetryConstraint(poetryPython, `${shown} [tool.poetry.dependencies].python`)
        : undefined;
  const name = stringAt(project?.name, `${shown} [project].name`) ?? stringAt(poetry?.name, `${shown} [tool.poetry].name`);
  return {
    file,
    shown,
    name: name === undefined ? undefined : normalizeDistName(name),
    requiresPython,
    style,
    main: main.filter((d) => !d.optional),
    groups,
    pipOptions: indexOptions(tool, shown),
  };
}

/**
 * The runtime dependencies plus the requested groups. A name may match an extra, a PEP 735
 * group and a Poetry group at once; all of them are added. An unknown name is an error that
 * lists the known ones.
 */
export function selectDependencies(info: PyprojectInfo, requested: readonly string[] = []): DeclaredDependency[] {
  const selected = [...info.main];
  for (const want of requested) {
    const matches = info.groups.filter((g) => normalizeDistName(g.name) === normalizeDistName(want));
    if (!matches.length) throw unknownGroup(want, info.shown, info.groups.map((g) => `${g.name} (${g.kind})`));
    for (const group of matches) selected.push(...group.dependencies);
  }
  return expandSelfReferences(selected, info);
}

export function unknownGroup(name: string, shown: string, available: string[]): PyslimError {
  return new PyslimError('INVALID_OPTION', `unknown dependency group "${name}" in ${shown}`, {
    hint: available.length ? `Use one of ${available.join(', ')}` : `${shown} declares no optional dependencies or groups`,
  });
}

/** `app[s3]` inside app's own extras or groups means "app's s3 extra": replace it by that extra's list. */
function expandSelfReferences(dependencies: DeclaredDependency[], info: PyprojectInfo, seen = new Set<string>()): DeclaredDependency[] {
  const out: DeclaredDependency[] = [];
  for (const dep of dependencies) {
    if (!info.name || normalizeDistName(dep.name) !== info.name || dep.url || dep.path || dep.vcs) {
      out.push(dep);
      continue;
    }
    for (const extra of dep.extras) {
      const key = normalizeDistName(extra);
      if (seen.has(key)) continue;
      seen.add(key);
      const group = info.groups.find((g) => g.kind === 'extra' && normalizeDistName(g.name) === key);
      if (!group) throw unknownGroup(extra, info.shown, info.groups.filter((g) => g.kind === 'extra').map((g) => g.name));
      out.push(...expandSelfReferences(group.dependencies.map((d) => ({ ...d, marker: joinMarkers(dep.marker, d.marker) })), info, seen));
    }
  }
  return out;
}

function joinMarkers(a: string | undefined, b: string | undefined): string | undefined {
  if (!a || !b) return a ?? b;
  return `(${a}) and (${b})`;
}

/** Whether a declared dependency applies to the target (its marker and Poetry python/platform). */
export function dependencyApplies(dep: DeclaredDependency, env: MarkerEnv, extras: readonly string[] = []): boolean {
  try {
    const markerOk = [undefined, ...extras].some((extra) => evaluateMarker(dep.marker, extra === undefined ? env : { ...env, extra }));
    if (!markerOk) return false;
  } catch (error) {
    if (error instanceof MarkerError) {
      throw new PyslimError('UNSUPPORTED_INPUT', `${dep.where}: ${dep.name}: ${error.message}`, {
        hint: 'pyslim evaluates markers for the Lambda target; use python_version, sys_platform, platform_machine and the like',
      });
    }
    throw error;
  }
  if (dep.python) {
    const python = env.python_full_version;
    if (typeof python !== 'string') throw new PyslimError('INTERNAL', 'marker environment lacks python_full_version');
    return anySatisfied(python, dep.python);
  }
  return true;
}

/** Alternatives written back: ">=1.5.6,<1.5.7 || >1.5.7"; "*" for any version. */
export function formatAlternatives(alternatives: readonly Specifier[][]): string {
  return alternatives.map((set) => set.map((s) => `${s.op}${s.version}`).join(',') || '*').join(' || ');
}

export function anySatisfied(version: string, alternatives: readonly Specifier[][]): boolean {
  return alternatives.some((set) => satisfies(version, set));
}

/** An unlocked install: the declared requirements, markers evaluated for the target. */
export function resolvePyproject(info: PyprojectInfo, requested: readonly string[], env: MarkerEnv): ResolvedInput {
  const python = env.python_full_version;
  if (info.requiresPython && typeof python === 'string' && !anySatisfied(python, info.requiresPython)) {
    throw new PyslimError('UNSUPPORTED_INPUT', `${info.shown}: the project requires Python ${formatAlternatives(info.requiresPython)}, the target runtime has ${python}`, {
      hint: 'Choose a runtime the project supports, or change its Python requirement',
    });
  }
  const lines: string[] = [];
  const resolved: ResolvedInput = {
    kind: 'pyproject.toml',
    files: [info.file],
    requirementsText: '',
    requireHashes: false,
    pins: [],
    localPaths: [],
    vcs: [],
    pipOptions: info.pipOptions,
  };
  for (const dep of selectDependencies(info, requested)) {
    if (!dependencyApplies(dep, env)) continue;
    const name = normalizeDistName(dep.name);
    if (dep.vcs) resolved.vcs.push({ name, url: dep.vcs, line: `${dep.where}: ${dep.name}` });
    else if (dep.path) resolved.localPaths.push({ name, path: dep.path, editable: dep.editable ?? false, ...(dep.extras.length ? { extras: dep.extras } : {}), line: `${dep.where}: ${dep.name}` });
    else {
      if (dep.versions.length > 1) {
        throw new PyslimError('UNSUPPORTED_INPUT', `${dep.where}: ${dep.name}: a constraint with "||" has no single PEP 440 equivalent`, {
          hint: 'Lock the project (poetry lock) so pyslim installs the locked versions, or narrow the constraint',
        });
      }
      pushUnique(lines, formatRequirement({ name: dep.name, extras: dep.extras, specifiers: dep.versions[0] ?? [], url: dep.url }));
      const pinned = dep.url ? undefined : pinnedVersion(dep.versions[0] ?? []);
      if (pinned && !resolved.pins.some((p) => p.name === name)) resolved.pins.push({ name, version: pinned });
    }
  }
  resolved.requirementsText = lines.length ? `${lines.join('\n')}\n` : '';
  return resolved;
}

function pep508List(value: unknown, where: string, base: string): DeclaredDependency[] {
  return arrayAt(value, where).map((item, index) => {
    if (typeof item !== 'string') throw new PyslimError('INVALID_INPUT', `${where}[${index}] must be a string`, { hint: 'Write PEP 508 strings such as "requests>=2.31"' });
    return fromPep508(item, where, base);
  });
}

function fromPep508(text: string, where: string, base: string): DeclaredDependency {
  let requirement;
  try {
    requirement = parseRequirement(text);
  } catch (error) {
    if (error instanceof RequirementError) {
      throw new PyslimError('INVALID_INPUT', `${where}: ${error.message}`, { hint: 'Write a PEP 508 requirement such as "requests>=2.31"' });
    }
    throw error;
  }
  const dep: DeclaredDependency = { name: requirement.name, extras: requirement.extras, versions: [requirement.specifiers], marker: requirement.marker, where };
  const url = requirement.url;
  if (url && /^(?:git|hg|svn|bzr)\+/i.test(url)) dep.vcs = url;
  else if (url?.startsWith('file:')) {
    dep.path = url.startsWith('file://') ? fileURLToPath(url) : path.resolve(base, decodeURIComponent(url.slice(5)));
    dep.editable = false;
  } else if (url) dep.url = url;
  return dep;
}

function dependencyGroups(table: TomlTable, shown: string, base: string): DependencyGroup[] {
  const byKey = new Map(Object.keys(table).map((name) => [normalizeDistName(name), name]));
  const expand = (name: string, stack: string[]): DeclaredDependency[] => {
    const where = `${shown} [dependency-groups].${name}`;
    if (stack.includes(name)) {
      throw new PyslimError('INVALID_INPUT', `${where}: include-group cycle: ${[...stack, name].join(' → ')}`, { hint: 'Remove one include-group of the loop' });
    }
    return arrayAt(table[name], where).flatMap((item, index) => {
      if (typeof item === 'string') return [fromPep508(item, where, base)];
      const include = isTable(item) ? stringAt(item['include-group'], `${where}[${index}].include-group`) : undefined;
      const target = include === undefined ? undefined : byKey.get(normalizeDistName(include));
      if (!target) {
        throw new PyslimError('INVALID_INPUT', `${where}[${index}]: expected a requirement string or {include-group = "<existing group>"}`, {
          hint: `Groups: ${[...byKey.values()].join(', ')}`,
        });
      }
      return expand(target, [...stack, name]);
    });
  };
  return Object.keys(table).map((name) => ({ name, kind: 'group' as const, dependencies: expand(name, []) }));
}

function poetryTable(table: TomlTable, where: string, base: string): DeclaredDependency[] {
  const out: DeclaredDependency[] = [];
  for (const [name, value] of Object.entries(table)) {
    if (name.toLowerCase() === 'python') continue; // the interpreter, not a package
    // A list declares alternatives by python/markers ("multiple constraints").
    const variants = Array.isArray(value) ? value : [value];
    for (const variant of variants) out.push(poetryDependency(name, variant, `${where}`, base));
  }
  return out;
}

/** One entry of a Poetry dependency table: "^1.2", or { version, markers, python, extras, optional, path, git, url … }. */
export function poetryDependency(name: string, value: unknown, where: string, base: string): DeclaredDependency {
  const at = `${where}.${name}`;
  if (typeof value === 'string') return { name, extras: [], versions: parsePoetryConstraint(value, at), where };
  if (!isTable(value)) throw new PyslimError('INVALID_INPUT', `${at} must be a version string or a table`, { hint: 'Write "^1.2" or { version = "^1.2", … }' });
  const dep: DeclaredDependency = {
    name,
    extras: arrayAt(value.extras, `${at}.extras`).map(String),
    versions: parsePoetryConstraint(stringAt(value.version, `${at}.version`) ?? '*', `${at}.version`),
    where,
  };
  const markers = stringAt(value.markers, `${at}.markers`);
  const platform = stringAt(value.platform, `${at}.platform`);
  dep.marker = joinMarkers(markers, platform === undefined ? undefined : `sys_platform == "${platform}"`);
  const python = stringAt(value.python, `${at}.python`);
  if (python !== undefined) dep.python = parsePoetryConstraint(python, `${at}.python`);
  if (value.optional === true) dep.optional = true;
  const git = stringAt(value.git, `${at}.git`);
  const localPath = stringAt(value.path, `${at}.path`);
  const url = stringAt(value.url, `${at}.url`);
  if (git !== undefined) {
    const rev = stringAt(value.rev, `${at}.rev`) ?? stringAt(value.tag, `${at}.tag`) ?? stringAt(value.branch, `${at}.branch`);
    const subdirectory = stringAt(value.subdirectory, `${at}.subdirectory`);
    dep.vcs = `git+${git}${rev ? `@${rev}` : ''}${subdirectory ? `#subdirectory=${subdirectory}` : ''}`;
  } else if (localPath !== undefined) {
    dep.path = path.resolve(base, localPath);
    dep.editable = value.develop === true;
  } else if (url !== undefined) {
    dep.url = url;
  }
  return dep;
}

/**
 * Poetry's constraint language as PEP 440 alternatives: "^1.2" → >=1.2,<2.0; "~1.2" → >=1.2,<1.3;
 * "1.2.*", "*", ">=1,<2", ">=1 <2" and "a || b". The caret and tilde bounds follow poetry-core.
 */
export function parsePoetryConstraint(text: string, where: string): Specifier[][] {
  const fail = (): never => {
    throw new PyslimError('INVALID_INPUT', `${where}: invalid version constraint "${text}"`, { hint: 'Use Poetry constraints such as "^1.2", "~1.2", ">=1.2,<2" or "*"' });
  };
  const alternatives = text.split(/\s*\|\|?\s*/);
  return alternatives.map((alternative) => {
    const CLAUSE = /(?:\^|~=|~|===|==|!=|<=|>=|<|>|=)?\s*[^\s,<>=!~^][^\s,]*/g;
    const clauses = alternative.match(CLAUSE) ?? [];
    if (alternative.replace(CLAUSE, '').replace(/[\s,]/g, '') !== '') fail();
    return clauses.flatMap((clause): Specifier[] => {
      const m = /^(\^|~=|~|===|==|!=|<=|>=|<|>|=)?\s*(.+)$/.exec(clause.trim());
      if (!m) return fail();
      const [, op = '', version] = m as unknown as [string, string | undefined, string];
      if (version === '*' && (op === '' || op === '==' || op === '=')) return [];
      if (op === '^' || op === '~') {
        const parsed = parseVersion(version);
        if (!parsed) return fail();
        const upper = op === '^' ? caretUpper(parsed.release) : tildeUpper(parsed.release);
        return [
          { op: '>=', version },
          { op: '<', version: upper },
        ];
      }
      const spec = parseSpecifier(`${op === '' || op === '=' ? '==' : op}${version}`);
      return spec ? [spec] : fail();
    });
  });
}

/** The release with part `index` raised by one and the parts after it zeroed: bump([1, 2, 3], 1) = "1.3.0". */
function bump(release: readonly number[], index: number): string {
  const length = Math.max(release.length, index + 1);
  return Array.from({ length }, (_, i) => (i < index ? (release[i] ?? 0) : i === index ? (release[i] ?? 0) + 1 : 0)).join('.');
}

/** poetry-core's next_breaking: the left-most non-zero part goes up (^0.0 → <0.1, ^0 → <1). */
function caretUpper(release: readonly number[]): string {
  const [major = 0, minor, patch] = release;
  if (major > 0 || minor === undefined) return bump(release, 0);
  if (minor > 0 || patch === undefined) return bump(release, 1);
  return bump(release, 2);
}

/** ~1 → <2; ~1.2 and ~1.2.3 → <1.3. */
function tildeUpper(release: readonly number[]): string {
  return release.length === 1 ? bump(release, 0) : bump(release, 1);
}

function specifiersOrThrow(text: string, where: string): Specifier[] {
  const clauses = text.split(',').map((c) => parseSpecifier(c));
  if (clauses.some((c) => !c)) {
    throw new PyslimError('INVALID_INPUT', `${where}: invalid version specifier "${text}"`, { hint: 'Write PEP 440 specifiers such as ">=3.11"' });
  }
  return clauses as Specifier[];
}

/** Index settings a project declares for uv (`[[tool.uv.index]]`) or Poetry (`[[tool.poetry.source]]`). */
function indexOptions(tool: TomlTable, shown: string): PipIndexOptions {
  const options = emptyPipOptions();
  const uv = tableAt(tool.uv, `${shown} [tool.uv]`);
  for (const [i, index] of arrayAt(uv.index, `${shown} [[tool.uv.index]]`).entries()) {
    const entry = tableAt(index, `${shown} [[tool.uv.index]][${i}]`);
    const url = stringAt(entry.url, `${shown} [[tool.uv.index]][${i}].url`);
    if (!url) continue;
    if (entry.default === true) options.indexUrl = url;
    else pushUnique(options.extraIndexUrls, url);
  }
  const poetry = tableAt(tool.poetry, `${shown} [tool.poetry]`);
  for (const [i, source] of arrayAt(poetry.source, `${shown} [[tool.poetry.source]]`).entries()) {
    const entry = tableAt(source, `${shown} [[tool.poetry.source]][${i}]`);
    const url = stringAt(entry.url, `${shown} [[tool.poetry.source]][${i}].url`);
    if (!url) continue;
    // "primary"/"default" sources replace PyPI; the others add to it. pip cannot scope an index to one package.
    const priority = stringAt(entry.priority, `${shown} [[tool.poetry.source]][${i}].priority`) ?? (entry.default === true ? 'default' : 'primary');
    if ((priority === 'default' || priority === 'primary') && options.indexUrl === undefined) options.indexUrl = url;
    else pushUnique(options.extraIndexUrls, url);
  }
  return options;
}

