/** Size arguments such as `10MB`, `50MiB` or `3000000`, for budgets and limits. */
import { PyslimError } from './errors.js';

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  k: 1e3,
  m: 1e6,
  g: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** Lambda's unzipped limit, function and layers together: 250 MiB, exactly. */
export const LAMBDA_UNZIPPED_LIMIT = 262_144_000;
/** Lambda's limit for a zip uploaded directly; larger zips must go through S3. */
export const LAMBDA_DIRECT_UPLOAD_LIMIT = 50 * 1024 * 1024;

/**
 * Parses a size: a bare number is bytes, `KB`/`MB`/`GB` are decimal (1000), `KiB`/`MiB`/`GiB`
 * binary (1024). Units are case-insensitive and may follow a space. Throws INVALID_SIZE.
 */
export function parseSize(text: string, what = 'size'): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const factor = match ? UNITS[(match[2] || 'b').toLowerCase()] : undefined;
  if (!match || factor === undefined) {
    throw new PyslimError('INVALID_SIZE', `invalid ${what} "${text}"`, {
      hint: 'Use a number of bytes or a unit, e.g. 3000000, 10MB, 50MiB',
    });
  }
  const bytes = Math.round(Number(match[1]) * factor);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new PyslimError('INVALID_SIZE', `invalid ${what} "${text}"`, { hint: 'Use a positive size, e.g. 10MB' });
  }
  return bytes;
}
