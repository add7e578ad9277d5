/**
 * A CPU quota equal to Lambda's share, from the cgroup CPU controller: one child cgroup per run,
 * created before the interpreter starts and removed once it has ended (its processes killed
 * first, so that nothing is left running). cgroup v2 `cpu.max` where the unified hierarchy has
 * the cpu controller, else v1 `cpu.cfs_quota_us`.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Where the hierarchies are mounted on these machines (a hybrid layout has both). */
export const CGROUP_ROOTS = { v2: '/sys/fs/cgroup/unified', v1: '/sys/fs/cgroup/cpu' } as const;

/** The scheduling period the quota is a share of, in µs. */
const PERIOD_US = 100_000;
/** The kernel refuses quotas under 1 ms. */
const MIN_QUOTA_US = 1_000;

export interface CpuController {
  method: 'cgroup-v2' | 'cgroup-v1';
  /** The folder the per-run cgroups are created in. */
  parent: string;
}

/** The usable CPU controller, or why there is none (one line). */
export async function findCpuController(roots: { v2: string; v1: string } = CGROUP_ROOTS): Promise<CpuController | { note: string }> {
  const v2 = await fs.readFile(path.join(roots.v2, 'cgroup.controllers'), 'utf8').catch(() => '');
  const candidates: CpuController[] = [];
  if (v2.split(/\s+/).includes('cpu')) candidates.push({ method: 'cgroup-v2', parent: roots.v2 });
  if (await exists(path.join(roots.v1, 'cpu.cfs_quota_us'))) candidates.push({ method: 'cgroup-v1', parent: roots.v1 });
  const problems: string[] = [];
  for (const controller of candidates) {
    // Creating (and removing) a probe is the only sure test of permission.
    const probe = await createCgroup(controller, 1).catch((error: NodeJS.ErrnoException) => {
      problems.push(`${controller.parent}: ${error.code ?? error.message}`);
      return undefined;
    });
    if (probe === undefined) continue;
    await removeCgroup(probe);
    return controller;
  }
  const why = candidates.length === 0 ? `no cgroup CPU controller at ${roots.v2} or ${roots.v1}` : `cannot create a cgroup (${problems.join('; ')}); run as root`;
  return { note: `no CPU quota could be applied (${why}): the figures per memory setting are estimates from the host's init` };
}

/** One run's cgroup: its folder, and the file a process writes its pid to in order to join it. */
export interface RunCgroup {
  dir: string;
  procs: string;
}

let counter = 0;

export async function createCgroup(controller: CpuController, vcpu: number): Promise<RunCgroup> {
  const dir = path.join(controller.parent, `pyslim-${process.pid}-${++counter}`);
  await fs.mkdir(dir);
  try {
    const quota = Math.max(MIN_QUOTA_US, Math.round(PERIOD_US * vcpu));
    if (controller.method === 'cgroup-v2') {
      await fs.writeFile(path.join(dir, 'cpu.max'), `${quota} ${PERIOD_US}`);
    } else {
      await fs.writeFile(path.join(dir, 'cpu.cfs_period_us'), String(PERIOD_US));
      await fs.writeFile(path.join(dir, 'cpu.cfs_quota_us'), String(quota));
    }
    return { dir, procs: path.join(dir, 'cgroup.procs') };
  } catch (error) {
    await fs.rmdir(dir).catch(() => undefined); // the write failed; the folder is still empty
    throw error;
  }
}

/** Kills whatever is still in the cgroup, then removes it (a cgroup with processes cannot be removed). */
export async function removeCgroup(cgroup: RunCgroup): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const pids = (await fs.readFile(cgroup.procs, 'utf8').catch(() => '')).split('\n').filter(Boolean);
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // It ended on its own between the read and the kill.
      }
    }
    try {
      await fs.rmdir(cgroup.dir);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      await sleep(20); // EBUSY until the killed processes are reaped
    }
  }
  throw new Error(`could not remove the cgroup ${cgroup.dir}`);
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}
