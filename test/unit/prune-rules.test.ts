import { describe, expect, it } from 'vitest';
import { compileGlobs } from '../../src/glob.js';
import { ruleFor } from '../../src/pipeline/prune.js';
import { PRUNE_RULES, rulesForProfile } from '../../src/rules/registry.js';
import type { TreeFile } from '../../src/model/files.js';

const file = (path: string, owner = 'pkg', origin: TreeFile['origin'] = 'deps'): TreeFile => ({
  path,
  abs: `/x/${path}`,
  size: 1,
  executable: false,
  owner,
  origin,
});

const none = compileGlobs([]);
const decide = (path: string, options: { owner?: string; has?: string[]; exclude?: string[]; origin?: TreeFile['origin'] } = {}) => {
  const present = new Set(options.has ?? []);
  return ruleFor(file(path, options.owner, options.origin), rulesForProfile('safe'), compileGlobs(options.exclude ?? []), {
    has: (p) => present.has(p),
  });
};

describe('safe prune rules', () => {
  it.each([
    ['pandas/tests/frame/test_api.py', 'tests'],
    ['numpy/_core/tests/data/x.csv', 'tests'],
    ['pkg/test/test_a.py', 'tests'],
    ['numpy/__pycache__/__init__.cpython-311.pyc', 'bytecode-cache'],
    ['six.pyc', 'bytecode-cache'],
    ['bin/f2py', 'installer-leftovers'],
    ['numpy-2.2.6.dist-info/RECORD', 'installer-leftovers'],
    ['numpy-2.2.6.dist-info/INSTALLER', 'installer-leftovers'],
    ['numpy-2.2.6.dist-info/REQUESTED', 'installer-leftovers'],
    ['numpy-2.2.6.dist-info/direct_url.json', 'installer-leftovers'],
    ['numpy/__init__.pyi', 'type-stubs'],
    ['pkg/docs/index.rst', 'docs-examples'],
    ['pkg/examples/demo.py', 'docs-examples'],
    ['numpy/_core/include/numpy/ndarrayobject.h', 'c-sources'],
    ['pkg/_speedups.c', 'c-sources'],
    ['pkg/_speedups.pyx', 'c-sources'],
    ['pkg/_speedups.pxd', 'c-sources'],
  ])('removes %s by %s', (path, rule) => {
    expect(decide(path)).toBe(rule);
  });

  it.each([
    'numpy/testing/__init__.py', // `testing` modules are library code
    'numpy/testing/_private/utils.py',
    'pandas/_testing/__init__.py',
    'tests/conftest.py', // a top-level folder is not inside a package
    'test.py',
    'pkg/tests.py', // a module, not a test folder
    'numpy-2.2.6.dist-info/METADATA', // importlib.metadata.version() needs it
    'numpy-2.2.6.dist-info/entry_points.txt',
    'numpy-2.2.6.dist-info/top_level.txt',
    'pkg/bin/tool', // only the top-level bin/ is pip's
    'pkg/docs.py',
    'fastapi/openapi/docs.py',
    'pkg/_speedups.cpython-311-x86_64-linux-gnu.so',
    'pkg/py.typed',
  ])('keeps %s', (path) => {
    expect(decide(path)).toBeUndefined();
  });

  it('keeps a docs or examples folder that is a Python package', () => {
    expect(decide('pkg/examples/demo.py', { has: ['pkg/examples/__init__.py'] })).toBeUndefined();
  });

  it.each([
    ['django/test/signals.py', 'django'],
    ['astropy/tests/runner.py', 'astropy'],
    ['mypy/typeshed/stdlib/os/__init__.pyi', 'mypy'],
    ['Cython/Includes/libc/stdio.pxd', 'cython'],
  ])('honours the per-package exception for %s (%s)', (path, owner) => {
    expect(decide(path, { owner })).toBeUndefined();
  });

  it('never applies package rules to the function source, but --exclude applies to both', () => {
    expect(decide('tests/test_handler.py', { origin: 'source' })).toBeUndefined();
    expect(decide('app/tests/test_handler.py', { origin: 'source' })).toBeUndefined();
    expect(decide('notes.md', { origin: 'source', exclude: ['*.md'] })).toBe('user-exclude');
    expect(decide('pandas/io/clipboard/__init__.py', { exclude: ['pandas/io/clipboard'] })).toBe('user-exclude');
  });

  it('gives every rule a name, a one-line reason and a profile', () => {
    const names = PRUNE_RULES.map((r) => r.name);
    expect(new Set(names).size).toBe(names.length);
    for (const rule of PRUNE_RULES) {
      expect(rule.reason).toMatch(/^\S.{20,}$/);
      expect(rule.reason).not.toContain('\n');
    }
    expect(rulesForProfile('none')).toEqual([]);
  });
});

