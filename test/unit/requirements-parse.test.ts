import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PyslimError } from '../../src/errors.js';
import { targetMarkers } from '../../src/installers/local.js';
import { logicalLines, parseRequirementsFile, resolveRequirements } from '../../src/inputs/requirements.js';
import { assertInstallable } from '../../src/inputs/resolve.js';
import { tempDir } from '../helpers/lambda.js';

const ENV = targetMarkers('python3.12', 'x86_64');
const H1 = `sha256:${'a'.repeat(64)}`;
const H2 = `sha256:${'b'.repeat(64)}`;
const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

/** Writes a tree of files and returns its root. */
function tree(files: Record<string, string>): string {
  const root = tempDir('pyslim-req-');
  roots.push(root);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    writeFileSync(path.join(root, name), text);
  }
  return root;
}

async function resolve(files: Record<string, string>, options: { env?: Record<string, string>; markers?: Record<string, string> } = {}) {
  const root = tree(files);
  const parsed = await parseRequirementsFile(path.join(root, 'requirements.txt'), { dir: root, env: options.env });
  return { root, parsed, resolved: resolveRequirements(parsed, options.markers ?? ENV) };
}

async function failure(files: Record<string, string>): Promise<PyslimError> {
  try {
    await resolve(files);
  } catch (error) {
    if (error instanceof PyslimError) return error;
    throw error;
  }
  throw new Error('expected a PyslimError');
}

describe('logicalLines (pip preprocessing)', () => {
  it.each([
    ['a\nb', [{ line: 1, content: 'a' }, { line: 2, content: 'b' }]],
    ['# only a comment\n\n  \nreq # trailing', [{ line: 4, content: 'req' }]],
    ['pkg @ https://h/p.whl#sha256=abc', [{ line: 1, content: 'pkg @ https://h/p.whl#sha256=abc' }]],
    ['a==1 \\\n  --hash=x \\\n  --hash=y\nb', [{ line: 1, content: 'a==1   --hash=x   --hash=y' }, { line: 4, content: 'b' }]],
    // A comment line ends the continuation (pip's join_lines).
    ['a==1 \\\n# note\nb', [{ line: 1, content: 'a==1' }, { line: 3, content: 'b' }]],
    ['a\r\nb\r\n', [{ line: 1, content: 'a' }, { line: 2, content: 'b' }]],
    ['trailing \\', [{ line: 1, content: 'trailing' }]],
  ])('%j', (text, expected) => {
    expect(logicalLines(text)).toEqual(expected);
  });

  it('expands ${VAR} from the given environment only when set', () => {
    expect(logicalLines('-i https://${USER_X}:${TOKEN}@h/simple', { TOKEN: 't0k' })).toEqual([{ line: 1, content: '-i https://${USER_X}:t0k@h/simple' }]);
    expect(logicalLines('${lower}')).toEqual([{ line: 1, content: '${lower}' }]);
  });
});

