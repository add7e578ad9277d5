/**
 * Resolving a build's configuration, once, at the boundary. Every option is validated here with
 * a message that names the allowed values; stages receive the resolved object and never read
 * flags or the environment themselves.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PyslimError } from './errors.js';
import { compileGlobs, type GlobSet } from './glob.js';
import type { IndexConfig } from './installers/index-config.js';
import type { RemoteCacheConfig } from './cache/remote.js';
import { DEFAULT_CACHE_MAX_BYTES } from './cache/store.js';
import { ARCHITECTURES, DEFAULT_ARCH, DEFAULT_RUNTIME, RUNTIMES, isArchName, isRuntimeName, lambdaImage, type ArchName, type RuntimeName } from './runtimes.js';
import { parseSize } from './size.js';
import type { BudgetLimits } from './model/budget.js';
import { BYTECODE_MODES, type BytecodeMode, INSTALLER_CHOICES, type InstallerChoice, PRUNE_PROFILES, type PruneProfile, STRIP_MODES, type StripMode } from './model/modes.js';
import type { BuildOptions } from './model/options.js';

export interface ResolvedBuildConfig {
  dir: string;
  /** The dependency file given explicitly, or null to look for one in dir. */
  requirements: string | null;
  groups: string[];
  runtime: RuntimeName;
  arch: ArchName;
  installer: InstallerChoice;
  out: string;
  budgetBytes: number | null;
  budgets: BudgetLimits;
  exclude: GlobSet;
  keep: GlobSet;
  prune: PruneProfile;
  python: string | undefined;
  /** The engine asked for, or undefined to try the defaults. */
  containerCli: string | undefined;
  image: string;
  containerUser: string;
  containerTimeoutMs: number;
  cacheDir: string;
  /** pyslim's own index flags; they replace the host pip configuration's values key by key. */
  indexFlags: Partial<IndexConfig>;
  cwd: string;
  keepTemp: boolean;
  cache: boolean;
  cacheMaxBytes: number;
  /** The remote cache, or null without one (or with the local cache off). */
  remoteCache: RemoteCacheConfig | null;
  layer: boolean;
  withLayers: string[];
  botoServices: string[] | null;
  excludeRuntimePackages: boolean;
  strip: StripMode | null;
  verify: boolean;
  handler: string | undefined;
  verifySkip: string[];
  /** The mode asked for, or undefined to decide from the interpreter available. */
  bytecode: BytecodeMode | undefined;
  profile: boolean;
  profileRuns: number;
  /** The cold-start advisor (--advise), or null without it. */
  advise: ResolvedAdviseConfig | null;
  /** Absolute paths pyslim writes that must never be packaged. */
  ownOutputs: string[];
  env: Readonly<Record<string, string | undefined>>;
}

export const DEFAULT_OUT = 'dist/function.zip';

/** The cold-start advisor's settings (pyslim doctor, pyslim build --advise). */
export interface ResolvedAdviseConfig {
  /** Memory settings to measure, in MB, ascending. */
  memory: number[];
  /** Fresh interpreters per setting. */
  runs: number;
  /** Per import at the host's full CPU, in ms. */
  timeoutMs: number;
}

/** Lambda memory settings measured when --memory is not given. */
export const DEFAULT_MEMORY_SETTINGS = [128, 256, 512, 1024, 1769, 3008] as const;

/** --memory 128,512 (repeatable), --runs, --timeout (seconds) for the advisor. */
export function resolveAdviseConfig(options: { memory?: readonly (number | string)[]; runs?: number; timeout?: number }): ResolvedAdviseConfig {
  const memory = options.memory === undefined ? [...DEFAULT_MEMORY_SETTINGS] : options.memory.flatMap((m) => String(m).split(',')).map((m) => m.trim()).filter(Boolean).map(Number);
  const bad = memory.find((m) => !Number.isInteger(m) || m < 128 || m > 10_240);
  if (bad !== undefined || memory.length === 0) {
    throw new PyslimError('INVALID_OPTION', `invalid --memory "${options.memory?.join(',')}"`, { hint: 'Use Lambda memory sizes in MB from 128 to 10240, e.g. --memory 128,512,1769' });
  }
  const timeout = options.timeout ?? 60;
  if (!Number.isFinite(timeout) || timeout <= 0) throw new PyslimError('INVALID_OPTION', `invalid --timeout "${options.timeout}"`, { hint: 'Use a number of seconds, e.g. 30' });
  return { memory: [...new Set(memory)].sort((a, b) => a - b), runs: options.runs === undefined ? 3 : resolveRuns(options.runs), timeoutMs: Math.round(timeout * 1000) };
}

