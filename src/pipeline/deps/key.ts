/**
 * The dependency layer's cache key: everything that can change the layer except the resolved
 * versions (resolution.ts finds those). Inputs that may hold credentials are hashed.
 */
import { PYSLIM_VERSION } from '../../assets.js';
import { sha256, type CacheInputs } from '../../cache/key.js';
import { LIBDEFLATE_VERSION } from '../../zip/deflate-pool.js';
import { bytecodePrefix, type DepsOptions } from './stages.js';

/** The inputs that need no resolution. */
export function fixedInputs(options: DepsOptions): Omit<CacheInputs, 'resolved'> {
  const { config, prepared, selected } = options;
  return {
    pyslim: PYSLIM_VERSION,
    compressor: `libdeflate ${LIBDEFLATE_VERSION} level 9; zlib ${process.versions.zlib}`,
    runtime: config.runtime,
    arch: config.arch,
    installer: selected.installer.kind,
    image: selected.container ? `${selected.container.image} ${selected.container.imageId ?? ''}` : null,
    interpreter: selected.interpreter,
    requirements: prepared.contentHash,
    index: sha256(JSON.stringify(selected.index)),
    prune: JSON.stringify({
      profile: config.prune,
      exclude: config.exclude.patterns,
      keep: config.keep.patterns,
      boto: config.botoServices,
      runtimePackages: config.excludeRuntimePackages,
      strip: config.strip,
      layers: options.layers.map((l) => l.packages.map((p) => `${p.key}==${p.version}`)),
    }),
    // Bytecode records where it will live: /var/task for a function, /opt/python for a layer.
    bytecode: `${options.bytecode} ${bytecodePrefix(config)}`,
  };
}
