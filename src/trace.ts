/**
 * CPU clocks for the build trace: this Node process's own CPU, and the CPU of the subprocesses it
 * has waited for (pip, python, zip readers), which Linux adds to /proc/self/stat as each one ends.
 */
import { readFileSync } from 'node:fs';

/** Linux's USER_HZ: /proc reports children's CPU in these ticks (100 on every Linux Node supports). */
const TICKS_PER_SECOND = 100;

export interface CpuClock {
  /** Milliseconds of CPU this process has used (user + system). */
  ownMs: number;
  /** Milliseconds of CPU used by the children it has reaped, and their own reaped children; null off Linux. */
  childrenMs: number | null;
}

export function readCpuClock(): CpuClock {
  const own = process.cpuUsage();
  return { ownMs: (own.user + own.system) / 1000, childrenMs: childrenCpuMs() };
}

function childrenCpuMs(): number | null {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 16 and 17 of stat(5), cutime and cstime, are the 14th and 15th after the name.
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}
