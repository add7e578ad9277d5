/**
 * --boto-services: keep the botocore service models of the AWS services a function uses, and
 * leave out the other ~430.
 *
 * botocore ships one folder per service, `botocore/data/<service>/<api-version>/` (service-2,
 * endpoint-rule-set-1, paginators-1, waiters-2, examples-1; most `.json.gz`), and reads a folder
 * only when a client for that service is created (botocore/loaders.py `load_service_model`). The
 * top-level files of botocore/data (endpoints.json, partitions.json, _retry.json,
 * sdk-default-configuration.json) are read by every session and client, so they always stay.
 *
 * boto3's resource models (`boto3/data/<service>/<api-version>/resources-1.json`, nine services,
 * about 0.65 MB of which ec2 is 0.5 MB) are trimmed by the same list: a resource drives the
 * client of the same service name (boto3/session.py `Session.resource` creates `self.client(...)`),
 * so a resource model whose service model is gone can never be used.
 *
 * This module is pure: it reads file lists and returns names and a PruneRule.
 */
import { PyslimError } from '../errors.js';
import type { PruneRule, RuleTarget } from './registry.js';
import type { AliasedService, ImpliedService } from '../model/report.js';

/** Name under which --boto-services removals are reported. */
export const BOTO_SERVICES_RULE = 'boto-services';

/**
 * Client names that boto3.client() accepts besides the folder names: botocore/utils.py
 * `SERVICE_NAME_ALIASES`, applied to every client through the 'choose-service-name' event
 * (botocore/handlers.py `handle_service_name_alias`, called from botocore/client.py
 * `ClientCreator.create_client`).
 */
export const CLIENT_NAME_ALIASES = {
  'runtime.sagemaker': 'sagemaker-runtime',
} as const satisfies Record<string, string>;

/**
 * Hyphenated service ids that differ from the client name, reversed from botocore/utils.py
 * `CLIENT_NAME_TO_HYPHENIZED_SERVICE_ID_OVERRIDES` (botocore reads these ids in per-service
 * config: `[services]` sections and AWS_ENDPOINT_URL_<ID>). boto3.client() rejects them, but a
 * user who writes `eventbridge` or `cloudwatch-logs` clearly means that service, so pyslim accepts
 * them and reports the client name it kept. 'sms-voice' -> 'pinpoint-sms-voice' is left out:
 * pinpoint-sms-voice is also a service of its own, and folder names always win.
 */
export const SERVICE_ID_ALIASES = {
  'api-gateway': 'apigateway',
  'application-auto-scaling': 'application-autoscaling',
  'app-mesh': 'appmesh',
  'auto-scaling': 'autoscaling',
  'auto-scaling-plans': 'autoscaling-plans',
  'cost-explorer': 'ce',
  'cloudhsm-v2': 'cloudhsmv2',
  'cloudsearch-domain': 'cloudsearchdomain',
  'cognito-identity-provider': 'cognito-idp',
  'config-service': 'config',
  'cost-and-usage-report-service': 'cur',
  'data-pipeline': 'datapipeline',
  'direct-connect': 'directconnect',
  'device-farm': 'devicefarm',
  'application-discovery-service': 'discovery',
  'database-migration-service': 'dms',
  'directory-service': 'ds',
  'directory-service-data': 'ds-data',
  'dynamodb-streams': 'dynamodbstreams',
  'elastic-beanstalk': 'elasticbeanstalk',
  'elastic-load-balancing': 'elb',
  'elastic-load-balancing-v2': 'elbv2',
  'elasticsearch-service': 'es',
  eventbridge: 'events',
  'global-accelerator': 'globalaccelerator',
  'iot-data-plane': 'iot-data',
  'iot-jobs-data-plane': 'iot-jobs-data',
  'iot-wireless': 'iotwireless',
  'kinesis-analytics': 'kinesisanalytics',
  'kinesis-analytics-v2': 'kinesisanalyticsv2',
  'kinesis-video': 'kinesisvideo',
  'lex-model-building-service': 'lex-models',
  'lex-models-v2': 'lexv2-models',
  'lex-runtime-service': 'lex-runtime',
  'lex-runtime-v2': 'lexv2-runtime',
  'cloudwatch-logs': 'logs',
  'machine-learning': 'machinelearning',
  'marketplace-commerce-analytics': 'marketplacecommerceanalytics',
  'marketplace-entitlement-service': 'marketplace-entitlement',
  'marketplace-metering': 'meteringmarketplace',
  'migration-hub': 'mgh',
  'resource-groups-tagging-api': 'resourcegroupstaggingapi',
  'route-53': 'route53',
  'route-53-domains': 'route53domains',
  's3-control': 's3control',
  simpledb: 'sdb',
  'secrets-manager': 'secretsmanager',
  serverlessapplicationrepository: 'serverlessrepo',
  'service-catalog': 'servicecatalog',
  'service-catalog-appregistry': 'servicecatalog-appregistry',
  sfn: 'stepfunctions',
  'storage-gateway': 'storagegateway',
} as const satisfies Record<string, string>;

