/**
 * The container installer's exact argv at the subprocess seam. The engine itself runs for real in
 * test/integration/container.test.ts; here a recording fake stands in for it, because the argv
 * and the failure modes a Docker daemon produces (socket permissions, exec format error) cannot
 * be produced on these machines.
 */
import { describe, expect, it } from 'vitest';
import { SCRIPTS_DIR } from '../../src/assets.js';
import { containerRunArgs, createContainerInstaller, type ContainerSettings } from '../../src/installers/container.js';
import { probeEngine } from '../../src/installers/engine.js';
import { forwardIndexConfig, parsePipConfigList, mergeIndexConfig } from '../../src/installers/index-config.js';
import { fakeExec, rejection } from '../helpers/fake-exec.js';
import { scratchFolders } from '../helpers/lambda.js';

const { scratch } = scratchFolders();

const PIP_CONFIG = `:env:.default-timeout='180'
:env:.find-links='/opt/wheels'
global.cert='/etc/ssl/certs/ca-certificates.crt'
global.constraint='/etc/xdg/pip/constraints.txt'
global.extra-index-url='file:///opt/pypi/simple file:///opt/pypi-more/simple'
global.find-links='/opt/wheels-old'
global.index-url='https://ci:s3cr3t-token@pypi.corp.example/simple'`;

function settings(overrides: Partial<ContainerSettings> = {}): ContainerSettings {
  const index = forwardIndexConfig(parsePipConfigList(PIP_CONFIG), '/work');
  return {
    engine: { cli: 'podman', kind: 'podman', version: '4.3.1' },
    image: 'public.ecr.aws/lambda/python:3.12-arm64',
    runtime: 'python3.12',
    arch: 'arm64',
    user: '1000:1000',
    pipCacheDir: '/home/u/.cache/pyslim/pip',
    index,
    timeoutMs: 60_000,
    env: { PATH: '/usr/bin', PIP_RETRIES: '0' },
    reason: 'test',
    ...overrides,
  };
}

describe('host pip configuration', () => {
  it('reads `pip config list`, the environment winning over [global]', () => {
    expect(parsePipConfigList(PIP_CONFIG)).toEqual({
      indexUrl: 'https://ci:s3cr3t-token@pypi.corp.example/simple',
      extraIndexUrls: ['file:///opt/pypi/simple', 'file:///opt/pypi-more/simple'],
      findLinks: ['/opt/wheels'],
      trustedHosts: [],
      constraints: ['/etc/xdg/pip/constraints.txt'],
      noIndex: false,
      cert: '/etc/ssl/certs/ca-certificates.crt',
    });
  });

  it("lets pyslim's flags replace the host's values key by key", () => {
    const merged = mergeIndexConfig(parsePipConfigList(PIP_CONFIG), { findLinks: ['/w/wheels'], indexUrl: 'https://other/simple' });
    expect(merged.findLinks).toEqual(['/w/wheels']);
    expect(merged.indexUrl).toBe('https://other/simple');
    expect(merged.extraIndexUrls).toEqual(['file:///opt/pypi/simple', 'file:///opt/pypi-more/simple']);
  });

  it('mounts local indexes (with their parent, where index pages link to) and rewrites their paths', () => {
    const { env, mounts } = forwardIndexConfig(parsePipConfigList(PIP_CONFIG), '/work');
    expect(env).toEqual({
      PIP_INDEX_URL: 'https://ci:s3cr3t-token@pypi.corp.example/simple',
      PIP_EXTRA_INDEX_URL: 'file:///pyslim/host/opt/pypi/simple file:///pyslim/host/opt/pypi-more/simple',
      PIP_FIND_LINKS: '/pyslim/host/opt/wheels',
      PIP_CONSTRAINT: '/pyslim/host/etc/xdg/pip/constraints.txt',
      PIP_CERT: '/pyslim/host/etc/ssl/certs/ca-certificates.crt',
    });
    expect(mounts.map((m) => `${m.hostPath}:${m.containerPath}:${m.readOnly ? 'ro' : 'rw'}`)).toEqual([
      '/opt/pypi:/pyslim/host/opt/pypi:ro',
      '/opt/pypi-more:/pyslim/host/opt/pypi-more:ro',
      '/opt/wheels:/pyslim/host/opt/wheels:ro',
      '/etc/xdg/pip/constraints.txt:/pyslim/host/etc/xdg/pip/constraints.txt:ro',
      '/etc/ssl/certs/ca-certificates.crt:/pyslim/host/etc/ssl/certs/ca-certificates.crt:ro',
    ]);
  });

  it('resolves a relative find-links folder against the working directory', () => {
    const { env, mounts } = forwardIndexConfig({ ...parsePipConfigList(''), findLinks: ['./wheels'] }, '/work/app');
    expect(env.PIP_FIND_LINKS).toBe('/pyslim/host/work/app/wheels');
    expect(mounts[0]).toEqual({ hostPath: '/work/app/wheels', containerPath: '/pyslim/host/work/app/wheels', readOnly: true });
  });
});

