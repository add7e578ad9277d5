/**
 * The advisor's finding codes, each with its one-line reason and fix. docker/advise.py finds
 * them; the text lives here, once. `subject` is the call or module the finding is about.
 */

const AFTER_RESTORE = 'with `from snapshot_restore_py import register_after_restore`, do it in a function decorated with @register_after_restore';

export const FINDINGS = {
  SDK_CLIENT_IN_HANDLER: {
    reason: (s: string) => `${s}() runs on every invocation: each call builds a new client (endpoint and credential resolution, a new TLS connection)`,
    fix: () => 'build it once at module level (e.g. _s3 = boto3.client("s3")) and reuse it in the handler',
  },
  NETWORK_AT_INIT: {
    reason: (s: string) => `${s} runs at import outside try/except: if it fails, Lambda reports an init error and discards the environment, and the next request is another cold start`,
    fix: () => 'fetch it lazily on the first invocation and cache it in a global, or wrap it in try/except with a fallback',
  },
  IMPORT_ON_ONE_BRANCH: {
    reason: (s: string, ms: number | null) => `${s} is imported at init${ms === null ? '' : ` (${Math.round(ms)} ms at full CPU)`} but used only on some paths of the handler`,
    fix: (s: string) => `move "import ${s}" into the branch that uses it; every cold start that does not take that branch skips it`,
  },
  HELPER_IMPORT_UNUSED: {
    reason: (s: string, ms: number | null) => `this helper imports ${s} at init${ms === null ? '' : ` (${Math.round(ms)} ms at full CPU)`}, but only functions the handler module never refers to use it`,
    fix: (s: string) => `import ${s} inside the functions that use it, or move them to another module`,
  },
  SNAPSTART_RANDOM: {
    reason: (s: string) => `${s} at import: every environment restored from one SnapStart snapshot draws the same numbers`,
    fix: () => `re-seed after restore: ${AFTER_RESTORE} that calls random.seed() (or use secrets / random.SystemRandom)`,
  },
  SNAPSTART_SECRETS: {
    reason: (s: string) => `${s} at import: a SnapStart snapshot would clone the token into every restored environment`,
    fix: () => `generate it per request, or ${AFTER_RESTORE}`,
  },
  SNAPSTART_UUID: {
    reason: (s: string) => `${s}() at import: every environment restored from one snapshot would share the ID`,
    fix: () => `make the ID per request, or ${AFTER_RESTORE}`,
  },
  SNAPSTART_URANDOM: {
    reason: (s: string) => `${s}() at import: the random bytes would be the same in every restored environment`,
    fix: () => `draw them per request, or ${AFTER_RESTORE}`,
  },
  SNAPSTART_TIMESTAMP: {
    reason: (s: string) => `${s}() cached at import: after a SnapStart restore it is the snapshot's time, possibly days old`,
    fix: () => `read the clock when it is needed, or ${AFTER_RESTORE}`,
  },
  SNAPSTART_CONNECTION: {
    reason: (s: string) => `${s}() at import: a connection opened at init is not guaranteed to survive a SnapStart restore`,
    fix: () => `open it lazily and reconnect on failure, or ${AFTER_RESTORE} that reconnects`,
  },
  SNAPSTART_CREDENTIALS: {
    reason: (s: string) => `${s} at import: credentials or secrets fetched at init are cloned into every restored environment and may have expired`,
    fix: () => `fetch them on first use with an expiry, or ${AFTER_RESTORE} that refreshes them`,
  },
} as const satisfies Record<string, { reason: (subject: string, ms: number | null) => string; fix: (subject: string) => string }>;

export type FindingCode = keyof typeof FINDINGS;

export function isFindingCode(code: string): code is FindingCode {
  return Object.hasOwn(FINDINGS, code);
}

/** Codes whose finding stands only when the import it names was measured as heavy. */
export const NEEDS_HEAVY_IMPORT: readonly FindingCode[] = ['IMPORT_ON_ONE_BRANCH', 'HELPER_IMPORT_UNUSED'];

/** An import is heavy from this init time at the host's full CPU (about 0.14 s at the 128 MB share). */
export const HEAVY_IMPORT_MS = 10;