/**
 * Services that botocore's own credential chain creates clients for (botocore/credentials.py
 * `create_credential_resolver` and `ProfileProviderBuilder.providers`), with the provider that
 * calls each one.
 *
 * Decision: they are ALWAYS kept, whatever --boto-services lists. On Lambda the chain normally
 * stops at EnvProvider (the runtime sets AWS_ACCESS_KEY_ID and friends), so these are usually
 * dead weight; but together they weigh under 60 KB against the ~17 MB the option removes, and
 * the failure they prevent is the worst kind: an UnknownServiceError raised from inside the
 * credential chain, possibly only at the first refresh an hour after a cold start, in a
 * configuration (AWS_PROFILE, a bundled AWS_CONFIG_FILE, web identity variables) that local
 * tests rarely exercise. A function that calls STS itself (AssumeRole, GetCallerIdentity) is
 * covered too, even if the user forgets to list sts. cognito-identity is not here: botocore only
 * registers unsigned-request handlers for it (botocore/handlers.py), its credential chain never
 * calls it.
 */
export const CREDENTIAL_SERVICES = {
  sts:
    'botocore credential chain: AssumeRoleProvider (role_arn in a profile) and AssumeRoleWithWebIdentityProvider ' +
    '(AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE) call STS AssumeRole / AssumeRoleWithWebIdentity',
  sso: 'botocore credential chain: SSOProvider (sso_start_url or sso_session in a profile) calls SSO GetRoleCredentials',
  'sso-oidc': 'botocore credential chain: SSOTokenProvider (botocore/tokens.py) refreshes SSO tokens with SSO-OIDC CreateToken',
  signin: "botocore credential chain: LoginProvider (login_session in a profile, from 'aws login') refreshes with Signin CreateOAuth2Token",
} as const satisfies Record<string, string>;

export interface BotoServiceResolution {
  /** Service folder names to keep, requested and implied, sorted. */
  keep: string[];
  /** Services kept without being requested (the credential services), sorted by service. */
  implied: ImpliedService[];
  /** Requested names resolved through an alias, in request order. */
  aliased: AliasedService[];
}

const BOTOCORE_DATA = ['botocore', 'data'] as const;
const BOTO3_DATA = ['boto3', 'data'] as const;

/** The service folder a path belongs to (botocore/data/<service>/…), or undefined. */
function serviceOf(segments: readonly string[], root: readonly [string, string]): string | undefined {
  // At least root/<service>/<file>: files directly in botocore/data are shared, never a service's.
  if (segments.length < 4 || segments[0] !== root[0] || segments[1] !== root[1]) return undefined;
  return segments[2];
}

/**
 * Service folder names present under botocore/data/, sorted. Pass the installed files; files of
 * the function's own source (origin 'source') are ignored, as the prune rules never touch them.
 */
export function listBotoServices(files: readonly { path: string; origin?: string }[]): string[] {
  const services = new Set<string>();
  for (const file of files) {
    if (file.origin === 'source') continue;
    const service = serviceOf(file.path.split('/'), BOTOCORE_DATA);
    if (service) services.add(service);
  }
  return [...services].sort();
}

/**
 * Resolves --boto-services names (as written in `boto3.client('...')`, case-insensitive) against
 * the service folders present, and adds the credential services botocore itself calls.
 * Throws UNKNOWN_SERVICE, with near matches, for names that are no service; INVALID_OPTION when
 * the list is empty or botocore has no service data in the tree.
 */
export function resolveBotoServices(requested: readonly string[], available: readonly string[]): BotoServiceResolution {
  const names = [...new Set(requested.map((name) => name.trim().toLowerCase()).filter(Boolean))];
  if (names.length === 0) {
    // Almost always an unset variable in a script: trimming every service would break every client.
    throw new PyslimError('INVALID_OPTION', '--boto-services lists no service', {
      hint: "Pass the names the function gives boto3.client(), e.g. --boto-services s3,dynamodb",
    });
  }
  if (available.length === 0) {
    throw new PyslimError('INVALID_OPTION', '--boto-services was given, but no botocore service data is installed', {
      hint: 'Remove --boto-services, or add boto3 to the requirements',
      distribution: 'botocore',
    });
  }
  const present = new Set(available);
  const keep = new Set<string>();
  const aliased: AliasedService[] = [];
  const unknown: string[] = [];
  for (const name of names) {
    if (present.has(name)) {
      keep.add(name);
      continue;
    }
    const alias = aliasOf(name);
    if (alias && present.has(alias.service)) {
      keep.add(alias.service);
      aliased.push({ requested: name, ...alias });
    } else {
      unknown.push(name);
    }
  }
  if (unknown.length > 0) throw unknownServices(unknown, available);

  const implied: ImpliedService[] = [];
  for (const [service, why] of Object.entries(CREDENTIAL_SERVICES)) {
    // Older botocore releases lack some of them (signin is recent); only what exists can be kept.
    if (!present.has(service) || keep.has(service)) continue;
    keep.add(service);
    implied.push({ service, why });
  }
  implied.sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
  return { keep: [...keep].sort(), implied, aliased };
}

