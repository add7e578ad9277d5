/**
 * The real container engine for the container tests: rootful podman set up by
 * docker/test-engine/setup.sh, with its config in $PYSLIM_TEST_ENGINE_DIR/env. Where no engine is
 * set up, the container tests say so and skip, except under PYSLIM_REQUIRE_ENGINE=1 (CI), where
 * a missing engine fails them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe } from 'vitest';

export const ENGINE_DIR = process.env.PYSLIM_TEST_ENGINE_DIR ?? '/var/tmp/pyslim-test-engine';
/** The stand-in image is Python 3.11 on amd64 (docker/test-engine/FINDINGS.md). */
export const ENGINE_RUNTIME = 'python3.11';

function loadEngineEnv(): { env: Record<string, string>; problem?: string } {
  const file = path.join(ENGINE_DIR, 'env');
  if (!existsSync(file)) return { env: {}, problem: `no ${file}: run docker/test-engine/setup.sh` };
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  const probe = spawnSync('podman', ['image', 'exists', 'public.ecr.aws/lambda/python:3.11-x86_64'], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  if (probe.error) return { env, problem: `podman cannot run: ${probe.error.message}` };
  if (probe.status !== 0) return { env, problem: 'the Lambda stand-in image is missing: run docker/test-engine/setup.sh' };
  return { env };
}

const loaded = loadEngineEnv();

/** CONTAINERS_CONF and CONTAINERS_STORAGE_CONF for podman and for pyslim's children. */
export const ENGINE_ENV: Record<string, string> = loaded.env;
export const ENGINE_PROBLEM = loaded.problem;

/** describe() for tests that need the real engine. */
export const describeWithEngine: typeof describe = (() => {
  if (!ENGINE_PROBLEM) return describe;
  if (process.env.PYSLIM_REQUIRE_ENGINE === '1') {
    // CI must not skip these: fail loudly instead.
    throw new Error(`container engine required (PYSLIM_REQUIRE_ENGINE=1) but unavailable: ${ENGINE_PROBLEM}`);
  }
  console.warn(`container tests skipped: ${ENGINE_PROBLEM}`);
  return describe.skip;
})() as typeof describe;

/** Runs podman with the test engine's configuration. */
export function podman(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('podman', args, { env: { ...process.env, ...ENGINE_ENV }, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Names of pyslim's containers that still exist (running or not). */
export function pyslimContainers(): string[] {
  return podman(['ps', '--all', '--format', '{{.Names}}'])
    .stdout.split('\n')
    .filter((name) => name.startsWith('pyslim-'));
}
