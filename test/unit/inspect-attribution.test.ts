/** Attribution of zip entries to distributions, from the metadata in the zip alone. */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { attributeEntries, packageRootOf, topLevelName, type MetadataFolder } from '../../src/inspect/attribute.js';
import { inspectZip, parseRecordPaths } from '../../src/inspect/inspect.js';
import { removeTree, tempDir } from '../helpers/lambda.js';
import { writeZipWithPython } from '../helpers/zips.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach(removeTree));

const meta = (key: string, fields: Partial<MetadataFolder> = {}): MetadataFolder => ({
  root: '',
  folder: `${key.replace(/-/g, '_')}-1.0.dist-info`,
  key,
  record: null,
  recordRelativeToFolder: false,
  topLevel: null,
  ...fields,
});

/** Owner key (or null) and reason for each path. */
function attribute(paths: string[], folders: MetadataFolder[]) {
  const { entries, sharedFolders } = attributeEntries(paths, folders);
  const owners = Object.fromEntries(paths.map((p, i) => [p, entries[i]!.owner === null ? null : `${folders[entries[i]!.owner!]!.key}:${entries[i]!.reason}`]));
  return { owners, shared: sharedFolders.map((s) => s.path) };
}

describe('packageRootOf', () => {
  it.each([
    ['requests/api.py', ''],
    ['python/requests/api.py', 'python/'],
    ['python/lib/python3.12/site-packages/requests/api.py', 'python/lib/python3.12/site-packages/'],
    ['vendor/requests/api.py', ''],
    ['python/lib/python2.7/site-packages/x.py', 'python/'],
  ])('%s → "%s"', (entry, root) => expect(packageRootOf(entry)).toBe(root));
});

describe('topLevelName', () => {
  it.each([
    ['six.py', false, 'six'],
    ['_cffi_backend.cpython-311-x86_64-linux-gnu.so', false, '_cffi_backend'],
    ['81d243bd2c585b0f4821__mypyc.cpython-311-x86_64-linux-gnu.so', false, '81d243bd2c585b0f4821__mypyc'],
    ['numpy', true, 'numpy'],
    ['distutils-precedence.pth', false, undefined],
    ['README.md', false, undefined],
  ])('%s', (segment, isFolder, name) => expect(topLevelName(segment, isFolder)).toBe(name));
});

describe('parseRecordPaths', () => {
  it('reads the first CSV column, quoted or not', () => {
    const record = 'a/b.py,sha256=x,10\n"a/with,comma.py",sha256=y,3\n"a/""quoted"".py",,\r\na/c.dist-info/RECORD,,\n\n';
    expect(parseRecordPaths(record)).toEqual(['a/b.py', 'a/with,comma.py', 'a/"quoted".py', 'a/c.dist-info/RECORD']);
  });
});

describe('attributeEntries', () => {
  it('follows RECORD, including pip --target console scripts and bytecode it recorded', () => {
    const requests = meta('requests', {
      record: ['requests/__init__.py', 'requests/__pycache__/__init__.cpython-311.pyc', '../../bin/req', 'requests-1.0.dist-info/RECORD'],
    });
    const { owners } = attribute(
      ['requests/', 'requests/__init__.py', 'requests/__pycache__/__init__.cpython-311.pyc', 'bin/req', 'requests-1.0.dist-info/RECORD', 'requests-1.0.dist-info/METADATA', 'handler.py'],
      [{ ...requests, folder: 'requests-1.0.dist-info' }],
    );
    expect(owners).toEqual({
      'requests/': 'requests:folder',
      'requests/__init__.py': 'requests:record',
      'requests/__pycache__/__init__.cpython-311.pyc': 'requests:record',
      'bin/req': 'requests:record',
      'requests-1.0.dist-info/RECORD': 'requests:record',
      'requests-1.0.dist-info/METADATA': 'requests:metadata',
      'handler.py': null,
    });
  });

  it('treats python/lib/python3.X/site-packages/ as the package root of a layer', () => {
    const root = 'python/lib/python3.12/site-packages/';
    const six = meta('six', { root, folder: 'six-1.17.0.dist-info', record: ['six.py', '../../../bin/six-tool'] });
    const { owners } = attribute([`${root}six.py`, 'python/bin/six-tool', `${root}six-1.17.0.dist-info/METADATA`, 'python/other.py'], [six]);
    expect(owners).toEqual({
      [`${root}six.py`]: 'six:record',
      'python/bin/six-tool': 'six:record',
      [`${root}six-1.17.0.dist-info/METADATA`]: 'six:metadata',
      'python/other.py': null,
    });
  });

  it('without RECORD, uses top_level.txt, then names, then .libs folders, then bytecode beside its source', () => {
    const root = 'python/';
    const folders = [
      meta('six', { root, topLevel: ['six'] }),
      meta('typing-extensions', { root }),
      meta('numpy', { root, topLevel: ['numpy'] }),
      meta('charset-normalizer', { root, topLevel: ['charset_normalizer', '81d243bd2c585b0f4821__mypyc'] }),
    ];
    const { owners } = attribute(
      [
        'python/six.py',
        'python/__pycache__/six.cpython-312.pyc',
        'python/typing_extensions.py',
        'python/__pycache__/typing_extensions.cpython-312.opt-1.pyc',
        'python/numpy/core/x.so',
        'python/numpy.libs/libopenblas.so',
        'python/81d243bd2c585b0f4821__mypyc.cpython-312-x86_64-linux-gnu.so',
        'python/__pycache__/handler.cpython-312.pyc',
      ],
      folders,
    );
    expect(owners).toEqual({
      'python/six.py': 'six:top-level',
      'python/__pycache__/six.cpython-312.pyc': 'six:bytecode',
      'python/typing_extensions.py': 'typing-extensions:name',
      'python/__pycache__/typing_extensions.cpython-312.opt-1.pyc': 'typing-extensions:bytecode',
      'python/numpy/core/x.so': 'numpy:top-level',
      'python/numpy.libs/libopenblas.so': 'numpy:name',
      'python/81d243bd2c585b0f4821__mypyc.cpython-312-x86_64-linux-gnu.so': 'charset-normalizer:top-level',
      'python/__pycache__/handler.cpython-312.pyc': null,
    });
  });

  it('splits a shared namespace folder by name where it can, and leaves the rest unattributed', () => {
    const folders = [meta('protobuf', { topLevel: ['google'] }), meta('googleapis-common-protos', { topLevel: ['google'] }), meta('google-cloud-storage', { topLevel: ['google'] })];
    const { owners, shared } = attribute(
      ['google/protobuf/message.py', 'google/protobuf/__pycache__/message.cpython-311.pyc', 'google/cloud/storage/blob.py', 'google/api/http.py', 'google/api/__pycache__/http.cpython-311.pyc'],
      folders,
    );
    expect(owners).toEqual({
      'google/protobuf/message.py': 'protobuf:name',
      'google/protobuf/__pycache__/message.cpython-311.pyc': 'protobuf:name',
      'google/cloud/storage/blob.py': 'google-cloud-storage:name',
      'google/api/http.py': null,
      // Not given to protobuf through google/: the shared folder is ambiguous.
      'google/api/__pycache__/http.cpython-311.pyc': null,
    });
    expect(shared).toEqual(['google/']);
  });

  it('gives files added after install to the one package owning their folder', () => {
    const requests = meta('requests', { record: ['requests/__init__.py', 'requests/adapters.py'] });
    const { owners } = attribute(['requests/__pycache__/adapters.cpython-311.pyc', 'requests/extra/new.py', 'requests/__init__.py', 'requests/adapters.py'], [requests]);
    expect(owners['requests/__pycache__/adapters.cpython-311.pyc']).toBe('requests:bytecode');
    expect(owners['requests/extra/new.py']).toBe('requests:folder');
  });
});