export function resolveRuntime(value: string | undefined): RuntimeName {
  const runtime = value ?? DEFAULT_RUNTIME;
  if (isRuntimeName(runtime)) return runtime;
  const bare = /^(?:python)?\s*(3\.\d+)$/.exec(runtime)?.[1];
  const suggestion = bare && isRuntimeName(`python${bare}`) ? ` Did you mean python${bare}?` : '';
  throw new PyslimError('UNKNOWN_RUNTIME', `unknown runtime "${runtime}"`, {
    hint: `Use one of ${Object.keys(RUNTIMES).join(', ')}.${suggestion}`,
  });
}

const ARCH_ALIASES: Record<string, ArchName> = { aarch64: 'arm64', amd64: 'x86_64', 'x86-64': 'x86_64', x64: 'x86_64' };

export function resolveArch(value: string | undefined): ArchName {
  const arch = value ?? DEFAULT_ARCH;
  if (isArchName(arch)) return arch;
  const alias = ARCH_ALIASES[arch.toLowerCase()];
  throw new PyslimError('UNKNOWN_ARCH', `unknown architecture "${arch}"`, {
    hint: `Use ${Object.keys(ARCHITECTURES).join(' or ')}${alias ? ` (Lambda calls ${arch} "${alias}")` : ''}`,
  });
}

export function resolveChoice<T extends string>(value: string | undefined, allowed: readonly T[], fallback: T, option: string): T {
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new PyslimError('INVALID_OPTION', `invalid ${option} "${value}"`, { hint: `Use one of ${allowed.join(', ')}` });
}

async function statOrUndefined(p: string) {
  try {
    return await fs.stat(p);
  } catch {
    return undefined;
  }
}

export async function resolveBuildConfig(options: BuildOptions): Promise<ResolvedBuildConfig> {
  const cwd = options.cwd ?? process.cwd();
  const runtime = resolveRuntime(options.runtime);
  const arch = resolveArch(options.arch);
  const installer = resolveChoice(options.installer, INSTALLER_CHOICES, 'auto', '--installer');
  const prune = resolveChoice(options.prune, PRUNE_PROFILES, 'safe', '--prune');

  const dir = path.resolve(cwd, options.dir ?? '.');
  const dirStats = await statOrUndefined(dir);
  if (!dirStats?.isDirectory()) {
    throw new PyslimError('DIR_NOT_FOUND', `function folder not found: ${dir}`, {
      hint: 'Pass the folder that holds the handler code, e.g. "pyslim build ./src"',
    });
  }

  let requirements: string | null = null;
  if (options.requirements !== undefined) {
    requirements = path.resolve(cwd, options.requirements);
    if (!(await statOrUndefined(requirements))?.isFile()) {
      throw new PyslimError('FILE_NOT_FOUND', `requirements file not found: ${requirements}`, {
        hint: 'Check the -r/--requirements path',
      });
    }
  }

  const out = path.resolve(cwd, options.out ?? DEFAULT_OUT);
  if ((await statOrUndefined(out))?.isDirectory()) {
    throw new PyslimError('INVALID_OPTION', `output path is a folder: ${out}`, { hint: 'Pass a file name, e.g. -o dist/function.zip' });
  }
  const budgetBytes =
    options.budget === undefined ? null : typeof options.budget === 'number' ? checkedBytes(options.budget) : parseSize(options.budget, 'budget');

  const env = options.env ?? process.env;
  const budgets: BudgetLimits = {
    zipBytes: budgetBytes,
    unzippedBytes: sizeOption(options.budgetUnzipped, '--budget-unzipped'),
    packages: resolvePackageBudgets(options.budgetPackages),
    layersBytes: sizeOption(options.layersSize, '--layers-size') ?? 0,
  };
  if (options.advise && options.layer) {
    throw new PyslimError('INVALID_OPTION', '--advise needs a function, not a layer', { hint: 'Drop --advise, or --layer' });
  }
  return {
    dir,
    requirements,
    groups: options.groups ?? [],
    budgets,
    runtime,
    arch,
    installer,
    out,
    budgetBytes,
    exclude: compileGlobs(options.exclude ?? []),
    keep: compileGlobs(options.keep ?? []),
    prune,
    python: options.python,
    containerCli: options.containerCli ?? (env.PYSLIM_CONTAINER_CLI || undefined),
    image: options.image ?? lambdaImage(runtime, arch),
    containerUser: resolveContainerUser(options.containerUser),
    containerTimeoutMs: resolveTimeout(options.containerTimeout),
    cacheDir: resolveCacheDir(options.cacheDir, env, cwd),
    indexFlags: resolveIndexFlags(options, cwd),
    cwd,
    keepTemp: options.keepTemp ?? false,
    cache: options.cache ?? true,
    remoteCache: options.cache === false ? null : resolveRemoteCache(options, env),
    layer: options.layer ?? false,
    withLayers: await resolveLayerPaths(options.withLayers ?? [], cwd),
    cacheMaxBytes: sizeOption(options.cacheMaxSize ?? env.PYSLIM_CACHE_MAX_SIZE, '--cache-max-size') ?? DEFAULT_CACHE_MAX_BYTES,
    botoServices: resolveBotoServicesOption(options.botoServices),
    excludeRuntimePackages: options.excludeRuntimePackages ?? false,
    strip: options.strip === undefined ? null : resolveChoice(options.strip, STRIP_MODES, 'debug', '--strip'),
    verify: options.verify ?? true,
    handler: resolveHandler(options.handler),
    verifySkip: options.verifySkip ?? [],
    bytecode: options.bytecode === undefined ? undefined : resolveChoice(options.bytecode, BYTECODE_MODES, 'compile', '--bytecode'),
    profile: options.profile ?? false,
    profileRuns: resolveRuns(options.profileRuns),
    advise: options.advise ? resolveAdviseConfig({ memory: options.adviseMemory, runs: options.adviseRuns, timeout: options.adviseTimeout }) : null,
    ownOutputs: [out, ...(options.reportPaths ?? []).map((p) => path.resolve(cwd, p))],
    env,
  };
}

