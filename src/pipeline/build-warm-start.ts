/**
 * The warm path's speculation, in one place. A warm rebuild does not wait for what rarely changes
 * between two builds of a function: it starts with the host Python its last build used (the probe
 * through a version-manager shim took 0.35–0.5 s) and, for unpinned requirements, with its last
 * resolution, while the probe and pip run alongside. Before anything is published (the zip
 * renamed into place, the cache written) both must agree. When one does not, the build restarts
 * once, assuming nothing, with what they found; since nothing was published, the restart is
 * invisible but for the time it takes.
 */
import type { ResolvedBuildConfig } from '../config.js';
import type { Exec } from '../exec.js';
import type { HostPython } from '../installers/host-python.js';
import { probedPythonIs, rememberedHostPython } from './install.js';

/** Something a build assumed from its last build turned out wrong; nothing was published. */
class AssumptionFailed extends Error {}

/** What one attempt of a build assumed, and the checks that must agree before it publishes. */
export class WarmStart {
  private python: HostPython | undefined;
  private confirmResolution: (() => Promise<boolean>) | undefined;

  constructor(
    /** False on the restart: assume nothing. */
    readonly mayAssume: boolean,
    private readonly config: ResolvedBuildConfig,
    private readonly exec: Exec,
  ) {}

  /** The host Python to start with instead of waiting for the probe (local installer only), from the cache's note. */
  assumeHostPython(note: unknown): HostPython | undefined {
    if (this.mayAssume && this.config.installer === 'local') this.python = rememberedHostPython(note);
    return this.python;
  }

  /** The dependency layer's check that pip resolved what it assumed (set when it assumed a resolution). */
  assumeResolution(confirm: (() => Promise<boolean>) | undefined): void {
    this.confirmResolution = confirm;
  }

  /** Call before publishing anything: throws (to restart the build) when an assumption was wrong. */
  async checkBeforePublishing(): Promise<void> {
    if (!(await this.holds())) throw new AssumptionFailed();
  }

  /** A failure may be the fault of an assumption: then the probe and pip decide, and the build restarts. */
  async explainFailure(error: unknown): Promise<unknown> {
    if (error instanceof AssumptionFailed || (await this.holds())) return error;
    return new AssumptionFailed();
  }

  private async holds(): Promise<boolean> {
    return (!this.python || (await probedPythonIs(this.config, this.exec, this.python))) && (!this.confirmResolution || (await this.confirmResolution()));
  }
}

/** Runs a build attempt that may assume; if an assumption failed, runs it once more assuming nothing. */
export async function withWarmStart<T>(config: ResolvedBuildConfig, exec: Exec, attempt: (warm: WarmStart) => Promise<T>): Promise<T> {
  try {
    return await attempt(new WarmStart(true, config, exec));
  } catch (error) {
    if (!(error instanceof AssumptionFailed)) throw error;
    return attempt(new WarmStart(false, config, exec));
  }
}