describe('requirements.txt', () => {
  it('flattens includes with hashes on continuation lines, markers evaluated for the target', async () => {
    const { root, resolved } = await resolve({
      'requirements.txt': [
        '# app requirements',
        '-r common/base.txt',
        '--requirement=common/extra.txt',
        'requests==2.32.3 \\',
        `    --hash=${H1} \\`,
        `    --hash ${H2}`,
        `tomli==2.0.1 ; python_version < "3.11" --hash=${H1}`,
        `pywin32==306; sys_platform == "win32" --hash=${H1}`,
      ].join('\n'),
      'common/base.txt': `-r ../shared.txt\nurllib3==2.2.3 --hash=${H1}\n`,
      'common/extra.txt': `idna==3.10 --hash=${H2}\n`,
      'shared.txt': `certifi==2024.8.30 --hash=${H1}\n`,
    });
    expect(resolved.kind).toBe('requirements.txt');
    expect(resolved.files).toEqual(['requirements.txt', 'common/base.txt', 'shared.txt', 'common/extra.txt'].map((f) => path.join(root, f)));
    expect(resolved.requirementsText).toBe(
      [`certifi==2024.8.30 --hash=${H1}`, `urllib3==2.2.3 --hash=${H1}`, `idna==3.10 --hash=${H2}`, `requests==2.32.3 --hash=${H1} --hash=${H2}`, ''].join('\n'),
    );
    expect(resolved.requireHashes).toBe(true);
    expect(resolved.pins).toEqual([
      { name: 'certifi', version: '2024.8.30' },
      { name: 'urllib3', version: '2.2.3' },
      { name: 'idna', version: '3.10' },
      { name: 'requests', version: '2.32.3' },
    ]);
  });

  it('keeps the lines whose markers hold, without the marker', async () => {
    const { resolved } = await resolve(
      { 'requirements.txt': 'tomli>=2; python_version < "3.11"\nexceptiongroup ; python_version<"3.11"\nboto3>=1.34 ; platform_machine == "aarch64"\nrequests[socks]>=2.31\n' },
      { markers: targetMarkers('python3.10', 'arm64') },
    );
    expect(resolved.requirementsText).toBe('tomli>=2\nexceptiongroup\nboto3>=1.34\nrequests[socks]>=2.31\n');
    expect(resolved.requireHashes).toBe(false);
    expect(resolved.pins).toEqual([]);
  });

  it('reads a file included twice once, and names the loop of a cycle', async () => {
    const { resolved } = await resolve({ 'requirements.txt': '-r a.txt\n-r b.txt\n', 'a.txt': '-r c.txt\n', 'b.txt': '-r c.txt\n', 'c.txt': 'six\n' });
    expect(resolved.requirementsText).toBe('six\n');

    const error = await failure({ 'requirements.txt': 'six\n-r a.txt\n', 'a.txt': '\n-r sub/b.txt\n', 'sub/b.txt': '-r ../a.txt\n' });
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.message).toBe('sub/b.txt:1: include cycle: a.txt → sub/b.txt → a.txt');
  });

  it('names the including line of a missing file', async () => {
    const error = await failure({ 'requirements.txt': 'six\n\n-r missing.txt\n' });
    expect(error.code).toBe('FILE_NOT_FOUND');
    expect(error.line).toMatch(/^dependency file not found: .*missing\.txt\. requirements\.txt:3 includes it/);
  });

  it('collects -c constraints and checks pins against them', async () => {
    const { resolved } = await resolve({ 'requirements.txt': '-c constraints.txt\nrequests==2.32.3\nboto3\n', 'constraints.txt': 'requests>=2.30,<3\nurllib3<2 ; python_version < "3.10"\nbotocore==1.35.0\n' });
    expect(resolved.constraintsText).toBe('requests>=2.30,<3\nbotocore==1.35.0\n');
    expect(resolved.requirementsText).toBe('requests==2.32.3\nboto3\n');

    const error = await failure({ 'requirements.txt': '--constraint c.txt\nrequests==2.32.3\n', 'c.txt': 'requests<2.32\n' });
    expect(error.message).toBe('requirements.txt:2: requests==2.32.3 is excluded by constraint requests<2.32 at c.txt:1');
  });

  it('refuses editable and unnamed constraints', async () => {
    const error = await failure({ 'requirements.txt': '-c c.txt\n', 'c.txt': '-e ./lib\n' });
    expect(error.message).toMatch(/^c\.txt:1: constraints must name a package/);
  });

  it('collects index options and passes --pre, --prefer-binary and --only-binary on', async () => {
    const { root, resolved } = await resolve(
      {
        'requirements.txt': [
          '--index-url https://${PYPI_USER}:${PYPI_TOKEN}@pypi.corp/simple',
          '--extra-index-url=https://extra.example/simple',
          '-f ./wheels',
          '--find-links https://example.com/links/',
          '--trusted-host pypi.corp',
          '--no-index',
          '--pre',
          '--prefer-binary',
          '--only-binary :all:',
          'six',
        ].join('\n'),
      },
      { env: { PYPI_TOKEN: 's3cret' } },
    );
    expect(resolved.pipOptions).toEqual({
      indexUrl: 'https://${PYPI_USER}:s3cret@pypi.corp/simple',
      extraIndexUrls: ['https://extra.example/simple'],
      findLinks: [path.join(root, 'wheels'), 'https://example.com/links/'],
      trustedHosts: ['pypi.corp'],
      noIndex: true,
    });
    expect(resolved.requirementsText).toBe('--pre\n--prefer-binary\n--only-binary=:all:\nsix\n');
  });

  it.each([
    ['--foo bar', 'UNSUPPORTED_INPUT', 'requirements.txt:2: unknown or unsupported option "--foo"'],
    ['--no-binary :all:', 'UNSUPPORTED_INPUT', 'requirements.txt:2: unsupported option "--no-binary"'],
    ['six --global-option=x', 'UNSUPPORTED_INPUT', 'requirements.txt:2: unsupported option "--global-option"'],
    ['six --index-url https://x/simple', 'UNSUPPORTED_INPUT', 'requirements.txt:2: --index-url cannot follow a requirement'],
    ['--hash=sha256:abc', 'INVALID_INPUT', 'requirements.txt:2: --hash must follow a requirement on the same line'],
    ['six==1.16 --hash=md5:0123', 'INVALID_INPUT', 'requirements.txt:2: invalid --hash "md5:0123"'],
    ['six==1.16 --hash=sha256:0123', 'INVALID_INPUT', 'requirements.txt:2: invalid --hash "sha256:0123"'],
    ['requests>=', 'INVALID_INPUT', 'requirements.txt:2: invalid version specifier ">=" in "requests>="'],
    ['requests; python_version >', 'INVALID_INPUT', 'requirements.txt:2: unexpected end in marker "python_version >"'],
    ['-i', 'INVALID_INPUT', 'requirements.txt:2: -i needs a value'],
    ['--pre=yes', 'INVALID_INPUT', 'requirements.txt:2: --pre takes no value'],
    ['-r https://example.com/reqs.txt', 'UNSUPPORTED_INPUT', 'requirements.txt:2: included file is a URL: https://example.com/reqs.txt'],
    ['-e requests', 'INVALID_INPUT', 'requirements.txt:2: -e requests is neither a local folder nor a VCS URL'],
    ['six; platform_release >= "5"', 'UNSUPPORTED_INPUT', 'requirements.txt:2: marker variable "platform_release" is not known for the target'],
  ])('rejects %j', async (line, code, message) => {
    const error = await failure({ 'requirements.txt': `six\n${line}\n` });
    expect(error.code).toBe(code);
    if (message) expect(error.message).toBe(message);
    expect(error.hint).toBeTruthy();
  });

  it('reports local paths and VCS requirements apart from the pip text', async () => {
    const { root, resolved } = await resolve({
      'sub/requirements.txt': '',
      'requirements.txt': [
        '-e ./lib',
        '--editable=file:../shared#egg=shared',
        './vendor/tool-1.0-py3-none-any.whl',
        'mylib @ file:///opt/src/mylib',
        './plugins/s3[boto] ; sys_platform == "linux"',
        'git+https://github.com/org/gitpkg@v1.2#egg=gitpkg',
        '-e git+ssh://git@github.com/org/editable.git#egg=editable',
        'named @ git+https://github.com/org/named@abc123 ; python_version >= "3.9"',
        'winonly @ git+https://github.com/org/win ; sys_platform == "win32"',
        'https://example.com/dl/direct_pkg-2.0-py3-none-any.whl#sha256=' + 'c'.repeat(64),
        'six==1.16.0',
      ].join('\n'),
    });
    expect(resolved.localPaths).toEqual([
      { path: path.join(root, 'lib'), editable: true, line: 'requirements.txt:1' },
      { name: 'shared', path: path.resolve(root, '../shared'), editable: true, line: 'requirements.txt:2' },
      { path: path.join(root, 'vendor/tool-1.0-py3-none-any.whl'), editable: false, line: 'requirements.txt:3' },
      { name: 'mylib', path: '/opt/src/mylib', editable: false, line: 'requirements.txt:4' },
      { path: path.join(root, 'plugins/s3'), editable: false, extras: ['boto'], line: 'requirements.txt:5' },
    ]);
    expect(resolved.vcs).toEqual([
      { name: 'gitpkg', url: 'git+https://github.com/org/gitpkg@v1.2#egg=gitpkg', line: 'requirements.txt:6' },
      { name: 'editable', url: 'git+ssh://git@github.com/org/editable.git#egg=editable', line: 'requirements.txt:7' },
      { name: 'named', url: 'git+https://github.com/org/named@abc123', line: 'requirements.txt:8' },
    ]);
    expect(resolved.requirementsText).toBe(`https://example.com/dl/direct_pkg-2.0-py3-none-any.whl#sha256=${'c'.repeat(64)}\nsix==1.16.0\n`);
    expect(resolved.pins).toEqual([{ name: 'six', version: '1.16.0' }]);

    expect(() => assertInstallable(resolved, 'local')).toThrow(
      expect.objectContaining({ code: 'UNSUPPORTED_INPUT', message: expect.stringMatching(/^requirements\.txt:6: gitpkg comes from version control/) }),
    );
    expect(() => assertInstallable(resolved, 'docker')).not.toThrow();
  });

  it('checks hash-checking mode before pip does', async () => {
    let error = await failure({ 'requirements.txt': `six==1.16.0 --hash=${H1}\nrequests>=2\n` });
    expect(error.message).toBe('requirements.txt:2: requests>=2 is not pinned, but the file uses hashes');
    error = await failure({ 'requirements.txt': `six==1.16.0 --hash=${H1}\nrequests==2.32.3\n` });
    expect(error.message).toBe('requirements.txt:2: requests==2.32.3 has no --hash, but the file uses hashes');
    error = await failure({ 'requirements.txt': '--require-hashes\nsix==1.16.0\n' });
    expect(error.message).toBe('requirements.txt:2: six==1.16.0 has no --hash, but the file uses hashes');
  });

  it('refuses two different pins of one package', async () => {
    const error = await failure({ 'requirements.txt': 'Six==1.16.0\n-r more.txt\n', 'more.txt': 'six==1.17.0\n' });
    expect(error.message).toBe('more.txt:1: six==1.17.0 conflicts with Six==1.16.0 at requirements.txt:1');
  });

  it('records every file read, for the cache key', async () => {
    const { root, parsed } = await resolve({ 'requirements.txt': '-r a.txt\n-c b.txt\n', 'a.txt': 'six\n', 'b.txt': 'six<2\n' });
    expect(parsed.files).toEqual([path.join(root, 'requirements.txt'), path.join(root, 'a.txt'), path.join(root, 'b.txt')]);
  });
});
