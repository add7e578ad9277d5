/** The options of `build()`: what a caller (the CLI, a config file entry, a script) may ask for. */
import type { Exec } from '../exec.js';
import type { BytecodeMode, InstallerChoice, PruneProfile, StripMode } from './modes.js';
import type { ProgressEvent } from './progress.js';

/** Options of `build()`. Every field is optional; the CLI flags map onto them one to one. */
export interface BuildOptions {
  /** Folder with the handler code. Default: the working directory. */
  dir?: string;
  /**
   * The dependency file: requirements.txt, pyproject.toml, uv.lock or poetry.lock. Default: the
   * first of those found in `dir` (a lockfile beside its pyproject.toml); without one only the
   * source is packaged.
   */
  requirements?: string;
  /** Optional-dependency extras or dependency groups to include (dev groups are left out unless named). */
  groups?: string[];
  /** Lambda runtime, python3.9 … python3.14. Default python3.12. */
  runtime?: string;
  /** x86_64 (default, as on Lambda) or arm64. */
  arch?: string;
  /** auto (a container when an engine answers, else local), local or docker. */
  installer?: InstallerChoice;
  /** Output zip. Default: dist/function.zip. */
  out?: string;
  /** Fail (budget exceeded) when the zip is larger: bytes, or a size such as "10MB" or "50MiB". */
  budget?: number | string;
  /** Fail when the unzipped content, layers included, is larger. */
  budgetUnzipped?: number | string;
  /** Per-package limits on the unzipped size after trimming: { numpy: '30MB' } or ['numpy=30MB']. */
  budgetPackages?: Record<string, number | string> | string[];
  /** Unzipped size of the layers the function runs with, counted in --budget-unzipped and Lambda's 250 MiB limit. */
  layersSize?: number | string;
  /** Extra prune globs, matched against paths inside the zip (.gitignore style). */
  exclude?: string[];
  /** Globs protected from every prune rule, --exclude included. */
  keep?: string[];
  /** Prune profile: none, safe (default) or aggressive. */
  prune?: PruneProfile;
  /** The host Python that runs pip for the local installer. Default: pythonX.Y, python3, python. */
  python?: string;
  /** Container engine command for the container installer: docker, podman, or a path. Default: $PYSLIM_CONTAINER_CLI, else docker, then podman. */
  containerCli?: string;
  /** Image for the container installer. Default: public.ecr.aws/lambda/python:<version>-<arch>. */
  image?: string;
  /** uid:gid the container runs as. Default: the caller's, so files on the host belong to them; 0:0 suits rootless engines. */
  containerUser?: string;
  /** Seconds before a container is stopped. Default 1800. */
  containerTimeout?: number;
  /** pyslim's cache folder (the container installer keeps pip's cache in <cacheDir>/pip). Default: $PYSLIM_CACHE_DIR, else $XDG_CACHE_HOME/pyslim, else ~/.cache/pyslim. */
  cacheDir?: string;
  /** Package index (replaces PyPI) for pip, local or in the container. */
  indexUrl?: string;
  extraIndexUrls?: string[];
  /** Wheel folders or URLs for pip. */
  findLinks?: string[];
  trustedHosts?: string[];
  /** Constraint files for pip. */
  constraints?: string[];
  /** Keep the build's temp folder (its path is in report.workDir), for debugging. */
  keepTemp?: boolean;
  /** Reuse installed, pruned and compressed dependencies across builds. Default true. */
  cache?: boolean;
  /** Write a Lambda layer instead of a function zip: everything under python/ (Lambda's /opt/python). */
  layer?: boolean;
  /** Layers the function runs with (their zips, or the --json reports of their builds): packages they provide are left out. */
  withLayers?: string[];
  /**
   * A remote cache shared by CI runners: s3://bucket/prefix. On a local miss the layer is looked
   * up there (and used only when its signature and SHA-256 verify); after a miss it is uploaded.
   * Entries are signed with $PYSLIM_CACHE_SIGNING_KEY; credentials and region come from the AWS
   * SDK's standard chain. Needs the local cache (ignored with cache: false).
   */
  remoteCache?: string;
  /** An S3-compatible endpoint for the remote cache. Default: $AWS_ENDPOINT_URL_S3, else $AWS_ENDPOINT_URL, else AWS. */
  remoteCacheEndpoint?: string;
  /** Download from the remote cache, never upload (the mode for pull requests). */
  remoteCacheReadOnly?: boolean;
  /** Seconds one remote request may take before the remote cache is given up for the build. Default 30. */
  remoteCacheTimeout?: number;
  /** Cap on the cache's size; least-recently used entries go first. Default 5GiB (or $PYSLIM_CACHE_MAX_SIZE). */
  cacheMaxSize?: number | string;
  /** Keep only these AWS services' botocore models (client names as in boto3.client('s3')). */
  botoServices?: string[];
  /** Leave out boto3, botocore, s3transfer, jmespath (and python-dateutil, six, urllib3 when nothing else needs them): the runtime provides them. */
  excludeRuntimePackages?: boolean;
  /** Strip installed shared objects: 'debug' (--strip-debug) or 'unneeded' (--strip-unneeded). */
  strip?: StripMode;
  /** Import every shipped module (and the handler) before writing the zip. Default true. */
  verify?: boolean;
  /** The handler as module.function, checked by the import check. */
  handler?: string;
  /** Modules the import check leaves out (they cannot import outside Lambda, or by design). */
  verifySkip?: string[];
  /** none, compile (unchecked-hash .pyc beside the sources) or only (sourceless .pyc). Default: compile when an interpreter matching the runtime is available, else none. */
  bytecode?: BytecodeMode;
  /** Measure what the handler's import costs at init, per package (needs the handler). */
  profile?: boolean;
  /** Fresh interpreters the profile imports in; the report shows the median. Default 5. */
  profileRuns?: number;
  /** Run the cold-start advisor on the zip (init per memory setting, the function's slowest lines, checks on its code); needs the handler. */
  advise?: boolean;
  /** Memory settings the advisor measures, in MB. Default 128, 256, 512, 1024, 1769, 3008. */
  adviseMemory?: (number | string)[];
  /** Fresh interpreters per memory setting. Default 3. */
  adviseRuns?: number;
  /** Seconds an import of the handler may take at the host's full CPU before the advisor stops it. Default 60. */
  adviseTimeout?: number;
  /** Files the caller writes next to the build (e.g. the JSON report); they are never packaged. */
  reportPaths?: string[];
  /** Base for relative paths. Default: process.cwd(). */
  cwd?: string;
  /** The environment to read configuration from and pass to pip. Default: process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Aborting stops the build: subprocesses are killed, temp files removed, no output written. */
  signal?: AbortSignal;
  onProgress?: (event: ProgressEvent) => void;
  /** The subprocess seam. Tests that cannot run a real program pass a recorder here. */
  exec?: Exec;
}