/**
 * The remote cache: s3://bucket/prefix, the endpoint (flag, then $AWS_ENDPOINT_URL_S3, then
 * $AWS_ENDPOINT_URL), the region ($AWS_REGION, then $AWS_DEFAULT_REGION, else the SDK's profile
 * chain). The signing key and static credentials are read from the environment here and kept
 * behind functions, so no report or log of the configuration can hold them.
 */
export function resolveRemoteCache(options: Pick<BuildOptions, 'remoteCache' | 'remoteCacheEndpoint' | 'remoteCacheReadOnly' | 'remoteCacheTimeout'>, env: Readonly<Record<string, string | undefined>>): RemoteCacheConfig | null {
  if (options.remoteCache === undefined || options.remoteCache === '') return null;
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(options.remoteCache);
  if (!match) {
    throw new PyslimError('INVALID_OPTION', `invalid --remote-cache "${options.remoteCache}"`, { hint: 'Use s3://bucket or s3://bucket/prefix' });
  }
  const endpoint = options.remoteCacheEndpoint || env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || null;
  if (endpoint !== null && !/^https?:\/\/[^/\s]+/.test(endpoint)) {
    throw new PyslimError('INVALID_OPTION', `invalid --remote-cache-endpoint "${endpoint}"`, { hint: 'Use an http:// or https:// URL, e.g. http://127.0.0.1:9000' });
  }
  const timeout = options.remoteCacheTimeout ?? 30;
  if (!Number.isFinite(timeout) || timeout <= 0) {
    throw new PyslimError('INVALID_OPTION', `invalid --remote-cache-timeout "${timeout}"`, { hint: 'Use a number of seconds, e.g. 30' });
  }
  const signingKey = env.PYSLIM_CACHE_SIGNING_KEY || undefined;
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken } = env;
  const credentials = accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } : undefined;
  return {
    url: options.remoteCache,
    bucket: match[1]!,
    prefix: (match[2] ?? '').replace(/^\/+|\/+$/g, ''),
    endpoint,
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || null,
    readOnly: options.remoteCacheReadOnly ?? false,
    timeoutMs: Math.round(timeout * 1000),
    signingKey: () => signingKey,
    credentials: () => credentials,
  };
}

/** Accepts repeated values and comma-separated lists: --boto-services s3,dynamodb --boto-services sqs. */
function resolveBotoServicesOption(values: string[] | undefined): string[] | null {
  if (values === undefined) return null;
  const services = values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  if (services.length === 0) throw new PyslimError('INVALID_OPTION', '--boto-services lists no service', { hint: 'Pass client names, e.g. --boto-services s3,dynamodb' });
  return services;
}

