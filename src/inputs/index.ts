/** Dependency inputs: requirements.txt, pyproject.toml, uv.lock and poetry.lock, read without their tools. */
export { assertInstallable, inputKindOf, resolveDependencyInput } from './resolve.js';
export { evaluateMarker, parseMarker, MarkerError, type MarkerEnv } from './markers.js';
export { compareVersionStrings, parseVersion, satisfies, parseSpecifierSet } from './pep440.js';
export { INPUT_KINDS, type InputKind, type LocalPathRequirement, type Pin, type PipIndexOptions, type ResolveInputOptions, type ResolvedInput, type VcsRequirement } from './types.js';
