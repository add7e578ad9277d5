/**
 * Turning a failed pip run into one line that says what is wrong and what to do. pip's own words
 * stay in the error's details, shown with --debug.
 */
import { PyslimError } from '../errors.js';
import { lastLines, type ExecResult } from '../exec.js';
import { requirementName } from '../python-names.js';
import { redact } from '../redact.js';
import { RUNTIMES, type ArchName, type RuntimeName } from '../runtimes.js';

export interface PipFailureContext {
  runtime: RuntimeName;
  arch: ArchName;
  installer: 'local' | 'docker';
  /**
   * For the local installer: finds the wheel pip would pick for the requirement if the glibc cap
   * were lifted, to tell "needs a newer glibc" from "has no wheel at all".
   */
  probeNewerGlibc?: (requirement: string) => Promise<string | undefined>;
}

/** The requirement pip could not satisfy, from its error lines. */
export function unsatisfiedRequirement(output: string): { requirement: string; versions: string | undefined } | undefined {
  const satisfies = /Could not find a version that satisfies the requirement (.+?) \(from versions: ([^)]*)\)/.exec(output);
  if (satisfies) return { requirement: satisfies[1]!.trim(), versions: satisfies[2]!.trim() };
  const noMatch = /No matching distribution found for (\S.*)$/m.exec(output);
  return noMatch ? { requirement: noMatch[1]!.trim(), versions: undefined } : undefined;
}

/** The lowest glibc a wheel's file name says it needs for the architecture, e.g. "2.27". */
export function wheelGlibc(filename: string): string | undefined {
  const minors = [...filename.matchAll(/manylinux_2_(\d+)_/g)].map((m) => Number(m[1]));
  if (/manylinux2014_/.test(filename)) minors.push(17);
  if (/manylinux2010_/.test(filename)) minors.push(12);
  if (/manylinux1_/.test(filename)) minors.push(5);
  return minors.length ? `2.${Math.min(...minors)}` : undefined;
}

export async function diagnosePipFailure(result: ExecResult, context: PipFailureContext): Promise<PyslimError> {
  const output = redact(`${result.stdout}\n${result.stderr}`);
  const details = lastLines(output, 25);
  const { runtime, arch } = context;
  const target = `${runtime} on ${arch} (glibc ${RUNTIMES[runtime].glibc})`;
  const failed = unsatisfiedRequirement(output);

  if (/No module named pip\b/.test(output)) {
    return new PyslimError('PIP_MISSING', 'pip is not installed for the Python that runs the install', {
      hint: 'Install pip (python3 -m ensurepip --upgrade)',
      details,
    });
  }
  if (failed && context.installer === 'local') {
    const name = requirementName(failed.requirement) ?? failed.requirement;
    const newer = await context.probeNewerGlibc?.(failed.requirement);
    const needs = newer ? wheelGlibc(newer) : undefined;
    if (needs) {
      return new PyslimError('NO_COMPATIBLE_WHEEL', `${failed.requirement} has no wheel for ${target}: its only matching wheel (${newer}) needs glibc ${needs}`, {
        hint: `Pin an older ${name} that ships manylinux wheels for glibc ${RUNTIMES[runtime].glibc}, use a newer runtime (python3.12+ has glibc 2.34), or build with --installer docker`,
        distribution: name,
        details,
      });
    }
    const available = failed.versions && failed.versions !== 'none' ? ` (versions with a compatible wheel: ${failed.versions})` : '';
    return new PyslimError('NO_COMPATIBLE_WHEEL', `no wheel of ${failed.requirement} fits ${target} in the configured indexes${available}`, {
      hint: `Check the name and version; if ${name} ships only a source distribution, build with --installer docker to compile it in the Lambda image`,
      distribution: name,
      details,
    });
  }
  if (failed) {
    const name = requirementName(failed.requirement) ?? failed.requirement;
    return new PyslimError('UNRESOLVABLE', `pip found no version of ${failed.requirement} for ${target}`, {
      hint: 'Check the name and version, and that the index configuration reaches the container (--index-url, --find-links)',
      distribution: name,
      details,
    });
  }
  if (/ResolutionImpossible|conflicting dependencies/i.test(output)) {
    const conflict = /The conflict is caused by:\s*\n([\s\S]*?)(?:\n\s*\n|To fix this)/.exec(output)?.[1];
    return new PyslimError('UNRESOLVABLE', `pip cannot resolve the requirements: ${(conflict ?? 'conflicting dependencies').replace(/\s+/g, ' ').trim()}`, {
      hint: 'Loosen the conflicting pins in the requirements',
      details,
    });
  }
  const invalid = /Invalid requirement: '?([^'\n]+)'?/.exec(output);
  if (invalid) {
    return new PyslimError('UNRESOLVABLE', `invalid requirement "${invalid[1]}"`, {
      hint: 'Fix the requirements file (PEP 508 syntax, e.g. "requests>=2.31")',
      details,
    });
  }
  if (/DO NOT MATCH THE HASHES|Hashes are required/.test(output)) {
    return new PyslimError('PIP_FAILED', 'pip rejected a package whose hash does not match the requirements', {
      hint: 'Regenerate the hashes for this platform, or remove them',
      details,
    });
  }
  const lastError = [...output.matchAll(/^ERROR: (.+)$/gm)].pop()?.[1] ?? lastLines(output, 1);
  return new PyslimError('PIP_FAILED', `pip failed (exit ${result.exitCode ?? result.signal ?? 'unknown'}): ${lastError}`, {
    hint: 'Run again with --debug to see pip\'s output',
    details,
  });
}
