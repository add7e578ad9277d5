/** `pyslim rules`: the prune rules, what each removes and why. */
import type { Command } from 'commander';
import type { Io } from '../io.js';
import { renderRules } from '../render-table.js';

export function registerRules(program: Command, io: Io): void {
  program
    .command('rules')
    .description('list the prune rules, what each removes and why, and its known exceptions')
    .action(() => io.out(`${renderRules()}\n`));
}
