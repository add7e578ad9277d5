import { describe, expect, it } from 'vitest';
import { compileGlobs } from '../../src/glob.js';
import { PyslimError } from '../../src/errors.js';
import { ruleFor } from '../../src/pipeline/prune.js';
import { CREDENTIAL_SERVICES, SERVICE_ID_ALIASES, botoDataBytes, botoServicesRule, editDistance, listBotoServices, nearServiceNames, resolveBotoServices } from '../../src/rules/boto.js';
import type { TreeFile } from '../../src/model/files.js';

// A slice of the real botocore/data folder list (botocore 1.43), enough for aliases and near matches.
const AVAILABLE = [
  'cloudwatch', 'dynamodb', 'dynamodbstreams', 'ec2', 'ecr', 'ecs', 'events', 'lambda', 'logs', 'pinpoint-sms-voice',
  's3', 's3control', 'sagemaker', 'sagemaker-runtime', 'secretsmanager', 'signin', 'sns', 'sqs', 'sso', 'sso-oidc',
  'stepfunctions', 'sts',
];
const CREDENTIALS = ['signin', 'sso', 'sso-oidc', 'sts'];

function thrown(fn: () => unknown): PyslimError {
  try {
    fn();
  } catch (error) {
    if (error instanceof PyslimError) return error;
    throw error;
  }
  throw new Error('expected a PyslimError');
}

describe('listBotoServices', () => {
  it('lists the service folders of botocore/data, not its top-level files nor boto3 resources', () => {
    const files = [
      { path: 'botocore/data/endpoints.json' },
      { path: 'botocore/data/_retry.json' },
      { path: 'botocore/data/s3/2006-03-01/service-2.json.gz' },
      { path: 'botocore/data/s3/2006-03-01/waiters-2.json' },
      { path: 'botocore/data/dynamodb/2012-08-10/service-2.json.gz' },
      { path: 'boto3/data/ec2/2016-11-15/resources-1.json' },
      { path: 'botocore/client.py' },
      { path: 'vendor/botocore/data/sqs/2012-11-05/service-2.json.gz' },
      { path: 'botocore/data/lambda/2015-03-31/service-2.json.gz', origin: 'source' },
    ];
    expect(listBotoServices(files)).toEqual(['dynamodb', 's3']);
    expect(listBotoServices([])).toEqual([]);
  });
});

describe('resolveBotoServices', () => {
  it.each([
    [['s3', 'dynamodb'], ['dynamodb', 's3']],
    [[' S3 ', 'DynamoDB', 's3', ''], ['dynamodb', 's3']],
    [['lambda'], ['lambda']],
    [['sts', 'sqs'], ['sqs']],
  ])('keeps %j plus the credential services', (requested, expected) => {
    const result = resolveBotoServices(requested, AVAILABLE);
    expect(result.keep).toEqual([...new Set([...expected, ...CREDENTIALS, ...requested.map((r) => r.trim().toLowerCase()).filter(Boolean)])].sort());
    expect(result.aliased).toEqual([]);
  });

  it('records why each credential service is kept, naming the botocore provider', () => {
    const { implied } = resolveBotoServices(['s3'], AVAILABLE);
    expect(implied.map((i) => i.service)).toEqual(CREDENTIALS);
    expect(implied.find((i) => i.service === 'sts')!.why).toMatch(/AssumeRoleProvider.*AssumeRoleWithWebIdentityProvider/);
    expect(implied.find((i) => i.service === 'sso')!.why).toMatch(/SSOProvider/);
    expect(implied.find((i) => i.service === 'sso-oidc')!.why).toMatch(/SSOTokenProvider/);
    expect(implied.find((i) => i.service === 'signin')!.why).toMatch(/LoginProvider/);
  });

  it('does not imply a requested service, nor one the installed botocore lacks', () => {
    const older = AVAILABLE.filter((s) => s !== 'signin');
    const { keep, implied } = resolveBotoServices(['s3', 'sts'], older);
    expect(keep).toEqual(['s3', 'sso', 'sso-oidc', 'sts']);
    expect(implied.map((i) => i.service)).toEqual(['sso', 'sso-oidc']);
    expect(Object.keys(CREDENTIAL_SERVICES).sort()).toEqual(CREDENTIALS);
  });

  it.each([
    ['runtime.sagemaker', 'sagemaker-runtime', /botocore maps the client name/],
    ['Runtime.SageMaker', 'sagemaker-runtime', /botocore maps the client name/],
    ['eventbridge', 'events', /service id of 'events'/],
    ['cloudwatch-logs', 'logs', /service id/],
    ['sfn', 'stepfunctions', /service id/],
    ['secrets-manager', 'secretsmanager', /service id/],
    ['s3-control', 's3control', /service id/],
  ])('resolves the alias %s to %s', (requested, service, why) => {
    const result = resolveBotoServices([requested], AVAILABLE);
    expect(result.keep).toContain(service);
    expect(result.aliased).toEqual([{ requested: requested.toLowerCase(), service, why: expect.stringMatching(why) }]);
  });

  it('lets a folder name win over an alias (pinpoint-sms-voice is a service of its own)', () => {
    expect(resolveBotoServices(['pinpoint-sms-voice'], AVAILABLE)).toMatchObject({ aliased: [] });
    expect(SERVICE_ID_ALIASES).not.toHaveProperty('pinpoint-sms-voice');
  });

  it.each([
    ['dynamo', /'dynamo' \(did you mean dynamodb, dynamodbstreams\?\)/],
    ['lamda', /'lamda' \(did you mean lambda\?\)/],
    ['lamdba', /did you mean lambda\?/],
    ['cloudwatchlogs', /did you mean .*logs \(cloudwatch-logs\)/],
    ['secretmanager', /did you mean secretsmanager/],
    ['sagemaker-runtim', /did you mean sagemaker-runtime/],
    ['kafka', /unknown AWS service in --boto-services: 'kafka'$/],
  ])('rejects %s with near matches', (requested, message) => {
    const error = thrown(() => resolveBotoServices(['s3', requested], AVAILABLE));
    expect(error.code).toBe('UNKNOWN_SERVICE');
    expect(error.kind).toBe('usage');
    expect(error.message).toMatch(message);
    expect(error.hint).toMatch(/get_available_services/);
  });

  it('reports every unknown name at once', () => {
    const error = thrown(() => resolveBotoServices(['s4', 'dynamo'], AVAILABLE));
    expect(error.message).toBe("unknown AWS services in --boto-services: 's4' (did you mean s3?), 'dynamo' (did you mean dynamodb, dynamodbstreams?)");
  });

  it('refuses an empty list and a tree without botocore data', () => {
    expect(thrown(() => resolveBotoServices([' ', ''], AVAILABLE)).code).toBe('INVALID_OPTION');
    expect(thrown(() => resolveBotoServices(['s3'], [])).message).toMatch(/no botocore service data/);
  });
});