function aliasOf(name: string): { service: string; why: string } | undefined {
  if (Object.hasOwn(CLIENT_NAME_ALIASES, name)) {
    const service = CLIENT_NAME_ALIASES[name as keyof typeof CLIENT_NAME_ALIASES];
    return { service, why: `botocore maps the client name '${name}' to '${service}'` };
  }
  if (Object.hasOwn(SERVICE_ID_ALIASES, name)) {
    const service = SERVICE_ID_ALIASES[name as keyof typeof SERVICE_ID_ALIASES];
    return { service, why: `'${name}' is the service id of '${service}', the name boto3.client() takes` };
  }
  return undefined;
}

const MAX_SUGGESTIONS = 5;

function unknownServices(unknown: readonly string[], available: readonly string[]): PyslimError {
  const parts = unknown.map((name) => {
    const near = nearServiceNames(name, available);
    return near.length > 0 ? `'${name}' (did you mean ${near.join(', ')}?)` : `'${name}'`;
  });
  const noun = unknown.length === 1 ? 'service' : 'services';
  return new PyslimError('UNKNOWN_SERVICE', `unknown AWS ${noun} in --boto-services: ${parts.join(', ')}`, {
    hint:
      "Use the names boto3.client() takes (the folders of botocore/data); list them with " +
      `python3 -c "import boto3; print(*boto3.session.Session().get_available_services())"`,
    distribution: 'botocore',
  });
}

/**
 * Service names close to `name`: within a small edit distance, sharing a prefix, or reached
 * through an alias that is itself close (so 'cloudwatchlogs' suggests 'logs').
 */
export function nearServiceNames(name: string, available: readonly string[]): string[] {
  const present = new Set(available);
  // One suggestion per service, through its closest spelling; the folder name wins a tie.
  const best = new Map<string, { score: number; label: string }>();
  const consider = (candidate: string, service: string) => {
    if (!present.has(service)) return;
    const distance = editDistance(name, candidate);
    const limit = name.length <= 4 ? 1 : 2;
    const prefix =
      (name.length >= 3 && candidate.startsWith(name)) || (candidate.length >= 3 && name.startsWith(candidate));
    if (distance > limit && !prefix) return;
    const score = Math.min(distance, limit);
    const seen = best.get(service);
    if (!seen || seen.score > score) best.set(service, { score, label: candidate === service ? service : `${service} (${candidate})` });
  };
  for (const service of available) consider(service, service);
  for (const [alias, service] of Object.entries({ ...CLIENT_NAME_ALIASES, ...SERVICE_ID_ALIASES })) consider(alias, service);
  return [...best.values()]
    .sort((a, b) => a.score - b.score || a.label.length - b.label.length || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0))
    .slice(0, MAX_SUGGESTIONS)
    .map(({ label }) => label);
}

/** Optimal string alignment distance: Levenshtein plus adjacent transpositions ("lamdba"). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The rule that removes botocore/data/<service>/… and boto3/data/<service>/… for every service
 * not in `keep` (folder names, as resolveBotoServices returns them). Files directly in
 * botocore/data and boto3/data are never removed. Profile 'safe': the pipeline applies it only
 * when the user passes --boto-services.
 */
export function botoServicesRule(keep: readonly string[]): PruneRule {
  const kept = new Set(keep);
  return {
    name: BOTO_SERVICES_RULE,
    reason: 'botocore reads a service model only when a client for that service is created, and --boto-services lists the ones the function creates',
    profile: 'safe',
    exceptions: {},
    matches: (file: RuleTarget) => {
      const service = serviceOf(file.segments, BOTOCORE_DATA) ?? serviceOf(file.segments, BOTO3_DATA);
      return service !== undefined && !kept.has(service);
    },
  };
}

/**
 * Bytes of per-service data under botocore/data/<service>/ and boto3/data/<service>/: what
 * --boto-services could remove at most. The report uses it to suggest the option when absent.
 */
export function botoDataBytes(files: readonly { path: string; size: number; origin?: string }[]): number {
  let bytes = 0;
  for (const file of files) {
    if (file.origin === 'source') continue;
    const segments = file.path.split('/');
    if (serviceOf(segments, BOTOCORE_DATA) ?? serviceOf(segments, BOTO3_DATA)) bytes += file.size;
  }
  return bytes;
}
