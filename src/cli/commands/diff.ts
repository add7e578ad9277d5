/** `pyslim diff <before> <after>`: per-package deltas between two zips or reports. */
import path from 'node:path';
import type { Command } from 'commander';
import { diffReports, readComparable } from '../../inspect/diff.js';
import { runReader, writeFileAtomic, type Io, type SetExitCode } from '../io.js';
import { renderDiffTable } from '../render-inspect.js';

export function registerDiff(program: Command, io: Io, setExitCode: SetExitCode): void {
  program
    .command('diff')
    .description('per-package deltas between two zips (or pyslim JSON reports)')
    .argument('<before>', 'zip or report JSON')
    .argument('<after>', 'zip or report JSON')
    .option('--json <file>', 'write the diff as JSON')
    .option('--all', 'list unchanged packages too')
    .option('--debug', 'show stack traces on failure')
    .action(async (before: string, after: string, flags: { json?: string; all?: boolean; debug?: boolean }) =>
      setExitCode(
        await runReader(io, flags, async () => {
          const diff = diffReports(await readComparable(before), await readComparable(after));
          if (flags.json) await writeFileAtomic(path.resolve(flags.json), `${JSON.stringify(diff, null, 2)}\n`);
          io.out(`${renderDiffTable(diff, { all: flags.all })}\n`);
        }),
      ),
    );
}
