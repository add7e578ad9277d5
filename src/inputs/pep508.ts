/**
 * PEP 508 dependency specifiers: `name[extras] (specifiers | @ url) ; marker`. pyproject.toml,
 * requirements.txt lines and the extras tables of poetry.lock all use this grammar.
 */
import { parseMarker } from './markers.js';
import { parseSpecifierSet, type Specifier } from './pep440.js';

export interface Requirement {
  /** The distribution name as written (normalize with normalizeDistName to compare). */
  name: string;
  extras: string[];
  /** Version clauses; empty when any version will do or when `url` is set. */
  specifiers: Specifier[];
  /** The direct reference of `name @ url`. */
  url?: string;
  /** The marker text after ";", trimmed, when present. */
  marker?: string;
}

/** A requirement string that does not follow PEP 508; callers add the file and line. */
export class RequirementError extends Error {
  override name = 'RequirementError';
}

const NAME_RE = /^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*/;
const EXTRAS_RE = /^\[([^\]]*)\]\s*/;
const EXTRA_NAME_RE = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;

/** Parses a PEP 508 requirement; throws RequirementError. */
export function parseRequirement(text: string): Requirement {
  const nameMatch = NAME_RE.exec(text);
  if (!nameMatch) throw new RequirementError(`"${text.trim()}" does not start with a distribution name`);
  let rest = text.slice(nameMatch[0].length);
  const requirement: Requirement = { name: nameMatch[1]!, extras: [], specifiers: [] };

  const extrasMatch = EXTRAS_RE.exec(rest);
  if (extrasMatch) {
    requirement.extras = extrasMatch[1]!.split(',').map((e) => e.trim()).filter(Boolean);
    const bad = requirement.extras.find((e) => !EXTRA_NAME_RE.test(e));
    if (bad) throw new RequirementError(`invalid extra "${bad}" in "${text.trim()}"`);
    rest = rest.slice(extrasMatch[0].length);
  }

  let markerText: string | undefined;
  if (rest.startsWith('@')) {
    // A URL may contain ";", so only " ;" (whitespace first) starts the marker.
    const urlMatch = /^@\s*(\S+)(?:\s+;(.*)|\s*)$/s.exec(rest);
    if (!urlMatch) throw new RequirementError(`invalid URL requirement "${text.trim()}"`);
    requirement.url = urlMatch[1]!;
    markerText = urlMatch[2];
  } else {
    const semicolon = rest.indexOf(';');
    let specText = semicolon === -1 ? rest : rest.slice(0, semicolon);
    if (semicolon !== -1) markerText = rest.slice(semicolon + 1);
    specText = specText.trim();
    if (specText.startsWith('(')) {
      if (!specText.endsWith(')')) throw new RequirementError(`missing ")" in "${text.trim()}"`);
      specText = specText.slice(1, -1);
    }
    const specifiers = parseSpecifierSet(specText);
    if (!specifiers) throw new RequirementError(`invalid version specifier "${specText.trim()}" in "${text.trim()}"`);
    requirement.specifiers = specifiers;
  }

  if (markerText !== undefined) {
    const marker = markerText.trim();
    if (!marker) throw new RequirementError(`empty marker after ";" in "${text.trim()}"`);
    try {
      parseMarker(marker); // syntax errors surface here, where the line is known
    } catch (error) {
      throw new RequirementError((error as Error).message);
    }
    requirement.marker = marker;
  }
  return requirement;
}

/** Writes a requirement back as one line, without its marker unless asked. */
export function formatRequirement(requirement: Requirement, options: { marker?: boolean } = {}): string {
  let out = requirement.name;
  if (requirement.extras.length) out += `[${requirement.extras.join(',')}]`;
  if (requirement.url) out += ` @ ${requirement.url}`;
  else out += requirement.specifiers.map((s) => `${s.op}${s.version}`).join(',');
  if (options.marker && requirement.marker) out += ` ; ${requirement.marker}`;
  return out;
}
