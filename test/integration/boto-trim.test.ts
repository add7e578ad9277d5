/**
 * --boto-services on a real boto3: real pip, the real inventory and prune stages, then clients
 * created from a read-only copy of what is left, with nothing but that tree on sys.path.
 */
import { execFileSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileGlobs } from '../../src/glob.js';
import { takeInventory, type Inventory } from '../../src/pipeline/inventory.js';
import { prune, type PruneResult } from '../../src/pipeline/prune.js';
import { botoDataBytes, botoServicesRule, listBotoServices, resolveBotoServices, type BotoServiceResolution } from '../../src/rules/boto.js';
import { ROOT } from '../helpers/cli.js';
import { HOST_PYTHON, listFiles, removeTree, runPythonIn, tempDir } from '../helpers/lambda.js';

const FUNCTION_DIR = path.join(ROOT, 'test/fixtures/functions/boto');
const cleanup: string[] = [];
afterAll(() => cleanup.forEach(removeTree));

const sum = (files: readonly { size: number }[]) => files.reduce((n, f) => n + f.size, 0);

// Runs inside the trimmed tree. Every call is offline: presigning, a stubbed DynamoDB call and
// endpoint resolution read the kept models and endpoint rule sets but never open a socket.
// Credentials come from the environment, as Lambda provides them, so the credential chain stops
// at EnvProvider instead of probing the instance metadata endpoint.
const CHECK = `
import os
os.environ.update(AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="secret", AWS_SESSION_TOKEN="token", AWS_DEFAULT_REGION="us-east-1")
import json, boto3, handler
from botocore.exceptions import UnknownServiceError
from botocore.stub import Stubber
kw = dict(region_name="us-east-1")
out = {"handler": type(handler._s3).__name__}
s3 = boto3.client("s3", **kw)
out["presigned"] = s3.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"}, ExpiresIn=60).split("?")[0]
s3.get_paginator("list_objects_v2"); s3.get_waiter("bucket_exists")
ddb = boto3.client("dynamodb", **kw)
with Stubber(ddb) as stub:
    stub.add_response("get_item", {"Item": {"id": {"S": "1"}}}, {"TableName": "t", "Key": {"id": {"S": "1"}}})
    out["item"] = ddb.get_item(TableName="t", Key={"id": {"S": "1"}})["Item"]
out["table"] = boto3.resource("dynamodb", **kw).Table("t").name
out["bucket"] = boto3.resource("s3", **kw).Bucket("b").name
out["sts"] = boto3.client("sts", **kw).meta.endpoint_url
for name in ("sso", "sso-oidc"):
    boto3.client(name, **kw)
try:
    boto3.client("ec2", **kw)
    out["ec2"] = "created"
except UnknownServiceError as error:
    out["ec2"] = str(error)
try:
    boto3.resource("ec2", **kw)
    out["ec2_resource"] = "created"
except boto3.exceptions.ResourceNotExistsError as error:
    out["ec2_resource"] = type(error).__name__
print(json.dumps(out))
`;

describe('--boto-services s3,dynamodb on boto3', () => {
  let depsDir: string;
  let inventory: Inventory;
  let resolution: BotoServiceResolution;
  let result: PruneResult;
  let readOnly: string;

  beforeAll(async () => {
    const work = tempDir('pyslim-boto-');
    cleanup.push(work);
    depsDir = path.join(work, 'deps');
    execFileSync(
      HOST_PYTHON,
      ['-m', 'pip', 'install', '--target', depsDir, '--no-compile', '--disable-pip-version-check', '--no-input', '--progress-bar', 'off', 'boto3'],
      { env: { ...process.env, PIP_RETRIES: '0' }, stdio: 'pipe' },
    );
    inventory = await takeInventory({ depsDir, sourceDir: FUNCTION_DIR, ownOutputs: [] });
    resolution = resolveBotoServices(['s3', 'DynamoDB '], listBotoServices(inventory.files));
    result = await prune({
      inventory,
      profile: 'none', // the rule alone, so the saving below is its own
      exclude: compileGlobs([]),
      keep: compileGlobs([]),
      depsDir,
      extraRules: [botoServicesRule(resolution.keep)],
    });
    // What Lambda gets: a read-only copy of what is left.
    readOnly = path.join(work, 'task');
    cpSync(depsDir, readOnly, { recursive: true });
    execFileSync('chmod', ['-R', 'a-w', readOnly]);
  }, 120_000);

  it('keeps the requested services and the ones botocore calls for credentials', () => {
    expect(listBotoServices(inventory.files).length).toBeGreaterThan(300);
    const implied = resolution.implied.map((i) => i.service);
    expect(implied).toEqual(expect.arrayContaining(['sso', 'sso-oidc', 'sts']));
    expect(resolution.keep).toEqual(['dynamodb', 's3', ...implied].sort());
    expect(listBotoServices(result.kept)).toEqual(resolution.keep);
  });

  it('removes only per-service data, and deletes it from the install', () => {
    expect(result.removed.every((r) => r.rule === 'boto-services')).toBe(true);
    expect(result.removed.every((r) => /^(botocore|boto3)\/data\/[^/]+\/.+/.test(r.file.path))).toBe(true);
    const onDisk = listFiles(readOnly);
    for (const shared of ['endpoints.json', 'partitions.json', '_retry.json', 'sdk-default-configuration.json']) {
      expect(onDisk).toContain(`botocore/data/${shared}`);
    }
    expect(onDisk.some((f) => f.startsWith('botocore/data/ec2/') || f.startsWith('boto3/data/ec2/'))).toBe(false);
    expect(onDisk.length).toBe(result.kept.filter((f) => f.origin === 'deps').length);
  });

  it('makes the whole boto3 function at least 60% smaller unzipped', () => {
    const before = sum(inventory.files);
    const after = sum(result.kept);
    expect(sum(result.removed.map((r) => r.file))).toBe(before - after);
    expect(before - after).toBeLessThanOrEqual(botoDataBytes(inventory.files));
    expect(after / before).toBeLessThan(0.4);
  });

  it('creates s3, dynamodb and sts clients from the read-only tree, and ec2 fails clearly', () => {
    const run = runPythonIn([readOnly, FUNCTION_DIR], CHECK);
    expect(run.stderr).toBe('');
    const out = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(out).toMatchObject({
      handler: 'S3',
      presigned: expect.stringMatching(/^https:\/\/(b\.)?s3\.amazonaws\.com\/(b\/)?k$/),
      item: { id: { S: '1' } },
      table: 't',
      bucket: 'b',
      sts: expect.stringMatching(/^https:\/\/sts\.(us-east-1\.)?amazonaws\.com$/),
      ec2_resource: 'ResourceNotExistsError',
    });
    expect(out.ec2).toMatch(/^Unknown service: 'ec2'\. Valid service names are: dynamodb, s3, .*sts/);
  });
});
