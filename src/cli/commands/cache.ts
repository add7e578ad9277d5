/** `pyslim cache clean`: empties the dependency cache. */
import type { Command } from 'commander';
import prettyBytes from 'pretty-bytes';
import { DepsCache } from '../../cache/store.js';
import { resolveCacheDir } from '../../config.js';
import { runReader, type Io, type SetExitCode } from '../io.js';

export function registerCache(program: Command, io: Io, setExitCode: SetExitCode): void {
  const cache = program.command('cache').description("manage pyslim's dependency cache");
  cache
    .command('clean')
    .description('remove every cached dependency layer')
    .option('--cache-dir <dir>', 'the cache folder (default: $PYSLIM_CACHE_DIR, else $XDG_CACHE_HOME/pyslim, else ~/.cache/pyslim)')
    .action(async (flags: { cacheDir?: string }) =>
      setExitCode(
        await runReader(io, {}, async () => {
          const dir = resolveCacheDir(flags.cacheDir, io.env, process.cwd());
          const { entries, bytes } = await new DepsCache(dir).clean();
          io.out(`removed ${entries} cached layer${entries === 1 ? '' : 's'} (${prettyBytes(bytes)}) from ${dir}\n`);
        }),
      ),
    );
}