describe('inspectZip on hand-made zips', () => {
  it('reads a layer with dist-info and egg-info, ignores metadata vendored inside a package, and adds up exactly', async () => {
    const dir = tempDir('pyslim-inspect-unit-');
    dirs.push(dir);
    const site = 'python/lib/python3.12/site-packages/';
    const zip = writeZipWithPython(path.join(dir, 'layer.zip'), [
      { name: 'python/', mode: 0o40755 },
      { name: `${site}six.py`, text: 'import sys\n'.repeat(200) },
      { name: `${site}six-1.17.0.dist-info/METADATA`, text: 'Metadata-Version: 2.1\nName: six\nVersion: 1.17.0\n\nlong description\n' },
      { name: `${site}six-1.17.0.dist-info/RECORD`, text: 'six.py,sha256=x,2200\nsix-1.17.0.dist-info/METADATA,,\nsix-1.17.0.dist-info/RECORD,,\n' },
      { name: `${site}setuptools/__init__.py`, text: 'x = 1\n' },
      { name: `${site}setuptools/_vendor/packaging-24.0.dist-info/METADATA`, text: 'Name: packaging\nVersion: 24.0\n' },
      { name: `${site}setuptools-70.0.0.dist-info/METADATA`, text: 'Name: setuptools\nVersion: 70.0.0\n' },
      { name: `${site}setuptools-70.0.0.dist-info/top_level.txt`, text: 'setuptools\n' },
      { name: `${site}old_pkg/__init__.py`, text: 'y = 2\n' },
      { name: `${site}Old_Pkg-0.9-py3.12.egg-info/PKG-INFO`, text: 'Name: Old-Pkg\nVersion: 0.9\n' },
      { name: `${site}Old_Pkg-0.9-py3.12.egg-info/installed-files.txt`, text: '../old_pkg/__init__.py\nPKG-INFO\n' },
      { name: 'python/README.txt', text: 'layer notes\n' },
    ]);
    const report = await inspectZip(zip);
    expect(report.roots).toEqual([site]);
    expect(report.packages.map((p) => [p.name, p.version, p.attributedBy])).toEqual([
      ['six', '1.17.0', 'record'],
      ['setuptools', '70.0.0', 'top-level'],
      ['Old-Pkg', '0.9', 'record'],
    ]);
    const setuptools = report.packages.find((p) => p.key === 'setuptools')!;
    expect(setuptools.files).toBe(4); // its vendored dist-info is part of it, not a distribution
    expect(report.unattributed.paths.map((p) => p.path)).toEqual(['python/README.txt']);
    for (const field of ['files', 'bytes', 'zipBytes'] as const) {
      expect(report.packages.reduce((n, p) => n + p[field], report.unattributed[field])).toBe(report.totals[field]);
    }
    expect(report.notes.map((n) => n.code)).toEqual(['NO_RECORD']);
  });

  it('notes a zip with no metadata at a package root', async () => {
    const dir = tempDir('pyslim-inspect-unit-');
    dirs.push(dir);
    const zip = writeZipWithPython(path.join(dir, 'wrapped.zip'), [
      { name: 'build/requests/__init__.py', text: 'x' },
      { name: 'build/requests-1.0.dist-info/METADATA', text: 'Name: requests\nVersion: 1.0\n' },
      { name: 'build/link', text: '/etc/passwd', mode: 0o120777 },
    ]);
    const report = await inspectZip(zip);
    expect(report.packages).toEqual([]);
    expect(report.unattributed.files).toBe(3);
    expect(report.notes.map((n) => n.code)).toEqual(['NO_METADATA', 'SYMLINKS']);
  });
});