describe('container run argv', () => {
  it('passes platform, entrypoint, user, mounts and env exactly', async () => {
    const { exec, calls } = fakeExec([[/ run /, { exitCode: 0, stderr: 'pyslim-install: running pip with /var/lang/bin/python3 3.12\n' }]]);
    const installer = createContainerInstaller(settings(), exec);
    const target = scratch();
    await installer.install({
      requirementsFile: '/proj/fn/requirements.txt',
      requireHashes: false,
      localPaths: [],
      targetDir: target,
      scratchDir: target,
      runtime: 'python3.12',
      arch: 'arm64',
    });
    const run = calls.find((c) => c.args[0] === 'run')!;
    expect(run.command).toBe('podman');
    const args = [...run.args];
    const name = args[3]!;
    expect(name).toMatch(/^pyslim-\d+-[0-9a-f]{8}$/);
    expect(args).toEqual([
      'run', '--rm', '--name', name,
      '--platform', 'linux/arm64',
      '--entrypoint', '/bin/sh',
      '--user', '1000:1000',
      '--passwd=false',
      '--workdir', '/tmp',
      '--volume', `${SCRIPTS_DIR}:/pyslim/scripts:ro`,
      '--volume', `${target}:/pyslim/out`,
      '--volume', '/proj/fn:/pyslim/req:ro',
      '--volume', '/home/u/.cache/pyslim/pip:/pyslim/pip-cache',
      '--volume', '/opt/pypi:/pyslim/host/opt/pypi:ro',
      '--volume', '/opt/pypi-more:/pyslim/host/opt/pypi-more:ro',
      '--volume', '/opt/wheels:/pyslim/host/opt/wheels:ro',
      '--volume', '/etc/xdg/pip/constraints.txt:/pyslim/host/etc/xdg/pip/constraints.txt:ro',
      '--volume', '/etc/ssl/certs/ca-certificates.crt:/pyslim/host/etc/ssl/certs/ca-certificates.crt:ro',
      '--env', 'HOME=/tmp',
      '--env', 'PIP_CACHE_DIR=/pyslim/pip-cache',
      '--env', 'PIP_DISABLE_PIP_VERSION_CHECK=1',
      '--env', 'PIP_NO_INPUT=1',
      '--env', 'PIP_INDEX_URL',
      '--env', 'PIP_EXTRA_INDEX_URL',
      '--env', 'PIP_FIND_LINKS',
      '--env', 'PIP_CONSTRAINT',
      '--env', 'PIP_CERT',
      '--env', 'PIP_RETRIES',
      'public.ecr.aws/lambda/python:3.12-arm64',
      '/pyslim/scripts/install.sh', '/pyslim/req/requirements.txt', '/pyslim/out',
    ]);
    // Credentials travel in the engine's environment, never in argv.
    expect(args.join(' ')).not.toContain('s3cr3t');
    expect(run.options.env?.PIP_INDEX_URL).toBe('https://ci:s3cr3t-token@pypi.corp.example/simple');
  });

  it('adds no podman-only flag for docker, and no network for script runs', () => {
    const args = containerRunArgs(settings({ engine: { cli: 'docker', kind: 'docker', version: '28' }, arch: 'x86_64' }), {
      name: 'n',
      mounts: [],
      env: {},
      envByName: [],
      network: 'none',
      command: ['/pyslim/scripts/python.sh', '-c', '1'],
    });
    expect(args).toEqual(['run', '--rm', '--name', 'n', '--platform', 'linux/amd64', '--entrypoint', '/bin/sh', '--user', '1000:1000', '--network', 'none', '--workdir', '/tmp', 'public.ecr.aws/lambda/python:3.12-arm64', '/pyslim/scripts/python.sh', '-c', '1']);
  });
});

describe('diagnosis of failures that cannot be produced here (fake engine)', () => {
  it('permission denied on the Docker socket', async () => {
    const { exec } = fakeExec([
      [/--version/, { stdout: 'Docker version 28.2.2, build e6534b4' }],
      [/ version/, { exitCode: 1, stderr: 'permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: Get "http://%2Fvar%2Frun%2Fdocker.sock/v1.50/version": dial unix /var/run/docker.sock: connect: permission denied' }],
    ]);
    const error = await rejection(probeEngine('docker', exec, {}));
    expect(error.code).toBe('ENGINE_UNAVAILABLE');
    expect(error.line).toBe("permission denied on the docker daemon's socket. Add your user to the docker group (sudo usermod -aG docker $USER, then log in again), use rootless Podman, or build with --installer local");
  });

  it('exec format error names the binfmt/QEMU remedy', async () => {
    const { exec } = fakeExec([[/ run /, { exitCode: 1, stderr: 'exec /bin/sh: exec format error' }]]);
    const installer = createContainerInstaller(settings({ engine: { cli: 'docker', kind: 'docker', version: '28' } }), exec);
    const target = scratch();
    const error = await rejection(installer.install({ requirementsFile: '/p/requirements.txt', requireHashes: false, localPaths: [], targetDir: target, scratchDir: target, runtime: 'python3.12', arch: 'arm64' }));
    expect(error.code).toBe('EMULATION_MISSING');
    expect(error.line).toMatch(/arm64 image .* cannot run on this host: exec format error.*tonistiigi\/binfmt --install arm64.*qemu-user-static/);
  });

  it('masks credentials that pip echoes from inside the container', async () => {
    const { exec } = fakeExec([
      [
        / run /,
        {
          exitCode: 1,
          stderr: 'pyslim-install: running pip with /usr/bin/python3 3.12\nLooking in indexes: https://ci:s3cr3t-token@pypi.corp.example/simple\nERROR: Could not find a version that satisfies the requirement nope==1 (from versions: none)\nERROR: No matching distribution found for nope==1',
        },
      ],
    ]);
    const installer = createContainerInstaller(settings(), exec);
    const target = scratch();
    const error = await rejection(installer.install({ requirementsFile: '/p/requirements.txt', requireHashes: false, localPaths: [], targetDir: target, scratchDir: target, runtime: 'python3.12', arch: 'arm64' }));
    expect(error.code).toBe('UNRESOLVABLE');
    expect(error.line).toContain('nope==1');
    expect(error.details).toContain('https://****@pypi.corp.example/simple');
    expect(`${error.line}${error.details}`).not.toContain('s3cr3t');
  });
});
