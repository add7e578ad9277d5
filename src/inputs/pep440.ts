/**
 * PEP 440 versions and specifiers: enough to evaluate environment markers and to check that a
 * locked `name==version` satisfies what a project declared.
 *
 * Matching always admits pre-releases (packaging's `contains(v, prereleases=True)`): markers do,
 * and a lockfile that chose a pre-release chose it on purpose.
 */

/** A parsed PEP 440 version. */
export interface Version {
  epoch: number;
  release: number[];
  /** a, b or rc (normalized), with its number. */
  pre?: { label: 'a' | 'b' | 'rc'; n: number };
  post?: number;
  dev?: number;
  /** Local label segments, lower-cased ("ubuntu.1" → ["ubuntu", "1"]). */
  local?: string[];
}

// packaging's VERSION_PATTERN, which accepts every spelling PEP 440 normalizes.
const VERSION_RE = new RegExp(
  '^\\s*v?' +
    '(?:(?<epoch>[0-9]+)!)?' +
    '(?<release>[0-9]+(?:\\.[0-9]+)*)' +
    '(?<pre>[-_.]?(?<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?<pre_n>[0-9]+)?)?' +
    '(?<post>(?:-(?<post_n1>[0-9]+))|(?:[-_.]?(?<post_l>post|rev|r)[-_.]?(?<post_n2>[0-9]+)?))?' +
    '(?<dev>[-_.]?(?<dev_l>dev)[-_.]?(?<dev_n>[0-9]+)?)?' +
    '(?:\\+(?<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?\\s*$',
  'i',
);

const PRE_LABELS: Record<string, 'a' | 'b' | 'rc'> = { a: 'a', alpha: 'a', b: 'b', beta: 'b', c: 'rc', rc: 'rc', pre: 'rc', preview: 'rc' };

/** Parses a version, or returns undefined when it is not valid PEP 440. */
export function parseVersion(text: string): Version | undefined {
  const m = VERSION_RE.exec(text);
  if (!m?.groups) return undefined;
  const g = m.groups;
  const version: Version = { epoch: g.epoch ? Number(g.epoch) : 0, release: g.release!.split('.').map(Number) };
  if (g.pre) version.pre = { label: PRE_LABELS[g.pre_l!.toLowerCase()]!, n: Number(g.pre_n ?? 0) };
  if (g.post) version.post = Number(g.post_n1 ?? g.post_n2 ?? 0);
  if (g.dev) version.dev = Number(g.dev_n ?? 0);
  if (g.local) version.local = g.local.toLowerCase().split(/[-_.]/);
  return version;
}

/** The normalized spelling, e.g. "1.0-RC1" → "1.0rc1", "v1.0.post" → "1.0.post0". */
export function formatVersion(v: Version): string {
  let out = (v.epoch ? `${v.epoch}!` : '') + v.release.join('.');
  if (v.pre) out += `${v.pre.label}${v.pre.n}`;
  if (v.post !== undefined) out += `.post${v.post}`;
  if (v.dev !== undefined) out += `.dev${v.dev}`;
  if (v.local) out += `+${v.local.join('.')}`;
  return out;
}

function compareReleases(a: readonly number[], b: readonly number[]): number {
  // Trailing zeros do not count: 1.0 == 1.0.0.
  const length = Math.max(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const diff = (a[i] ?? 0) - (b[i] ?? 0);
    if (diff !== 0) return Math.sign(diff);
  }
  return 0;
}

const PRE_ORDER = { a: 0, b: 1, rc: 2 } as const;

/** Sort key of the pre-release part: dev-only releases sort before every pre-release of their release. */
function preKey(v: Version): [number, number] {
  if (!v.pre) return v.post === undefined && v.dev !== undefined ? [-1, 0] : [3, 0];
  return [PRE_ORDER[v.pre.label], v.pre.n];
}

function compareLocal(a: readonly string[] | undefined, b: readonly string[] | undefined): number {
  if (!a || !b) return a ? 1 : b ? -1 : 0;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined || y === undefined) return x === undefined ? -1 : 1;
    const xn = /^\d+$/.test(x);
    const yn = /^\d+$/.test(y);
    // Numeric segments sort after alphanumeric ones, and compare as numbers.
    if (xn !== yn) return xn ? 1 : -1;
    const diff = xn ? Number(x) - Number(y) : x < y ? -1 : x > y ? 1 : 0;
    if (diff !== 0) return Math.sign(diff);
  }
  return 0;
}

/** Total order of PEP 440: -1, 0 or 1. */
export function compareVersions(a: Version, b: Version): number {
  if (a.epoch !== b.epoch) return Math.sign(a.epoch - b.epoch);
  const release = compareReleases(a.release, b.release);
  if (release !== 0) return release;
  const [ap, an] = preKey(a);
  const [bp, bn] = preKey(b);
  if (ap !== bp) return Math.sign(ap - bp);
  if (an !== bn) return Math.sign(an - bn);
  const post = (a.post ?? -1) - (b.post ?? -1);
  if (post !== 0) return Math.sign(post);
  if (a.dev !== b.dev) {
    // No dev part sorts after every dev release of the same version.
    if (a.dev === undefined) return 1;
    if (b.dev === undefined) return -1;
    return Math.sign(a.dev - b.dev);
  }
  return compareLocal(a.local, b.local);
}

/** Compares two version strings; throws on invalid ones. */
export function compareVersionStrings(a: string, b: string): number {
  return compareVersions(mustParse(a), mustParse(b));
}