describe('keep wins over every rule', () => {
  it('protects a path from the profile and from --exclude', async () => {
    const { prune } = await import('../../src/pipeline/prune.js');
    const files = [file('pkg/tests/helpers.py'), file('pkg/a.md'), file('pkg/core.py')];
    const result = await prune({
      inventory: { files, distributions: [], sourceExclusions: [] },
      profile: 'safe',
      exclude: compileGlobs(['*.md']),
      keep: compileGlobs(['pkg/tests/helpers.py', 'a.md']),
      depsDir: null,
    });
    expect(result.removed).toEqual([]);
    expect(result.kept.map((f) => f.path)).toEqual(['pkg/a.md', 'pkg/core.py', 'pkg/tests/helpers.py']);
    const without = await prune({ inventory: { files, distributions: [], sourceExclusions: [] }, profile: 'safe', exclude: compileGlobs(['*.md']), keep: none, depsDir: null });
    expect(without.removed.map((r) => [r.file.path, r.rule])).toEqual([
      ['pkg/tests/helpers.py', 'tests'],
      ['pkg/a.md', 'user-exclude'],
    ]);
  });
});

describe('aggressive prune rules', () => {
  const aggressive = (path: string, owner = 'pkg') =>
    ruleFor(file(path, owner), rulesForProfile('aggressive'), none, { has: () => false });

  it.each([
    ['pkg-1.0.dist-info/LICENSE', 'licenses'],
    ['pkg-1.0.dist-info/licenses/LICENSE.txt', 'licenses'],
    ['pkg/LICENSE.rst', 'licenses'],
    ['pkg/COPYING', 'licenses'],
    ['pkg/NOTICE', 'licenses'],
    ['pkg/README.md', 'package-docs'],
    ['pkg/sub/CHANGES.rst', 'package-docs'],
    ['pkg/notes.txt', 'package-docs'],
    ['pkg/locale/de/LC_MESSAGES/pkg.mo', 'translations'],
    ['pkg/locale/de/LC_MESSAGES/pkg.po', 'translations'],
    ['pkg/_ext.pdb', 'debug-symbols'],
    ['pkg/_ext.so.debug', 'debug-symbols'],
    ['pkg/tests/test_a.py', 'tests'],
  ])('removes %s by %s', (path, rule) => {
    expect(aggressive(path)).toBe(rule);
  });

  it.each([
    'pkg/license.py', // a module named like a licence is code
    'pkg/_license.cpython-311-x86_64-linux-gnu.so',
    'pkg-1.0.dist-info/top_level.txt', // metadata, not docs
    'pkg-1.0.dist-info/entry_points.txt',
    'pkg-1.0.dist-info/METADATA',
    'requirements.txt', // a top-level file is not inside a package
    'pkg/data.json',
    'pkg/locale/de/data.dat',
  ])('keeps %s', (path) => {
    expect(aggressive(path)).toBeUndefined();
  });

  it.each([
    ['docutils/parsers/rst/include/isonum.txt', 'docutils'],
    ['sklearn/datasets/descr/iris.rst', 'scikit-learn'],
    ['django/conf/locale/de/LC_MESSAGES/django.mo', 'django'],
  ])('honours the exception for %s (%s)', (path, owner) => {
    expect(aggressive(path, owner)).toBeUndefined();
  });

  it('is a superset of safe: every safe rule applies under aggressive', () => {
    const safe = rulesForProfile('safe').map((r) => r.name);
    expect(rulesForProfile('aggressive').map((r) => r.name)).toEqual(expect.arrayContaining(safe));
    expect(rulesForProfile('aggressive').length).toBeGreaterThan(safe.length);
  });
});
