/**
 * pyslim.config.json (or a "pyslim" key in package.json): `defaults` plus named `functions`, each
 * with any build option. Validated once, with messages that name the file, the key and the
 * allowed values; an unknown key suggests the nearest valid one.
 *
 *   { "defaults": { "runtime": "python3.12", "arch": "arm64" },
 *     "functions": { "api": { "dir": "functions/api", "budget": "20MB" } },
 *     "concurrency": 2 }
 *
 * Precedence, per option: command-line flag, then the function's entry, then `defaults`, then
 * pyslim's built-in default.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { resolveArch, resolveChoice, resolveRuntime } from './config.js';
import { PyslimError } from './errors.js';
import { editDistance } from './rules/boto.js';
import { parseSize } from './size.js';
import { BYTECODE_MODES, INSTALLER_CHOICES, PRUNE_PROFILES, STRIP_MODES } from './model/modes.js';
import type { BuildOptions } from './model/options.js';

export const CONFIG_FILE = 'pyslim.config.json';

type Kind = 'string' | 'strings' | 'boolean' | 'size' | 'number' | 'sizes-by-name';

/** Every option a function (or `defaults`) may set, with its type. Paths are relative to the config file. */
export const CONFIG_OPTIONS = {
  dir: 'string',
  requirements: 'string',
  groups: 'strings',
  runtime: 'string',
  arch: 'string',
  installer: 'string',
  out: 'string',
  budget: 'size',
  budgetUnzipped: 'size',
  budgetPackages: 'sizes-by-name',
  layersSize: 'size',
  prune: 'string',
  exclude: 'strings',
  keep: 'strings',
  botoServices: 'strings',
  excludeRuntimePackages: 'boolean',
  strip: 'string',
  bytecode: 'string',
  verify: 'boolean',
  handler: 'string',
  verifySkip: 'strings',
  profile: 'boolean',
  layer: 'boolean',
  withLayers: 'strings',
  python: 'string',
  containerCli: 'string',
  image: 'string',
  containerUser: 'string',
  containerTimeout: 'number',
  indexUrl: 'string',
  extraIndexUrls: 'strings',
  findLinks: 'strings',
  trustedHosts: 'strings',
  constraints: 'strings',
  remoteCache: 'string',
  remoteCacheEndpoint: 'string',
  remoteCacheReadOnly: 'boolean',
  remoteCacheTimeout: 'number',
} as const satisfies Record<string, Kind>;

export type ConfigOption = keyof typeof CONFIG_OPTIONS;
export type FunctionConfig = Partial<Pick<BuildOptions, ConfigOption>>;

/** Options whose values are paths, resolved against the config file's folder. */
const PATH_OPTIONS = new Set<ConfigOption>(['dir', 'requirements', 'out', 'python', 'constraints', 'withLayers']);
const TOP_LEVEL = ['defaults', 'functions', 'concurrency', '$schema'] as const;

export interface ProjectConfig {
  /** The file it came from (package.json for a "pyslim" key). */
  file: string;
  defaults: FunctionConfig;
  functions: Map<string, FunctionConfig>;
  /** Functions built at once. */
  concurrency: number;
}

/** Finds pyslim.config.json, or a "pyslim" key in package.json, in `cwd`; null when there is neither. */
export async function findProjectConfig(cwd: string, explicit?: string): Promise<ProjectConfig | null> {
  if (explicit) {
    const file = path.resolve(cwd, explicit);
    const text = await fs.readFile(file, 'utf8').catch(() => {
      throw new PyslimError('FILE_NOT_FOUND', `config file not found: ${file}`, { hint: 'Check the --config path' });
    });
    return parseProjectConfig(file, parseJson(file, text, path.basename(file) === 'package.json'));
  }
  const file = path.join(cwd, CONFIG_FILE);
  const text = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (text !== undefined) return parseProjectConfig(file, parseJson(file, text, false));
  const pkgFile = path.join(cwd, 'package.json');
  const pkg = await fs.readFile(pkgFile, 'utf8').catch(() => undefined);
  if (pkg === undefined) return null;
  const section = parseJson(pkgFile, pkg, true);
  return section === undefined ? null : parseProjectConfig(pkgFile, section);
}

function parseJson(file: string, text: string, packageJson: boolean): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalid(file, '', `is not valid JSON (${(error as Error).message})`, 'Fix the syntax');
  }
  return packageJson ? (value as Record<string, unknown> | null)?.pyslim : value;
}

function invalid(file: string, key: string, what: string, hint: string): PyslimError {
  return new PyslimError('INVALID_CONFIG', `${path.basename(file)}${key ? `: ${key}` : ''} ${what}`, { hint });
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The nearest of `names` to `name`, when one is close enough to be a typo. */
export function nearest(name: string, names: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of names) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (!best || distance < best.distance) best = { name: candidate, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(name.length / 3)) ? best.name : undefined;
}

function unknownKey(file: string, key: string, name: string, allowed: readonly string[]): PyslimError {
  const suggestion = nearest(name, allowed);
  return invalid(file, key, 'is not a known key', suggestion ? `Did you mean "${suggestion}"?` : `Use one of ${allowed.join(', ')}`);
}

