/**
 * The import graph of src/ runs one way, and has no circles (checked in `npm test`):
 *
 *   cli → orchestrators (index, project, config-file, pipeline/build*) → stages (pipeline/, inspect/, advisor/)
 *       → config → installers/, rules/, zip/, cache/, inputs/ → leaves (model/ and the small shared modules)
 *
 * A module may import its own layer or any layer below it, never one above.
 */
const layers = {
  cli: '^src/cli/',
  orchestrators: '^src/(index|project|config-file)[.]ts$|^src/pipeline/build[^/]*[.]ts$',
  stages: '^src/(pipeline|inspect|advisor)/',
  config: '^src/config[.]ts$',
  lower: '^src/(installers|rules|zip|cache|inputs)/',
  leaves: '^src/(model/|[^/]+[.]ts$)',
};
const order = ['cli', 'orchestrators', 'stages', 'config', 'lower', 'leaves'];

/** Each layer may not import any layer above it. */
const upward = order.slice(1).map((name, i) => ({
  name: `no-upward-from-${name}`,
  comment: `${name} must not import ${order.slice(0, i + 1).join(', ')}`,
  severity: 'error',
  // A module belongs to the first layer whose pattern it matches (pipeline/build*.ts is an orchestrator, not a stage).
  from: { path: layers[name], pathNot: order.slice(0, i + 1).map((n) => layers[n]).join('|') },
  to: { path: order.slice(0, i + 1).map((n) => layers[n]).join('|') },
}));

module.exports = {
  forbidden: [
    { name: 'no-circular', comment: 'import circles make the layers meaningless', severity: 'error', from: {}, to: { circular: true } },
    { name: 'no-unresolvable', comment: 'every import resolves to a file', severity: 'error', from: {}, to: { couldNotResolve: true } },
    ...upward,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
  },
};
