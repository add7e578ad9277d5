/** Files pyslim ships beside its code: the scripts in docker/ that run on a target interpreter. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's docker/ folder (from src/ under tests, from dist/ when installed). */
export const SCRIPTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'docker');

export function scriptPath(name: string): string {
  return path.join(SCRIPTS_DIR, name);
}

/** pyslim's own version, recorded in reports (and, later, in cache keys). */
export const PYSLIM_VERSION: string = (
  JSON.parse(readFileSync(path.resolve(SCRIPTS_DIR, '..', 'package.json'), 'utf8')) as { version: string }
).version;
