/**
 * The import-graph check that `npm test` runs (npm run check:imports, .dependency-cruiser.cjs):
 * proven here to fail on a circle and on an import that runs up a layer, so that its pass on
 * src/ means something.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { scratchFolders } from '../helpers/lambda.js';

const { scratch } = scratchFolders();
const CRUISE = path.join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

/** Runs the project's rules over a made-up src/ tree. */
function cruise(files: Record<string, string>) {
  const dir = scratch();
  writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' } }));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return spawnSync(process.execPath, [CRUISE, 'src', '--config', path.join(ROOT, '.dependency-cruiser.cjs')], { cwd: dir, encoding: 'utf8' });
}

describe('the import-graph check', () => {
  it('passes a graph that runs one way', () => {
    const result = cruise({
      'src/cli/main.ts': "import '../pipeline/build.js';\n",
      'src/pipeline/build.ts': "import './prune.js';\n",
      'src/pipeline/prune.ts': "import '../rules/registry.js';\nimport '../model/report.js';\n",
      'src/rules/registry.ts': "import '../model/report.js';\n",
      'src/model/report.ts': 'export {};\n',
    });
    expect(result.status, result.stdout + result.stderr).toBe(0);
  });

  it('fails on an import circle', () => {
    const result = cruise({ 'src/rules/a.ts': "import './b.js';\n", 'src/rules/b.ts': "import './a.js';\n" });
    expect(result.status).not.toBe(0);
    expect(result.stdout).toContain('no-circular');
  });

  it.each([
    ['a leaf imports a stage', { 'src/model/report.ts': "import '../pipeline/prune.js';\n", 'src/pipeline/prune.ts': 'export {};\n' }, 'no-upward-from-leaves'],
    ['a rule imports a stage', { 'src/rules/boto.ts': "import '../pipeline/inventory.js';\n", 'src/pipeline/inventory.ts': 'export {};\n' }, 'no-upward-from-lower'],
    ['a stage imports the orchestrator', { 'src/pipeline/prune.ts': "import './build.js';\n", 'src/pipeline/build.ts': 'export {};\n' }, 'no-upward-from-stages'],
    ['the orchestrator imports the CLI', { 'src/project.ts': "import './cli/main.js';\n", 'src/cli/main.ts': 'export {};\n' }, 'no-upward-from-orchestrators'],
  ])('fails when %s', (_what, files, rule) => {
    const result = cruise(files);
    expect(result.status).not.toBe(0);
    expect(result.stdout).toContain(rule);
  });
});
