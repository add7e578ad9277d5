/** What uv.lock and poetry.lock share once the graph is walked: turning locked packages into pip input. */
import { PyslimError } from '../errors.js';
import { normalizeDistName } from '../python-names.js';
import { MarkerError } from './markers.js';
import { emptyPipOptions, requirementLine, type InputKind, type LocalPathRequirement, type ResolvedInput, type VcsRequirement } from './types.js';

/** A package the walk reached that pip installs from an index or a URL. */
export interface LockedRequirement {
  name: string;
  version: string;
  /** Set for direct-URL packages: installed as `name @ url`. */
  url?: string;
  /** "sha256:…" of every file the lock lists for the package. */
  hashes: string[];
}

/** Collects the walk's results in the shape resolveDependencyInput returns. */
export class LockedSet {
  readonly requirements = new Map<string, LockedRequirement>();
  readonly localPaths: LocalPathRequirement[] = [];
  readonly vcs: VcsRequirement[] = [];
  readonly pipOptions = emptyPipOptions();

  addRequirement(requirement: LockedRequirement, where: string): void {
    const name = normalizeDistName(requirement.name);
    const existing = this.requirements.get(name);
    if (existing && existing.version !== requirement.version) {
      // Two versions of one package can be locked for different markers, but both cannot apply to one target.
      throw new PyslimError('INVALID_INPUT', `${where}: both ${name}==${existing.version} and ${name}==${requirement.version} apply to the target`, {
        hint: 'Regenerate the lockfile; if it persists, report the lockfile to pyslim',
      });
    }
    this.requirements.set(name, { ...requirement, name });
  }

  addLocalPath(entry: LocalPathRequirement): void {
    if (!this.localPaths.some((p) => p.path === entry.path)) this.localPaths.push(entry);
  }

  addVcs(entry: VcsRequirement): void {
    if (!this.vcs.some((v) => v.url === entry.url)) this.vcs.push(entry);
  }

  /**
   * Pinned lines sorted by name. Hashes go to pip only when every line has them: a single hash
   * switches pip into hash-checking mode for all requirements.
   */
  toResolved(kind: InputKind, files: string[]): ResolvedInput {
    const locked = [...this.requirements.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const requireHashes = locked.length > 0 && locked.every((r) => r.hashes.length > 0);
    const lines = locked.map((r) => requirementLine(r.url ? `${r.name} @ ${r.url}` : `${r.name}==${r.version}`, requireHashes ? r.hashes : []));
    return {
      kind,
      files,
      requirementsText: lines.length ? `${lines.join('\n')}\n` : '',
      requireHashes,
      pins: locked.map((r) => ({ name: r.name, version: r.version })),
      localPaths: this.localPaths,
      vcs: this.vcs,
      pipOptions: this.pipOptions,
    };
  }
}

/** Runs a marker evaluation, turning an undecidable marker into an error naming the lock entry. */
export function withMarkerContext<T>(where: string, evaluate: () => T): T {
  try {
    return evaluate();
  } catch (error) {
    if (error instanceof MarkerError) {
      throw new PyslimError('UNSUPPORTED_INPUT', `${where}: ${error.message}`, {
        hint: 'pyslim evaluates markers for the Lambda target; use python_version, sys_platform, platform_machine and the like',
      });
    }
    throw error;
  }
}

const HASH_RE = /^(sha256|sha384|sha512):([0-9a-f]+)$/i;

/** Validates a lockfile hash ("sha256:<hex>"); other algorithms (md5) are skipped, as pip rejects them. */
export function lockHash(value: unknown, where: string): string | undefined {
  if (value === undefined) return undefined;
  const m = typeof value === 'string' ? HASH_RE.exec(value) : null;
  if (!m) {
    if (typeof value === 'string' && /^md5:/i.test(value)) return undefined;
    throw new PyslimError('INVALID_INPUT', `${where}: invalid hash ${JSON.stringify(value)}`, { hint: 'Regenerate the lockfile' });
  }
  return `${m[1]!.toLowerCase()}:${m[2]!.toLowerCase()}`;
}

/** Whether a registry URL is PyPI itself, which pip uses unless told otherwise. */
export function isPypi(url: string): boolean {
  return /^https?:\/\/(?:pypi\.org|pypi\.python\.org)\/(?:simple|pypi)\/?$/i.test(url.trim());
}

/** A VCS source URL as pip spells it: uv's "https://host/repo?rev=x#<commit>" → "git+https://host/repo@<commit>". */
export function gitRequirementUrl(url: string, commit: string | undefined, subdirectory: string | undefined): string {
  const base = url.replace(/^git\+/, '').split('#')[0]!.split('?')[0]!;
  return `git+${base}${commit ? `@${commit}` : ''}${subdirectory ? `#subdirectory=${subdirectory}` : ''}`;
}
