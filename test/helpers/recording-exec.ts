/** The real subprocess seam, recording what it runs (nothing is mocked). */
import { execSubprocess } from '../../src/exec.js';

export function recordingExec() {
  const calls: string[][] = [];
  const exec: typeof execSubprocess = (command, args, options) => (calls.push([command, ...args]), execSubprocess(command, args, options));
  return { exec, programs: () => calls.map((c) => c[0]!), dryRuns: () => calls.filter((c) => c.includes('--dry-run')).length };
}