describe('near matches', () => {
  it.each([
    ['lambda', 'lamdba', 1],
    ['s3', 's4', 1],
    ['dynamo', 'dynamodb', 2],
    ['', 'sqs', 3],
  ])('editDistance(%s, %s) = %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });

  it('suggests at most five names, closest first, and only services that exist', () => {
    expect(nearServiceNames('ec', AVAILABLE)).toEqual(['ec2', 'ecr', 'ecs']);
    expect(nearServiceNames('eventbrige', AVAILABLE)).toEqual(['events (eventbridge)']);
    expect(nearServiceNames('eventbrige', ['s3'])).toEqual([]);
    expect(nearServiceNames('s', [...AVAILABLE, 'sdb', 'ses', 'shield', 'sms', 'snowball', 'ssm']).length).toBeLessThanOrEqual(5);
  });
});

const file = (path: string, owner = 'botocore'): TreeFile => ({ path, abs: `/x/${path}`, size: 10, executable: false, owner, origin: 'deps' });

describe('botoServicesRule', () => {
  const rule = botoServicesRule(['dynamodb', 's3', 'sts']);
  const decide = (path: string, owner?: string) =>
    ruleFor(file(path, owner), [rule], compileGlobs([]), { has: () => false });

  it.each([
    'botocore/data/ec2/2016-11-15/service-2.json.gz',
    'botocore/data/ec2/2016-11-15/endpoint-rule-set-1.json.gz',
    'botocore/data/sqs/2012-11-05/paginators-1.json',
    'botocore/data/dynamodbstreams/2012-08-10/service-2.json.gz',
    'botocore/data/s3control/2018-08-20/service-2.json.gz',
    'botocore/data/ec2/README',
  ])('removes %s', (path) => {
    expect(decide(path)).toBe('boto-services');
  });

  it.each([
    ['boto3/data/ec2/2016-11-15/resources-1.json', 'boto3'],
    ['boto3/data/sqs/2012-11-05/resources-1.json', 'boto3'],
  ])('removes the boto3 resource model %s of a service not kept', (path, owner) => {
    expect(decide(path, owner)).toBe('boto-services');
  });

  it.each([
    'botocore/data/s3/2006-03-01/service-2.json.gz',
    'botocore/data/s3/2006-03-01/service-2.sdk-extras.json',
    'botocore/data/dynamodb/2011-12-05/service-2.json.gz', // every API version of a kept service stays
    'botocore/data/sts/2011-06-15/endpoint-rule-set-1.json.gz',
    'botocore/data/endpoints.json',
    'botocore/data/partitions.json',
    'botocore/data/_retry.json',
    'botocore/data/sdk-default-configuration.json',
    'boto3/data/s3/2006-03-01/resources-1.json',
    'boto3/data/dynamodb/2012-08-10/resources-1.json',
    'botocore/client.py',
    'botocore/__init__.py',
    'boto3/session.py',
    'vendored/botocore/data/ec2/2016-11-15/service-2.json.gz',
    'awscli/data/ec2/2016-11-15/service-2.json.gz',
  ])('keeps %s', (path) => {
    expect(decide(path)).toBeUndefined();
  });

  it('is a safe rule with a one-line reason and no exceptions', () => {
    expect(rule).toMatchObject({ name: 'boto-services', profile: 'safe', exceptions: {} });
    expect(rule.reason).toMatch(/^\S.{20,}$/);
  });

  it('never touches the function source', () => {
    const source: TreeFile = { ...file('botocore/data/ec2/2016-11-15/service-2.json.gz'), origin: 'source' };
    expect(ruleFor(source, [rule], compileGlobs([]), { has: () => false })).toBeUndefined();
  });
});

describe('botoDataBytes', () => {
  it('counts the per-service data of botocore and boto3 only', () => {
    const files = [
      { path: 'botocore/data/ec2/2016-11-15/service-2.json.gz', size: 1000 },
      { path: 'botocore/data/s3/2006-03-01/service-2.json.gz', size: 200 },
      { path: 'boto3/data/ec2/2016-11-15/resources-1.json', size: 30 },
      { path: 'botocore/data/endpoints.json', size: 4 },
      { path: 'botocore/client.py', size: 5 },
      { path: 'botocore/data/sqs/2012-11-05/service-2.json.gz', size: 7, origin: 'source' },
    ];
    expect(botoDataBytes(files)).toBe(1230);
  });
});
