import { describe, expect, it } from 'vitest';
import { compileGlobs } from '../../src/glob.js';
import { ruleFor } from '../../src/pipeline/prune.js';
import { normalizeDistName } from '../../src/python-names.js';
import { planRuntimeExclusion, requiredDistributions, runtimePackagesRule } from '../../src/rules/runtime-packages.js';
import type { Distribution, TreeFile } from '../../src/model/files.js';

// Requires-Dist values as the real wheels write them (boto3 1.43, botocore 1.43, requests 2.32, pandas 2.2).
const REQUIRES: Record<string, string[]> = {
  boto3: [
    'botocore (<1.44.0,>=1.43.107)',
    'jmespath (<2.0.0,>=0.7.1)',
    's3transfer (<0.20.0,>=0.19.0)',
    "botocore[crt] (<2.0a0,>=1.21.0) ; extra == 'crt'",
  ],
  botocore: [
    'jmespath (<2.0.0,>=0.7.1)',
    'python-dateutil (<3.0.0,>=2.1)',
    'urllib3 (!=2.2.0,<3,>=1.25.4)',
    "awscrt (==0.36.0) ; extra == 'crt'",
  ],
  s3transfer: ['botocore (<2.0a.0,>=1.37.4)', "botocore[crt] (<2.0a.0,>=1.37.4) ; extra == 'crt'"],
  jmespath: [],
  'python-dateutil': ['six >=1.5'],
  six: [],
  urllib3: [
    "brotli>=1.2.0; (platform_python_implementation == 'CPython') and extra == 'brotli'",
    "h2<5,>=4; extra == 'h2'",
    "pysocks!=1.5.7,<2.0,>=1.5.6; extra == 'socks'",
  ],
  requests: ['charset_normalizer<4,>=2', 'idna<4,>=2.5', 'urllib3<3,>=1.21.1', 'certifi>=2017.4.17', 'PySocks!=1.5.7,>=1.5.6; extra == "socks"'],
  'charset-normalizer': [],
  idna: [],
  certifi: [],
  pandas: [
    'numpy>=1.23.2; python_version == "3.11"',
    'python-dateutil>=2.8.2',
    'pytz>=2020.1',
    'tzdata>=2022.7',
    "urllib3>=1.26.0; extra == 'aws'",
  ],
  numpy: [],
  pytz: [],
  tzdata: [],
  aiobotocore: ['aiohttp<4.0.0,>=3.9.2', 'botocore<1.35.37,>=1.35.16', 'wrapt<2.0.0,>=1.10.10', "awscli<1.35.3,>=1.34.16; extra == 'awscli'"],
  awswrangler: ['boto3<2.0.0,>=1.20.32', 'botocore', 'pandas<3.0.0,>=1.2.0'],
  'markdown-it': ['six; python_version < "3"'],
};

const dist = (name: string): Distribution => ({
  key: normalizeDistName(name),
  name,
  version: '1.0',
  distInfo: `${name.replace(/-/g, '_')}-1.0.dist-info`,
  topLevel: [name],
  hasTopLevelFile: true,
  requires: REQUIRES[normalizeDistName(name)] ?? [],
});

const BOTO = ['boto3', 'botocore', 's3transfer', 'jmespath', 'python-dateutil', 'six', 'urllib3'];
const tree = (...names: string[]) => names.map(dist);

describe('planRuntimeExclusion', () => {
  it.each([
    ['boto3 only', tree(...BOTO), [...BOTO].sort(), []],
    ['boto3 + requests', tree(...BOTO, 'requests', 'charset-normalizer', 'idna', 'certifi'),
      ['boto3', 'botocore', 'jmespath', 'python-dateutil', 's3transfer', 'six'], [{ name: 'urllib3', requiredBy: ['requests'] }]],
    ['boto3 + pandas', tree(...BOTO, 'pandas', 'numpy', 'pytz', 'tzdata'),
      ['boto3', 'botocore', 'jmespath', 's3transfer', 'urllib3'],
      [{ name: 'python-dateutil', requiredBy: ['pandas'] }, { name: 'six', requiredBy: ['python-dateutil'] }]],
    ['boto3 + requests + pandas', tree(...BOTO, 'requests', 'pandas'),
      ['boto3', 'botocore', 'jmespath', 's3transfer'],
      [{ name: 'python-dateutil', requiredBy: ['pandas'] }, { name: 'six', requiredBy: ['python-dateutil'] }, { name: 'urllib3', requiredBy: ['requests'] }]],
    // A marker other than `extra ==` is not evaluated: keeping is the safe side of the guess.
    ['a python_version marker counts as required', tree(...BOTO, 'markdown-it'),
      ['boto3', 'botocore', 'jmespath', 'python-dateutil', 's3transfer', 'urllib3'], [{ name: 'six', requiredBy: ['markdown-it'] }]],
    ['botocore without boto3 (aiobotocore)', tree('botocore', 'jmespath', 'python-dateutil', 'six', 'urllib3', 'aiobotocore'),
      ['botocore', 'jmespath', 'python-dateutil', 'six', 'urllib3'], []],
    ['no botocore: nothing to defer to', tree('requests', 'urllib3', 'six', 'jmespath'), [], []],
    ['empty tree', [], [], []],
  ])('%s', (_label, distributions, excluded, keptBecause) => {
    const plan = planRuntimeExclusion(distributions);
    expect(plan.excluded).toEqual(excluded);
    expect(plan.keptBecause).toEqual(keptBecause);
  });

  it('ignores optional dependencies (extra == ...), such as pandas[aws] asking for urllib3', () => {
    const plan = planRuntimeExclusion(tree(...BOTO, 'pandas'));
    expect(plan.excluded).toContain('urllib3');
  });

  it('reports the version ranges kept packages ask of excluded ones', () => {
    const plan = planRuntimeExclusion(tree(...BOTO, 'aiobotocore', 'awswrangler', 'pandas'));
    expect(plan.excluded).toEqual(['boto3', 'botocore', 'jmespath', 's3transfer', 'urllib3']);
    expect(plan.pinned).toEqual([
      { name: 'botocore', requiredBy: 'aiobotocore', requirement: 'botocore<1.35.37,>=1.35.16' },
      { name: 'boto3', requiredBy: 'awswrangler', requirement: 'boto3<2.0.0,>=1.20.32' },
    ]);
  });

  it('gives the same plan whatever the order of the distributions', () => {
    const names = [...BOTO, 'pandas', 'requests'];
    const forward = planRuntimeExclusion(tree(...names));
    expect(planRuntimeExclusion(tree(...names.reverse()))).toEqual(forward);
  });
});

