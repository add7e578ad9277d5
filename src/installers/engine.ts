/**
 * The container engine: finding one that answers, and turning its failures into one line that
 * says what to do. Docker and Podman print different words for the same problems; the patterns
 * below come from both (Podman's were recorded in docker/test-engine/FINDINGS.md).
 */
import { PyslimError } from '../errors.js';
import { lastLines, type Exec, type ExecResult } from '../exec.js';
import { redact } from '../redact.js';
import { ARCHITECTURES, type ArchName } from '../runtimes.js';

export type EngineKind = 'docker' | 'podman' | 'other';

export interface Engine {
  /** The command, as configured: docker, podman, or a path. */
  cli: string;
  kind: EngineKind;
  version: string;
}

/** Engines tried, in order, when none is configured. */
export const DEFAULT_ENGINES = ['docker', 'podman'] as const;

const FIX_LOCAL = 'or build with --installer local';

/** The engine's kind, from its `--version` line ("Docker version 28.2.2", "podman version 4.3.1"). */
export function engineKind(versionOutput: string): EngineKind {
  if (/^podman/i.test(versionOutput.trim())) return 'podman';
  if (/^docker/i.test(versionOutput.trim())) return 'docker';
  return 'other';
}

/**
 * Asks an engine whether it can run containers: `version` reaches the Docker daemon (and opens
 * Podman's storage), which `--version` does not. Throws the diagnosed failure.
 */
export async function probeEngine(cli: string, exec: Exec, env: Readonly<Record<string, string | undefined>>): Promise<Engine> {
  const identify = await exec(cli, ['--version'], { env, timeoutMs: 15_000 });
  if (identify.spawnError || identify.exitCode !== 0) throw diagnoseEngineFailure(identify, cli);
  const kind = engineKind(identify.stdout);
  const probe = await exec(cli, ['version', '--format', kind === 'podman' ? '{{.Client.Version}}' : '{{.Server.Version}}'], {
    env,
    timeoutMs: 30_000,
  });
  if (probe.exitCode !== 0) throw diagnoseEngineFailure(probe, cli);
  return { cli, kind, version: probe.stdout.trim() || identify.stdout.trim() };
}

/** Failures of the engine itself: not installed, daemon down, socket permissions, broken setup. */
export function diagnoseEngineFailure(result: ExecResult, cli: string): PyslimError {
  const output = redact(`${result.stderr}\n${result.stdout}`);
  const details = lastLines(output, 15);
  if (result.spawnError === 'ENOENT') {
    return new PyslimError('ENGINE_MISSING', `container engine "${cli}" is not installed (not found on PATH)`, {
      hint: `Install Docker or Podman, pick another with --container-cli, ${FIX_LOCAL}`,
    });
  }
  if (result.spawnError) {
    return new PyslimError('ENGINE_MISSING', `cannot run container engine "${cli}" (${result.spawnError})`, {
      hint: `Check --container-cli, ${FIX_LOCAL}`,
    });
  }
  if (/permission denied[^\n]*(docker|\.sock)/i.test(output)) {
    return new PyslimError('ENGINE_UNAVAILABLE', `permission denied on the ${cli} daemon's socket`, {
      hint: `Add your user to the docker group (sudo usermod -aG docker $USER, then log in again), use rootless Podman, ${FIX_LOCAL}`,
      details,
    });
  }
  if (/Cannot connect to the Docker daemon|Is the docker daemon running|error during connect|connection refused/i.test(output)) {
    return new PyslimError('ENGINE_UNAVAILABLE', `the ${cli} daemon is not running (${firstLine(output, /Cannot connect[^\n]*|error during connect[^\n]*|connection refused[^\n]*/i)})`, {
      hint: `Start it (e.g. sudo systemctl start docker), ${FIX_LOCAL}`,
      details,
    });
  }
  return new PyslimError('ENGINE_UNAVAILABLE', `container engine "${cli}" does not answer: ${firstLine(output, /Error: [^\n]*|error[^\n]*/i) || `exit ${result.exitCode}`}`, {
    hint: `Check its setup (${cli} info), ${FIX_LOCAL}`,
    details,
  });
}

function firstLine(text: string, pattern: RegExp): string {
  return (pattern.exec(text)?.[0] ?? '').trim();
}

export interface RunFailureContext {
  cli: string;
  image: string;
  arch: ArchName;
  /** Whether the script inside the container started (it prints a marker first). */
  scriptStarted: boolean;
  timeoutMs: number;
  /** Asks the engine which architecture a local image has, to explain "image not known" for a foreign platform. */
  localImageArch: () => Promise<string | undefined>;
}

/**
 * Failures of `run` that happen before or around the script: missing image, no emulation,
 * killed or timed out. Returns undefined when the failure came from the script itself (pip).
 */
export async function diagnoseRunFailure(result: ExecResult, context: RunFailureContext): Promise<PyslimError | undefined> {
  const output = redact(`${result.stderr}\n${result.stdout}`);
  const details = lastLines(output, 20);
  const { cli, image, arch } = context;
  const platform = ARCHITECTURES[arch].containerPlatform;
  if (result.timedOut) {
    return new PyslimError('CONTAINER_KILLED', `the build container timed out after ${Math.round(context.timeoutMs / 1000)} s and was removed`, {
      hint: 'Raise --container-timeout, or check that pip can reach its index from inside the container',
      details,
    });
  }
  if (result.spawnError) return diagnoseEngineFailure(result, cli);
  if (/exec format error/i.test(output)) {
    return new PyslimError('EMULATION_MISSING', `the ${arch} image ${image} cannot run on this host: exec format error (no emulation for ${platform})`, {
      hint: `Install QEMU binfmt handlers (docker run --privileged --rm tonistiigi/binfmt --install ${ARCHITECTURES[arch].wheelArch === 'aarch64' ? 'arm64' : 'amd64'}, or apt-get install qemu-user-static binfmt-support), or build on a ${arch} machine`,
      details,
    });
  }
  if (result.exitCode === 137 || result.signal === 'SIGKILL') {
    return new PyslimError('CONTAINER_KILLED', 'the build container was killed (exit 137: out of memory, or stopped from outside)', {
      hint: 'Give the engine more memory, or run the build again',
      details,
    });
  }
  if (context.scriptStarted) return undefined;
  if (/image not known|No such image|Unable to find image|pull access denied|manifest unknown|repository does not exist|not found: manifest|pinging container registry|failed to resolve reference|no matching manifest/i.test(output)) {
    const localArch = await context.localImageArch();
    const wanted = platform.split('/')[1];
    if (localArch && localArch !== wanted) {
      return new PyslimError('EMULATION_MISSING', `image ${image} is only available for ${localArch} here, and this build needs ${platform}`, {
        hint: `Pull the ${arch} image (${cli} pull --platform ${platform} ${image}); on an ${localArch === 'amd64' ? 'x86_64' : localArch} host this also needs QEMU binfmt emulation (apt-get install qemu-user-static binfmt-support)`,
        details,
      });
    }
    return new PyslimError('IMAGE_MISSING', `image ${image} is not available locally and could not be pulled`, {
      hint: `Pull it (${cli} pull --platform ${platform} ${image}), pass --image <ref>, or build with --installer local`,
      details,
    });
  }
  if (result.exitCode !== undefined && result.exitCode >= 125 && /Error:|error/i.test(output)) {
    return diagnoseEngineFailure(result, cli);
  }
  return new PyslimError('CONTAINER_KILLED', `the build container stopped before running pip (exit ${result.exitCode ?? result.signal})`, {
    hint: `Run with --debug to see the engine's output; check that ${image} has /bin/sh and python3`,
    details,
  });
}
