/** `pyslim inspect <zip>`: per-package sizes of any Lambda zip. */
import path from 'node:path';
import type { Command } from 'commander';
import { inspectZip } from '../../inspect/inspect.js';
import { runReader, writeFileAtomic, type Io, type SetExitCode } from '../io.js';
import { renderInspectTable } from '../render-inspect.js';

export function registerInspect(program: Command, io: Io, setExitCode: SetExitCode): void {
  program
    .command('inspect')
    .description('per-package sizes, compressed and unzipped, of any Lambda zip')
    .argument('<zip>', 'a deployment zip, from pyslim or any other tool')
    .option('--json <file>', 'write the result as JSON')
    .option('--debug', 'show stack traces on failure')
    .action(async (zip: string, flags: { json?: string; debug?: boolean }) =>
      setExitCode(
        await runReader(io, flags, async () => {
          const report = await inspectZip(zip);
          if (flags.json) await writeFileAtomic(path.resolve(flags.json), `${JSON.stringify(report, null, 2)}\n`);
          io.out(`${renderInspectTable(report)}\n`);
        }),
      ),
    );
}
