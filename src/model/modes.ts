/** The closed sets of build options (installer, prune profile, strip, bytecode): values and their union types. */

export const INSTALLER_CHOICES = ['auto', 'local', 'docker'] as const;
export type InstallerChoice = (typeof INSTALLER_CHOICES)[number];

/** The installer that ran: local, docker, or none when there were no requirements. */
export type InstallerKind = 'local' | 'docker' | 'none';

export const PRUNE_PROFILES = ['none', 'safe', 'aggressive'] as const;
export type PruneProfile = (typeof PRUNE_PROFILES)[number];

export const STRIP_MODES = ['debug', 'unneeded'] as const;
export type StripMode = (typeof STRIP_MODES)[number];

/** none, compile (unchecked-hash .pyc beside the sources) or only (sourceless .pyc for installed packages). */
export const BYTECODE_MODES = ['none', 'compile', 'only'] as const;
export type BytecodeMode = (typeof BYTECODE_MODES)[number];