export function resolveRuns(value: number | undefined): number {
  if (value === undefined) return 5;
  if (Number.isInteger(value) && value >= 1 && value <= 100) return value;
  throw new PyslimError('INVALID_OPTION', `invalid --runs "${value}"`, { hint: 'Use a whole number from 1 to 100' });
}

export function resolveHandler(value: string | undefined): string | undefined {
  if (value === undefined || /^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$/.test(value)) return value;
  throw new PyslimError('INVALID_OPTION', `invalid --handler "${value}"`, { hint: 'Use module.function as in the Lambda configuration, e.g. app.handler' });
}

function resolveContainerUser(value: string | undefined): string {
  if (value === undefined) return `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`;
  if (/^\d+(:\d+)?$/.test(value)) return value;
  throw new PyslimError('INVALID_OPTION', `invalid --container-user "${value}"`, { hint: 'Use numeric uid:gid, e.g. 1000:1000, or 0:0 for rootless engines' });
}

function resolveTimeout(seconds: number | undefined): number {
  if (seconds === undefined) return 1_800_000;
  if (Number.isFinite(seconds) && seconds > 0) return Math.round(seconds * 1000);
  throw new PyslimError('INVALID_OPTION', `invalid --container-timeout "${seconds}"`, { hint: 'Use a number of seconds, e.g. 600' });
}

/** The XDG cache convention: $PYSLIM_CACHE_DIR, else $XDG_CACHE_HOME/pyslim, else ~/.cache/pyslim. */
export function resolveCacheDir(value: string | undefined, env: Readonly<Record<string, string | undefined>>, cwd: string): string {
  if (value) return path.resolve(cwd, value);
  if (env.PYSLIM_CACHE_DIR) return path.resolve(cwd, env.PYSLIM_CACHE_DIR);
  const base = env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), '.cache');
  return path.join(base, 'pyslim');
}

/** Local paths among the index flags are made absolute here, once; URLs stay as they are. */
function resolveIndexFlags(options: BuildOptions, cwd: string): Partial<IndexConfig> {
  const local = (value: string) => (/^[a-z][a-z0-9+.-]*:/i.test(value) ? value : path.resolve(cwd, value));
  const flags: Partial<IndexConfig> = {};
  if (options.indexUrl) flags.indexUrl = options.indexUrl;
  if (options.extraIndexUrls?.length) flags.extraIndexUrls = options.extraIndexUrls;
  if (options.findLinks?.length) flags.findLinks = options.findLinks.map(local);
  if (options.trustedHosts?.length) flags.trustedHosts = options.trustedHosts;
  if (options.constraints?.length) flags.constraints = options.constraints.map(local);
  return flags;
}

async function resolveLayerPaths(files: readonly string[], cwd: string): Promise<string[]> {
  const resolved = files.map((f) => path.resolve(cwd, f));
  for (const file of resolved) {
    if (!(await statOrUndefined(file))?.isFile()) {
      throw new PyslimError('FILE_NOT_FOUND', `layer not found: ${file}`, { hint: 'Pass --with-layer a layer zip, or the --json report of its build' });
    }
  }
  return resolved;
}

function sizeOption(value: number | string | undefined, option: string): number | null {
  if (value === undefined) return null;
  return typeof value === 'number' ? checkedBytes(value) : parseSize(value, option);
}

/** `numpy=30MB` pairs (or an object): the package's unzipped size after trimming. */
function resolvePackageBudgets(value: BuildOptions['budgetPackages']): BudgetLimits['packages'] {
  if (value === undefined) return [];
  const pairs = Array.isArray(value)
    ? value.map((pair) => {
        const eq = pair.indexOf('=');
        if (eq <= 0) throw new PyslimError('INVALID_SIZE', `invalid --budget-package "${pair}"`, { hint: 'Use name=size, e.g. --budget-package numpy=30MB' });
        return [pair.slice(0, eq).trim(), pair.slice(eq + 1).trim()] as const;
      })
    : Object.entries(value);
  return pairs.map(([name, size]) => ({ name, limitBytes: typeof size === 'number' ? checkedBytes(size) : parseSize(size, `budget for ${name}`) }));
}

function checkedBytes(value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new PyslimError('INVALID_SIZE', `invalid budget ${value}`, { hint: 'Use a positive number of bytes' });
  }
  return value;
}
