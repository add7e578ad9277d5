/**
 * Lambda layers a function runs with (--with-layer): what they provide, so that the function's
 * zip leaves those packages out, and their content for the import check, placed where Lambda puts
 * it (/opt/python, after /var/task and before the runtime's own packages).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PyslimError } from '../errors.js';
import { inspectZip } from '../inspect/inspect.js';
import { normalizeDistName } from '../python-names.js';
import type { PruneRule } from '../rules/registry.js';
import { extractZipToTemp, removeExtractedTree } from '../zip/extract.js';
import type { Distribution } from '../model/files.js';

/** Where Lambda mounts a layer's python/ folder. */
export const LAYER_ROOT = '/opt/python';
/** The folder a layer zip puts everything under. */
export const LAYER_FOLDER = 'python';

/** Rule under which packages a layer provides are left out of the function. */
export const LAYER_PROVIDED_RULE = 'provided-by-layer';

export interface LayerInfo {
  /** The layer zip (or the report it was read from). */
  path: string;
  /** Distributions it provides, by normalized name, with their versions. */
  packages: { name: string; key: string; version: string }[];
  unzippedBytes: number;
  /** Its content extracted read-only, as /opt/python (or null when only a report was given). */
  root: string | null;
}

/** Reads each layer: a zip (inspected and extracted) or a pyslim JSON report of a layer build. */
export async function loadLayers(files: readonly string[]): Promise<{ layers: LayerInfo[]; release: () => Promise<void> }> {
  const layers: LayerInfo[] = [];
  const extracted: string[] = [];
  try {
    for (const given of files) {
      let file = given;
      if (given.endsWith('.json')) {
        const report = await layerFromReport(given);
        if (!report.zip) {
          layers.push(report.info);
          continue;
        }
        // The zip the report describes is still there: it gives the import check the content.
        file = report.zip;
      }
      const inspected = await inspectZip(file);
      const tree = await extractZipToTemp(file);
      extracted.push(tree.dir);
      const python = path.join(tree.dir, 'python');
      layers.push({
        path: given,
        packages: inspected.packages.map((p) => ({ name: p.name, key: p.key, version: p.version })),
        unzippedBytes: inspected.totals.bytes,
        root: (await fs.stat(python).catch(() => undefined))?.isDirectory() ? python : tree.dir,
      });
    }
  } catch (error) {
    await Promise.all(extracted.map((dir) => removeExtractedTree(dir)));
    throw error;
  }
  return { layers, release: async () => void (await Promise.all(extracted.map((dir) => removeExtractedTree(dir)))) };
}

async function layerFromReport(file: string): Promise<{ info: LayerInfo; zip?: string }> {
  let report: { packages?: { name: string; version: string }[]; output?: { unzippedBytes?: number; path?: string } };
  try {
    report = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (error) {
    throw new PyslimError('INVALID_REPORT', `cannot read the layer report ${file}: ${(error as Error).message}`, { hint: 'Pass the layer zip, or the --json report of its build' });
  }
  if (!Array.isArray(report.packages)) {
    throw new PyslimError('INVALID_REPORT', `${file} is not a pyslim build report (no packages)`, { hint: 'Pass the layer zip, or the --json report of its build' });
  }
  const zip = report.output?.path;
  const info: LayerInfo = {
    path: file,
    packages: report.packages.map((p) => ({ name: p.name, key: normalizeDistName(p.name), version: p.version })),
    unzippedBytes: report.output?.unzippedBytes ?? 0,
    root: null,
  };
  return zip && (await fs.stat(zip).catch(() => undefined))?.isFile() ? { info, zip } : { info };
}

/** Leaves out every file of a distribution some layer provides. */
export function layerProvidedRule(keys: readonly string[]): PruneRule {
  const provided = new Set(keys);
  return {
    name: LAYER_PROVIDED_RULE,
    reason: 'a layer the function runs with provides this package (--with-layer)',
    profile: 'safe',
    exceptions: {},
    matches: (file) => provided.has(file.owner),
  };
}

/** Packages both installed for the function and provided by a layer, with differing versions. */
export function versionMismatches(distributions: readonly Distribution[], layers: readonly LayerInfo[]): string[] {
  const messages: string[] = [];
  for (const dist of distributions) {
    for (const layer of layers) {
      const provided = layer.packages.find((p) => p.key === dist.key);
      if (provided && provided.version !== dist.version) {
        messages.push(`${dist.name} ${dist.version} is required, but the layer ${path.basename(layer.path)} provides ${provided.version}, which Lambda will load instead`);
      }
    }
  }
  return messages;
}