function mustParse(text: string): Version {
  const v = parseVersion(text);
  if (!v) throw new Error(`invalid version "${text}"`);
  return v;
}

const publicOf = (v: Version): Version => ({ ...v, local: undefined });
const baseOf = (v: Version): Version => ({ epoch: v.epoch, release: v.release });
const isPre = (v: Version) => v.pre !== undefined || v.dev !== undefined;

export const SPECIFIER_OPERATORS = ['~=', '===', '==', '!=', '<=', '>=', '<', '>'] as const;
export type SpecifierOperator = (typeof SPECIFIER_OPERATORS)[number];

/** One clause of a specifier set, such as ">=1.2" or "==3.*". */
export interface Specifier {
  op: SpecifierOperator;
  version: string;
}

const SPECIFIER_RE = /^\s*(~=|===|==|!=|<=|>=|<|>)\s*(\S(?:.*\S)?)\s*$/;

/** Parses one clause; undefined when the clause is not valid PEP 440 (e.g. "~=1", ">=1.*"). */
export function parseSpecifier(text: string): Specifier | undefined {
  const m = SPECIFIER_RE.exec(text);
  if (!m) return undefined;
  const op = m[1] as SpecifierOperator;
  const version = m[2]!;
  if (op === '===') return /\s/.test(version) ? undefined : { op, version };
  if (version.endsWith('.*')) {
    // Prefix matching exists only for == and !=, and never with a local label.
    if (op !== '==' && op !== '!=') return undefined;
    const v = parseVersion(version.slice(0, -2));
    return v && !v.local && v.dev === undefined ? { op, version } : undefined;
  }
  const v = parseVersion(version);
  if (!v) return undefined;
  if (v.local && op !== '==' && op !== '!=') return undefined;
  if (op === '~=' && v.release.length < 2) return undefined;
  return { op, version };
}

/** Parses a comma-separated specifier set ("" means any version); undefined when a clause is invalid. */
export function parseSpecifierSet(text: string): Specifier[] | undefined {
  if (text.trim() === '') return [];
  const clauses = text.split(',').map(parseSpecifier);
  return clauses.every((c): c is Specifier => c !== undefined) ? clauses : undefined;
}

function prefixMatch(candidate: Version, prefixText: string): boolean {
  const prefix = mustParse(prefixText);
  const c = publicOf(candidate);
  if (c.epoch !== prefix.epoch) return false;
  if (prefix.pre || prefix.post !== undefined) {
    // "==1.0rc1.*" style prefixes: compare the normalized spellings (rare in the wild).
    return formatVersion(c).startsWith(formatVersion(prefix));
  }
  // The candidate's release is padded with zeros to the prefix's length: 1 matches ==1.0.*.
  return prefix.release.every((n, i) => (c.release[i] ?? 0) === n);
}

/** Whether a version satisfies one clause (pre-releases admitted). */
export function matchesSpecifier(candidateText: string, spec: Specifier): boolean {
  if (spec.op === '===') return candidateText.trim().toLowerCase() === spec.version.toLowerCase();
  const candidate = parseVersion(candidateText);
  if (!candidate) return false;
  if (spec.version.endsWith('.*')) {
    const hit = prefixMatch(candidate, spec.version.slice(0, -2));
    return spec.op === '==' ? hit : !hit;
  }
  const target = mustParse(spec.version);
  switch (spec.op) {
    case '==':
    case '!=': {
      // A specifier without a local label ignores the candidate's local label.
      const equal = compareVersions(target.local ? candidate : publicOf(candidate), target) === 0;
      return spec.op === '==' ? equal : !equal;
    }
    case '<=':
      return compareVersions(publicOf(candidate), target) <= 0;
    case '>=':
      return compareVersions(publicOf(candidate), target) >= 0;
    case '<':
      // <V excludes pre-releases of V itself unless V is one (PEP 440 "exclusive ordered comparison").
      if (compareVersions(publicOf(candidate), target) >= 0) return false;
      return !(!isPre(target) && isPre(candidate) && compareVersions(baseOf(candidate), baseOf(target)) === 0);
    case '>':
      if (compareVersions(publicOf(candidate), target) <= 0) return false;
      // >V excludes post-releases of V unless V is one, and local versions of V.
      if (target.post === undefined && candidate.post !== undefined && compareVersions(baseOf(candidate), baseOf(target)) === 0) return false;
      return !(candidate.local && compareVersions(baseOf(candidate), baseOf(target)) === 0);
    case '~=': {
      const prefix = target.release.slice(0, -1).join('.');
      return matchesSpecifier(candidateText, { op: '>=', version: spec.version }) && prefixMatch(candidate, `${target.epoch ? `${target.epoch}!` : ''}${prefix}`);
    }
  }
}

/** Whether a version satisfies every clause of a specifier set. */
export function satisfies(version: string, specifiers: readonly Specifier[]): boolean {
  return specifiers.every((spec) => matchesSpecifier(version, spec));
}

/** The version a specifier set pins exactly (one "==X" or "===X" clause, no wildcard), if any. */
export function pinnedVersion(specifiers: readonly Specifier[]): string | undefined {
  if (specifiers.length !== 1) return undefined;
  const [spec] = specifiers;
  if (spec!.op === '===' || (spec!.op === '==' && !spec!.version.endsWith('.*'))) return spec!.version;
  return undefined;
}
