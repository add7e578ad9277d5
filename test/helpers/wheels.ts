/**
 * Real, minimal wheels (pure Python, built by the host Python's zipfile) and the places pip finds
 * them: a find-links folder, or a PEP 503 simple index on disk (file://) or served over HTTP.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { HOST_PYTHON } from './lambda.js';

/** Writes <name>-<version>-py3-none-any.whl into `folder`, requiring `requires`; returns its path. */
export function makeWheel(folder: string, name: string, version: string, requires: string[] = []): string {
  execFileSync(HOST_PYTHON, [
    '-c',
    `import zipfile, sys
name, version, out = sys.argv[1:4]
requires = "".join(f"Requires-Dist: {r}\\n" for r in sys.argv[4:])
info = f"{name}-{version}.dist-info"
files = {f"{name}.py": "PY3 = True\\n", f"{info}/METADATA": f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n{requires}\\n", f"{info}/WHEEL": "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"}
files[f"{info}/RECORD"] = "".join(f"{p},,\\n" for p in files) + f"{info}/RECORD,,\\n"
with zipfile.ZipFile(f"{out}/{name}-{version}-py3-none-any.whl", "w") as z:
    for path, text in files.items(): z.writestr(path, text)`,
    name,
    version,
    folder,
    ...requires,
  ]);
  return path.join(folder, `${name}-${version}-py3-none-any.whl`);
}

/**
 * (Re)writes the simple-index pages under `root` (simple/<project>/index.html) for the wheels in
 * root/files, with their sha256 in the links as PyPI gives them. Returns the index URL path part.
 */
export function writeSimpleIndex(root: string): string {
  const files = path.join(root, 'files');
  const byProject = new Map<string, string[]>();
  for (const wheel of readdirSync(files).filter((f) => f.endsWith('.whl')).sort()) {
    const project = wheel.split('-')[0]!.toLowerCase().replace(/[-_.]+/g, '-');
    byProject.set(project, [...(byProject.get(project) ?? []), wheel]);
  }
  for (const [project, wheels] of byProject) {
    const links = wheels.map((w) => `<a href="../../files/${w}#sha256=${createHash('sha256').update(readFileSync(path.join(files, w))).digest('hex')}">${w}</a>`);
    mkdirSync(path.join(root, 'simple', project), { recursive: true });
    writeFileSync(path.join(root, 'simple', project, 'index.html'), `<!DOCTYPE html><html><body>\n${links.join('\n')}\n</body></html>\n`);
  }
  return path.join(root, 'simple');
}

/** Writes a wheel with this platform tag (e.g. cp311-cp311-manylinux_2_17_aarch64); its content is a stub, pip only reads the name and METADATA. */
export function makeTaggedWheel(folder: string, name: string, version: string, tag: string): string {
  const file = `${name}-${version}-${tag}.whl`;
  execFileSync(HOST_PYTHON, [
    '-c',
    `import zipfile, sys
name, version, tag, out = sys.argv[1:5]
info = f"{name}-{version}.dist-info"
files = {f"{name}/__init__.py": "", f"{info}/METADATA": f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n\\n", f"{info}/WHEEL": f"Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: false\\nTag: {tag}\\n"}
files[f"{info}/RECORD"] = "".join(f"{p},,\\n" for p in files) + f"{info}/RECORD,,\\n"
with zipfile.ZipFile(out, "w") as z:
    for path, text in files.items(): z.writestr(path, text)`,
    name,
    version,
    tag,
    path.join(folder, file),
  ]);
  return path.join(folder, file);
}