export function parseProjectConfig(file: string, raw: unknown): ProjectConfig {
  const keyPrefix = path.basename(file) === 'package.json' ? 'pyslim.' : '';
  if (!isObject(raw)) throw invalid(file, keyPrefix.replace(/\.$/, ''), 'must be an object with "functions"', 'See the README for the format');
  for (const key of Object.keys(raw)) {
    if (!(TOP_LEVEL as readonly string[]).includes(key)) throw unknownKey(file, `${keyPrefix}${key}`, key, TOP_LEVEL);
  }
  const base = path.dirname(file);
  const defaults = raw.defaults === undefined ? {} : parseFunction(file, `${keyPrefix}defaults`, raw.defaults, base);
  if (!isObject(raw.functions) || Object.keys(raw.functions).length === 0) {
    throw invalid(file, `${keyPrefix}functions`, 'must name at least one function', 'Add "functions": { "api": { "dir": "functions/api" } }');
  }
  const functions = new Map<string, FunctionConfig>();
  for (const [name, value] of Object.entries(raw.functions)) {
    if (!/^[A-Za-z0-9][\w.-]*$/.test(name)) {
      throw invalid(file, `${keyPrefix}functions.${name}`, 'is not a valid function name', 'Use letters, digits, ".", "_" and "-"');
    }
    functions.set(name, parseFunction(file, `${keyPrefix}functions.${name}`, value, base));
  }
  const concurrency = raw.concurrency ?? 2;
  if (!Number.isInteger(concurrency) || (concurrency as number) < 1) {
    throw invalid(file, `${keyPrefix}concurrency`, `must be a whole number of functions built at once, not ${JSON.stringify(concurrency)}`, 'Use e.g. 2');
  }
  return { file, defaults, functions, concurrency: concurrency as number };
}

function parseFunction(file: string, key: string, raw: unknown, base: string): FunctionConfig {
  if (!isObject(raw)) throw invalid(file, key, 'must be an object of build options', 'e.g. { "dir": "functions/api" }');
  const options: Record<string, unknown> = {};
  const allowed = Object.keys(CONFIG_OPTIONS);
  for (const [name, value] of Object.entries(raw)) {
    if (!Object.hasOwn(CONFIG_OPTIONS, name)) throw unknownKey(file, `${key}.${name}`, name, allowed);
    const option = name as ConfigOption;
    const at = `${key}.${name}`;
    options[option] = checkValue(file, at, CONFIG_OPTIONS[option], value);
    if (PATH_OPTIONS.has(option)) {
      options[option] = Array.isArray(options[option]) ? (options[option] as string[]).map((p) => path.resolve(base, p)) : path.resolve(base, options[option] as string);
    }
    checkClosedSet(file, at, option, options[option]);
  }
  return options as FunctionConfig;
}

function checkValue(file: string, key: string, kind: Kind, value: unknown): unknown {
  const wrong = (expected: string, example: string) => invalid(file, key, `must be ${expected}, not ${JSON.stringify(value)}`, `e.g. ${example}`);
  switch (kind) {
    case 'string':
      if (typeof value !== 'string' || value === '') throw wrong('a string', '"functions/api"');
      return value;
    case 'strings':
      if (typeof value === 'string') return [value];
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw wrong('a list of strings', '["s3", "dynamodb"]');
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw wrong('true or false', 'true');
      return value;
    case 'number':
      if (typeof value !== 'number' || !(value > 0)) throw wrong('a positive number', '600');
      return value;
    case 'size':
      if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value;
      if (typeof value !== 'string') throw wrong('a size', '"20MB"');
      try {
        parseSize(value);
      } catch {
        throw wrong('a size', '"20MB", "50MiB" or 3000000');
      }
      return value;
    case 'sizes-by-name':
      if (!isObject(value)) throw wrong('an object of package sizes', '{ "numpy": "30MB" }');
      for (const [name, size] of Object.entries(value)) checkValue(file, `${key}.${name}`, 'size', size);
      return value;
  }
}

/** Closed sets get the same validation as their flags, under the key's name. */
function checkClosedSet(file: string, key: string, option: ConfigOption, value: unknown): void {
  const attempt = (check: () => unknown) => {
    try {
      check();
    } catch (error) {
      if (error instanceof PyslimError) throw invalid(file, key, `is ${JSON.stringify(value)}, which is not allowed`, error.hint ?? error.message);
      throw error;
    }
  };
  if (option === 'runtime') attempt(() => resolveRuntime(value as string));
  if (option === 'arch') attempt(() => resolveArch(value as string));
  if (option === 'installer') attempt(() => resolveChoice(value as string, INSTALLER_CHOICES, 'auto', 'installer'));
  if (option === 'prune') attempt(() => resolveChoice(value as string, [...PRUNE_PROFILES], 'safe', 'prune'));
  if (option === 'strip') attempt(() => resolveChoice(value as string, [...STRIP_MODES], 'debug', 'strip'));
  if (option === 'bytecode') attempt(() => resolveChoice(value as string, [...BYTECODE_MODES], 'compile', 'bytecode'));
}

/** A function's options: its entry over `defaults`; command-line flags go on top of this. */
export function functionOptions(config: ProjectConfig, name: string): FunctionConfig {
  const own = config.functions.get(name);
  if (!own) {
    throw new PyslimError('INVALID_OPTION', `unknown function "${name}" in ${path.basename(config.file)}`, {
      hint: `Use one of ${[...config.functions.keys()].join(', ')}${nearest(name, [...config.functions.keys()]) ? ` (did you mean "${nearest(name, [...config.functions.keys()])}"?)` : ''}`,
    });
  }
  const merged: FunctionConfig = { ...config.defaults, ...own };
  merged.dir ??= path.dirname(config.file);
  merged.out ??= path.join(path.dirname(config.file), 'dist', `${name}.zip`);
  return merged;
}
