/**
 * Gives the whole test run one private dependency cache (PYSLIM_CACHE_DIR), so that tests never
 * read or fill the user's ~/.cache/pyslim. Tests about the cache itself use their own folders.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export default function setup(): () => void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pyslim-test-cache-'));
  process.env.PYSLIM_CACHE_DIR = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