describe('requiredDistributions', () => {
  it.each([
    ['urllib3 (!=2.2.0,<3,>=1.25.4)', { name: 'urllib3', text: 'urllib3 (!=2.2.0,<3,>=1.25.4)', hasVersion: true }],
    ['six >=1.5', { name: 'six', text: 'six >=1.5', hasVersion: true }],
    ['Python_DateUtil', { name: 'python-dateutil', text: 'Python_DateUtil', hasVersion: false }],
    ['botocore; python_version >= "3.9"', { name: 'botocore', text: 'botocore', hasVersion: false }],
    ['botocore[crt]', { name: 'botocore', text: 'botocore[crt]', hasVersion: false }],
    ['botocore[crt]>=1.3', { name: 'botocore', text: 'botocore[crt]>=1.3', hasVersion: true }],
  ])('reads %s', (raw, expected) => {
    expect(requiredDistributions([raw])).toEqual([expected]);
  });

  it.each([
    "awscrt (==0.36.0) ; extra == 'crt'",
    'PySocks!=1.5.7,>=1.5.6; extra == "socks"',
    "brotli>=1.2.0; (platform_python_implementation == 'CPython') and extra == 'brotli'",
    "h2<5,>=4; extra=='h2'",
  ])('treats %s as optional', (raw) => {
    expect(requiredDistributions([raw])).toEqual([]);
  });
});

const file = (path: string, owner: string): TreeFile => ({ path, abs: `/x/${path}`, size: 1, executable: false, owner, origin: 'deps' });

describe('runtimePackagesRule', () => {
  const rule = runtimePackagesRule(['boto3', 'botocore', 'jmespath', 's3transfer', 'python-dateutil', 'six']);
  const decide = (path: string, owner: string, origin: TreeFile['origin'] = 'deps') =>
    ruleFor({ ...file(path, owner), origin }, [rule], compileGlobs([]), { has: () => false });

  it.each([
    ['boto3/__init__.py', 'boto3'],
    ['boto3-1.43.107.dist-info/METADATA', 'boto3'],
    ['botocore/data/s3/2006-03-01/service-2.json.gz', 'botocore'],
    ['bin/jp.py', 'jmespath'],
    ['dateutil/tz/tz.py', 'python-dateutil'],
    ['six.py', 'six'],
  ])('removes %s (owned by %s)', (path, owner) => {
    expect(decide(path, owner)).toBe('runtime-provided');
  });

  it.each([
    ['urllib3/__init__.py', 'urllib3'],
    ['requests/__init__.py', 'requests'],
    ['x/boto3/__init__.py', '(unattributed)'],
  ])('keeps %s (owned by %s)', (path, owner) => {
    expect(decide(path, owner)).toBeUndefined();
  });

  it('never removes the function source, even a file named like the SDK', () => {
    expect(decide('boto3/__init__.py', '(source)', 'source')).toBeUndefined();
  });

  it('is a safe rule with a one-line reason and no exceptions', () => {
    expect(rule).toMatchObject({ name: 'runtime-provided', profile: 'safe', exceptions: {} });
    expect(rule.reason).toMatch(/^\S.{20,}$/);
    expect(runtimePackagesRule(['Python_DateUtil']).matches({ path: 'dateutil/x.py', segments: ['dateutil', 'x.py'], owner: 'python-dateutil' }, { has: () => false })).toBe(true);
  });
});
