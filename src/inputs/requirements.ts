/**
 * requirements.txt, read the way pip reads it (line continuations, comments, `${VAR}`, `-r`/`-c`
 * includes, per-requirement `--hash`), then flattened into one text with absolute paths so pip can
 * take it from any folder, a container's included.
 *
 * One deliberate difference from pip: relative local paths (`-e ./lib`, `./lib`) are resolved
 * against the file that declares them, not pip's working directory, so a build gives the same
 * result wherever it is started.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PyslimError } from '../errors.js';
import { normalizeDistName } from '../python-names.js';
import { redact } from '../redact.js';
import { displayPath, readInputFile } from './files.js';
import { MarkerError, evaluateMarker, type MarkerEnv } from './markers.js';
import { pinnedVersion, satisfies } from './pep440.js';
import { RequirementError, formatRequirement, parseRequirement, type Requirement } from './pep508.js';
import { emptyPipOptions, pushUnique, requirementLine, type PipIndexOptions, type ResolvedInput } from './types.js';

/** One requirement line of a requirements or constraints file. */
export interface RequirementEntry {
  /**
   * - named: a PEP 508 requirement from an index (`requests>=2`);
   * - url: a direct archive URL (`pkg @ https://…/pkg.whl`, or the bare URL);
   * - local: a folder or archive on disk (`-e ./lib`, `./lib`, `file:…`);
   * - vcs: version control (`git+https://…`, `pkg @ git+…`).
   */
  kind: 'named' | 'url' | 'local' | 'vcs';
  /** "requirements.txt:4": the file (relative to the function folder when inside it) and first line. */
  location: string;
  file: string;
  line: number;
  /** The requirement without its marker, as pip will read it (paths made absolute). */
  text: string;
  name?: string;
  /** The parsed requirement, for `named` and `name @ url` lines. */
  requirement?: Requirement;
  marker?: string;
  /** "sha256:…" values of the line's --hash options. */
  hashes: string[];
  editable: boolean;
  /** Absolute path, for `local`. */
  path?: string;
  /** The URL, for `url` and `vcs`. */
  url?: string;
  extras?: string[];
}

/** A requirements file with its includes, before markers are evaluated. */
export interface ParsedRequirements {
  /** Every file read, the top one first. */
  files: string[];
  requirements: RequirementEntry[];
  /** From `-c` files. */
  constraints: RequirementEntry[];
  /** Options pip honours inside a requirements file and pyslim passes on as lines: --pre, --prefer-binary, --only-binary. */
  passThrough: string[];
  /** A `--require-hashes` line was present. */
  requireHashesOption: boolean;
  pipOptions: PipIndexOptions;
}

export interface ParseRequirementsOptions {
  /** The function folder, for shorter file names in messages. */
  dir?: string;
  /** Values for `${VAR}`, expanded like pip (only upper-case names; unset ones stay as written). */
  env?: Readonly<Record<string, string | undefined>>;
}

type Mode = 'requirement' | 'constraint';

/** Options that take a value, by every spelling pip accepts. */
const VALUE_OPTIONS: Record<string, string> = {
  '-r': 'requirement',
  '--requirement': 'requirement',
  '-c': 'constraint',
  '--constraint': 'constraint',
  '-e': 'editable',
  '--editable': 'editable',
  '-i': 'index-url',
  '--index-url': 'index-url',
  '--extra-index-url': 'extra-index-url',
  '-f': 'find-links',
  '--find-links': 'find-links',
  '--trusted-host': 'trusted-host',
  '--only-binary': 'only-binary',
  '--hash': 'hash',
};
const FLAG_OPTIONS: Record<string, string> = {
  '--no-index': 'no-index',
  '--pre': 'pre',
  '--prefer-binary': 'prefer-binary',
  '--require-hashes': 'require-hashes',
};
/** Options pip knows that pyslim refuses, with the reason given to the user. */
const REFUSED_OPTIONS: Record<string, string> = {
  '--no-binary': 'pyslim chooses wheels for the Lambda target itself; build from source with the container installer instead',
  '-C': 'build settings are not passed on; build the package into a wheel first',
  '--config-settings': 'build settings are not passed on; build the package into a wheel first',
  '--global-option': 'build options are not passed on; build the package into a wheel first',
  '--install-option': 'pip no longer supports it',
  '--use-feature': 'pyslim runs pip with its own feature set',
  '-Z': 'pip no longer supports it',
  '--always-unzip': 'pip no longer supports it',
};

const KNOWN_OPTIONS_TEXT = '-r, -c, -e, --hash, --index-url, --extra-index-url, --find-links, --trusted-host, --no-index, --pre, --prefer-binary, --only-binary, --require-hashes';

const HASH_LENGTHS: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
const VCS_RE = /^(?:git|hg|svn|bzr)\+/i;
const URL_RE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
const ARCHIVE_RE = /\.(?:whl|zip|tar\.gz|tgz|tar\.bz2|tbz|tar\.xz|txz|tar)$/i;

/** Parses a requirements file and everything it includes. */
export async function parseRequirementsFile(file: string, options: ParseRequirementsOptions = {}): Promise<ParsedRequirements> {
  const result: ParsedRequirements = {
    files: [],
    requirements: [],
    constraints: [],
    passThrough: [],
    requireHashesOption: false,
    pipOptions: emptyPipOptions(),
  };
  const done = new Set<string>();
  await parseOne(path.resolve(file), 'requirement', [], undefined, result, done, options);
  return result;
}

async function parseOne(
  file: string,
  mode: Mode,
  stack: readonly string[],
  includedAt: string | undefined,
  result: ParsedRequirements,
  done: Set<string>,
  options: ParseRequirementsOptions,
): Promise<void> {
  const shown = (f: string) => displayPath(f, options.dir);
  if (stack.includes(file)) {
    const chain = [...stack.slice(stack.indexOf(file)), file].map(shown).join(' → ');
    throw new PyslimError('INVALID_INPUT', `${includedAt}: include cycle: ${chain}`, { hint: 'Remove one of the -r/-c lines that close the loop' });
  }
  // A file included twice (not in a loop) adds nothing new the second time.
  const key = `${mode}:${file}`;
  if (done.has(key)) return;
  done.add(key);

  const text = await readInputFile(
    file,
    includedAt ? `${includedAt} includes it; paths are relative to the including file` : 'Check the requirements path',
  );
  pushUnique(result.files, file);
  const dirOfFile = path.dirname(file);

  for (const { line, content } of logicalLines(text, options.env)) {
    const location = `${shown(file)}:${line}`;
    const { args, optionTokens } = splitArgsAndOptions(content, location);
    const parsedOptions = parseOptionTokens(optionTokens, location);

    if (args) {
      const notHash = parsedOptions.find((o) => o.name !== 'hash');
      if (notHash) throw lineOptionError(location, notHash.spelling);
      const hashes = parsedOptions.map((o) => checkedHash(o.value!, location));
      const entry = classifyRequirement(args, { file, line, location, dirOfFile, editable: false, hashes });
      addEntry(entry, mode, result);
      continue;
    }

    for (const option of parsedOptions) {
      const value = option.value ?? '';
      switch (option.name) {
        case 'requirement':
        case 'constraint': {
          if (URL_RE.test(value) && !value.startsWith('file:')) {
            throw new PyslimError('UNSUPPORTED_INPUT', `${location}: included file is a URL: ${redact(value)}`, {
              hint: 'Download it next to the requirements file and include it by path',
            });
          }
          if (value.includes('${')) {
            throw new PyslimError('UNSUPPORTED_INPUT', `${location}: include path uses an unset variable: ${value}`, {
              hint: 'Set the variable in the environment pyslim runs in, or write the path out',
            });
          }
          const target = value.startsWith('file:') ? fileUrlPath(value, dirOfFile) : path.resolve(dirOfFile, value);
          await parseOne(target, option.name === 'constraint' ? 'constraint' : 'requirement', [...stack, file], location, result, done, options);
          break;
        }
        case 'editable': {
          const hashes = parsedOptions.filter((o) => o.name === 'hash');
          if (hashes.length) throw lineOptionError(location, '--hash');
          // Like pip, a bare word after -e must be an existing folder ("-e lib"), not a package name.
          const looksLikePath = /[/\\]/.test(value) || value.startsWith('.') || /^[A-Za-z][A-Za-z0-9+.-]*:/.test(value);
          if (!looksLikePath && !(await isDirectory(path.resolve(dirOfFile, value.replace(/\[.*$/, ''))))) {
            throw new PyslimError('INVALID_INPUT', `${location}: -e ${value} is neither a local folder nor a VCS URL`, {
              hint: 'Write -e ./path/to/project or -e git+https://…#egg=name, or drop -e to install from the index',
            });
          }
          addEntry(classifyRequirement(value, { file, line, location, dirOfFile, editable: true, hashes: [] }), mode, result);
          break;
        }
        case 'index-url':
          result.pipOptions.indexUrl = value;
          break;
        case 'extra-index-url':
          pushUnique(result.pipOptions.extraIndexUrls, value);
          break;
        case 'find-links':
          // pip reads a relative find-links path against the requirements file when it exists there.
          pushUnique(result.pipOptions.findLinks, URL_RE.test(value) || value.startsWith('file:') ? value : path.resolve(dirOfFile, value));
          break;
        case 'trusted-host':
          pushUnique(result.pipOptions.trustedHosts, value);
          break;
        case 'no-index':
          result.pipOptions.noIndex = true;
          break;
        case 'require-hashes':
          result.requireHashesOption = true;
          break;
        case 'pre':
        case 'prefer-binary':
          pushUnique(result.passThrough, `--${option.name}`);
          break;
        case 'only-binary':
          pushUnique(result.passThrough, `--only-binary=${value}`);
          break;
        case 'hash':
          throw new PyslimError('INVALID_INPUT', `${location}: --hash must follow a requirement on the same line`, {
            hint: 'Put the hash after the requirement it checks, e.g. requests==2.32.3 --hash=sha256:…',
          });
      }
    }
  }
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false; // absent: the caller reports the line
  }
}

function addEntry(entry: RequirementEntry, mode: Mode, result: ParsedRequirements): void {
  if (mode === 'constraint') {
    if (entry.editable || entry.kind === 'local' || !entry.name) {
      throw new PyslimError('INVALID_INPUT', `${entry.location}: constraints must name a package (${entry.editable ? 'editable' : 'unnamed'} entries cannot constrain)`, {
        hint: 'Move it to the requirements file, or write name==version',
      });
    }
    result.constraints.push(entry);
  } else {
    result.requirements.push(entry);
  }
}

/**
 * pip's preprocessing: a trailing backslash joins the next line (a comment line ends the join),
 * comments start at a "#" preceded by whitespace, and `${NAME}` expands from the environment.
 */
export function logicalLines(text: string, env?: Readonly<Record<string, string | undefined>>): { line: number; content: string }[] {
  const physical = text.split(/\r\n|\r|\n/);
  const joined: { line: number; content: string }[] = [];
  let pending: string[] = [];
  let start = 0;
  const COMMENT = /(^|\s+)#.*$/;
  physical.forEach((raw, index) => {
    const isComment = /^\s*#/.test(raw);
    if (raw.endsWith('\\') && !isComment) {
      if (!pending.length) start = index + 1;
      pending.push(raw.replace(/\\+$/, ''));
      return;
    }
    // pip prefixes a comment line with a space so the join cannot glue "#" onto a token.
    const piece = isComment ? ` ${raw}` : raw;
    if (pending.length) {
      joined.push({ line: start, content: pending.join('') + piece });
      pending = [];
    } else {
      joined.push({ line: index + 1, content: piece });
    }
  });
  if (pending.length) joined.push({ line: start, content: pending.join('') });

  return joined
    .map(({ line, content }) => ({ line, content: expandVariables(content.replace(COMMENT, '').trim(), env) }))
    .filter(({ content }) => content !== '');
}

function expandVariables(content: string, env: Readonly<Record<string, string | undefined>> | undefined): string {
  if (!env) return content;
  return content.replace(/\$\{([A-Z0-9_]+)\}/g, (whole, name: string) => env[name] || whole);
}

/** pip's break_args_options: the requirement is every token before the first one starting with "-". */
function splitArgsAndOptions(content: string, location: string): { args: string; optionTokens: string[] } {
  const tokens = content.split(' ');
  const first = tokens.findIndex((t) => t.startsWith('-'));
  const args = (first === -1 ? tokens : tokens.slice(0, first)).join(' ').trim();
  const rest = first === -1 ? '' : tokens.slice(first).join(' ');
  return { args, optionTokens: shellSplit(rest, location) };
}

/** shlex.split, enough for option values: whitespace separates, quotes group, backslash escapes. */
function shellSplit(text: string, location: string): string[] {
  const out: string[] = [];
  let current: string | undefined;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < text.length) current += text[++i];
      else current += ch;
    } else if (/\s/.test(ch)) {
      if (current !== undefined) out.push(current);
      current = undefined;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      current ??= '';
    } else if (ch === '\\' && i + 1 < text.length) {
      current = (current ?? '') + text[++i];
    } else {
      current = (current ?? '') + ch;
    }
  }
  if (quote) throw new PyslimError('INVALID_INPUT', `${location}: unclosed quote`, { hint: 'Close the quote' });
  if (current !== undefined) out.push(current);
  return out;
}

interface ParsedOption {
  name: string;
  spelling: string;
  value?: string;
}

function parseOptionTokens(tokens: string[], location: string): ParsedOption[] {
  const parsed: ParsedOption[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (!token.startsWith('-')) {
      throw new PyslimError('INVALID_INPUT', `${location}: unexpected "${token}" after the options`, { hint: 'Write one requirement per line, options after it' });
    }
    // --name=value, --name value, -x value, or -xvalue (a short option's value may be attached).
    const long = token.startsWith('--');
    const eq = token.indexOf('=');
    const spelling = long ? (eq === -1 ? token : token.slice(0, eq)) : token.slice(0, 2);
    const inline = long ? (eq === -1 ? undefined : token.slice(eq + 1)) : token.length > 2 ? token.slice(2) : undefined;
    const refused = REFUSED_OPTIONS[spelling];
    if (refused) throw new PyslimError('UNSUPPORTED_INPUT', `${location}: unsupported option "${spelling}"`, { hint: refused });
    const flag = FLAG_OPTIONS[spelling];
    if (flag) {
      if (inline !== undefined) throw new PyslimError('INVALID_INPUT', `${location}: ${spelling} takes no value`, { hint: `Write ${spelling} alone` });
      parsed.push({ name: flag, spelling });
      continue;
    }
    const name = VALUE_OPTIONS[spelling];
    if (!name) {
      throw new PyslimError('UNSUPPORTED_INPUT', `${location}: unknown or unsupported option "${spelling}"`, { hint: `pyslim reads ${KNOWN_OPTIONS_TEXT}` });
    }
    const value = inline ?? tokens[++i];
    if (value === undefined || value === '') {
      throw new PyslimError('INVALID_INPUT', `${location}: ${spelling} needs a value`, { hint: `Write ${spelling} <value>` });
    }
    parsed.push({ name, spelling, value });
  }
  return parsed;
}

function lineOptionError(location: string, spelling: string): PyslimError {
  return new PyslimError('UNSUPPORTED_INPUT', `${location}: ${spelling} cannot follow a requirement`, {
    hint: 'Only --hash may follow a requirement on its line; put other options on their own line',
  });
}

function checkedHash(value: string, location: string): string {
  const [algorithm, digest] = value.split(':', 2);
  const length = HASH_LENGTHS[algorithm?.toLowerCase() ?? ''];
  if (!length || !digest || !new RegExp(`^[0-9a-fA-F]{${length}}$`).test(digest)) {
    throw new PyslimError('INVALID_INPUT', `${location}: invalid --hash "${value}"`, {
      hint: 'Write sha256:, sha384: or sha512: followed by the hex digest',
    });
  }
  return `${algorithm!.toLowerCase()}:${digest.toLowerCase()}`;
}

interface EntryContext {
  file: string;
  line: number;
  location: string;
  dirOfFile: string;
  editable: boolean;
  hashes: string[];
}

/** Turns `file:…` (relative or absolute) into a path. */
function fileUrlPath(url: string, base: string): string {
  if (url.startsWith('file://')) return fileURLToPath(url);
  return path.resolve(base, decodeURIComponent(url.slice('file:'.length)));
}

/** The `#egg=name` of a URL, which pip uses to name URL and VCS requirements. */
function eggName(url: string): string | undefined {
  return /[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(url)?.[1];
}

/** The name in a wheel or sdist file name: "pkg-1.0-py3-none-any.whl" → "pkg". */
function archiveName(url: string): string | undefined {
  const file = decodeURIComponent(url.split(/[?#]/)[0]!.split('/').pop() ?? '');
  if (!ARCHIVE_RE.test(file)) return undefined;
  return /^([A-Za-z0-9](?:[A-Za-z0-9._]*[A-Za-z0-9])?)-\d/.exec(file)?.[1];
}

function splitPathExtras(text: string): { target: string; extras?: string[] } {
  const m = /^(.*?)\[([^\]]*)\]$/.exec(text);
  if (!m) return { target: text };
  return { target: m[1]!, extras: m[2]!.split(',').map((e) => e.trim()).filter(Boolean) };
}

function classifyRequirement(text: string, ctx: EntryContext): RequirementEntry {
  const base = { location: ctx.location, file: ctx.file, line: ctx.line, hashes: ctx.hashes, editable: ctx.editable };
  const invalid = (reason: string) =>
    new PyslimError('INVALID_INPUT', `${ctx.location}: ${reason}`, { hint: 'Write a PEP 508 requirement such as requests>=2.31, a path or a URL' });

  // A bare URL or file: URL. Its marker needs whitespace before ";" (URLs may contain ";").
  if (URL_RE.test(text) || text.startsWith('file:') || VCS_RE.test(text)) {
    const [target, marker] = splitOnce(text, /\s+;\s*/);
    if (VCS_RE.test(target)) return { ...base, kind: 'vcs', text: target, url: target, name: eggName(target), marker };
    if (target.startsWith('file:')) {
      const { target: file, extras } = splitPathExtras(target.replace(/#.*$/, ''));
      return { ...base, kind: 'local', text: target, path: fileUrlPath(file, ctx.dirOfFile), name: eggName(target), extras, marker };
    }
    if (ctx.editable) throw invalid(`-e needs a local path or a VCS URL, not ${redact(target)}`);
    return { ...base, kind: 'url', text: target, url: target, name: eggName(target) ?? archiveName(target), marker };
  }

  // `name @ url`.
  if (/^[A-Za-z0-9][A-Za-z0-9._-]*\s*(?:\[[^\]]*\])?\s*@/.test(text)) {
    const requirement = parseOrThrow(text, invalid);
    const url = requirement.url!;
    const named = { ...base, name: requirement.name, requirement, marker: requirement.marker, extras: requirement.extras.length ? requirement.extras : undefined };
    if (VCS_RE.test(url)) return { ...named, kind: 'vcs', text: url, url };
    if (url.startsWith('file:')) return { ...named, kind: 'local', text: url, path: fileUrlPath(url, ctx.dirOfFile) };
    if (ctx.editable) throw invalid(`-e needs a local path or a VCS URL, not ${redact(url)}`);
    return { ...named, kind: 'url', text: formatRequirement(requirement), url };
  }

  // A local path: pip's test is a path separator or a leading dot; an archive name also counts.
  const [target, marker] = splitOnce(text, /\s*;\s*/);
  if (ctx.editable || /[/\\]/.test(target) || target.startsWith('.') || ARCHIVE_RE.test(target)) {
    const { target: file, extras } = splitPathExtras(target);
    return { ...base, kind: 'local', text: file, path: path.resolve(ctx.dirOfFile, file), extras, marker };
  }

  const requirement = parseOrThrow(text, invalid);
  return {
    ...base,
    kind: 'named',
    text: formatRequirement(requirement),
    name: requirement.name,
    requirement,
    marker: requirement.marker,
  };
}

function splitOnce(text: string, separator: RegExp): [string, string | undefined] {
  const m = separator.exec(text);
  if (!m) return [text.trim(), undefined];
  return [text.slice(0, m.index).trim(), text.slice(m.index + m[0].length).trim() || undefined];
}

function parseOrThrow(text: string, invalid: (reason: string) => PyslimError): Requirement {
  try {
    return parseRequirement(text);
  } catch (error) {
    if (error instanceof RequirementError) throw invalid(error.message);
    throw error;
  }
}

/** Whether an entry applies to the target; a marker pyslim cannot decide is an error naming the line. */
function applies(entry: RequirementEntry, env: MarkerEnv): boolean {
  try {
    return evaluateMarker(entry.marker, env);
  } catch (error) {
    if (error instanceof MarkerError) {
      throw new PyslimError('UNSUPPORTED_INPUT', `${entry.location}: ${error.message}`, {
        hint: 'pyslim evaluates markers for the Lambda target; use python_version, sys_platform, platform_machine and the like',
      });
    }
    throw error;
  }
}

/** Evaluates markers for the target and produces the flattened set pip installs. */
export function resolveRequirements(parsed: ParsedRequirements, env: MarkerEnv): ResolvedInput {
  const requirements = parsed.requirements.filter((e) => applies(e, env));
  const constraints = parsed.constraints.filter((e) => applies(e, env));
  const installable = requirements.filter((e) => e.kind === 'named' || e.kind === 'url');
  const requireHashes = parsed.requireHashesOption || [...requirements, ...constraints].some((e) => e.hashes.length > 0);

  const pins: { name: string; version: string; entry: RequirementEntry }[] = [];
  for (const entry of installable) {
    const version = entry.requirement && !entry.requirement.url ? pinnedVersion(entry.requirement.specifiers) : undefined;
    if (requireHashes) checkHashMode(entry, version);
    if (!version) continue;
    const name = normalizeDistName(entry.name!);
    const clash = pins.find((p) => p.name === name && p.version !== version);
    if (clash) {
      throw new PyslimError('INVALID_INPUT', `${entry.location}: ${entry.name}==${version} conflicts with ${clash.entry.text} at ${clash.entry.location}`, {
        hint: 'Keep one version of each package',
      });
    }
    if (!pins.some((p) => p.name === name)) pins.push({ name, version, entry });
  }
  checkPinsAgainstConstraints(pins, constraints);

  const lines = [...parsed.passThrough, ...installable.map((e) => requirementLine(e.text, e.hashes))];
  return {
    kind: 'requirements.txt',
    files: parsed.files,
    requirementsText: lines.length ? `${lines.join('\n')}\n` : '',
    requireHashes,
    constraintsText: constraints.length ? `${constraints.map((e) => requirementLine(e.text, e.hashes)).join('\n')}\n` : undefined,
    pins: pins.map(({ name, version }) => ({ name, version })),
    localPaths: requirements
      .filter((e) => e.kind === 'local')
      .map((e) => ({
        ...(e.name ? { name: e.name } : {}),
        path: e.path!,
        editable: e.editable,
        ...(e.extras?.length ? { extras: e.extras } : {}),
        line: e.location,
      })),
    vcs: requirements.filter((e) => e.kind === 'vcs').map((e) => ({ ...(e.name ? { name: e.name } : {}), url: e.url!, line: e.location })),
    pipOptions: parsed.pipOptions,
  };
}

/** pip's hash-checking mode: every requirement pinned with == and carrying a hash. Say so before pip does. */
function checkHashMode(entry: RequirementEntry, version: string | undefined): void {
  const hasHash = entry.hashes.length > 0 || (entry.kind === 'url' && /#(?:sha256|sha384|sha512)=/.test(entry.url ?? ''));
  if (entry.kind === 'named' && !version) {
    throw new PyslimError('INVALID_INPUT', `${entry.location}: ${entry.text} is not pinned, but the file uses hashes`, {
      hint: 'In hash-checking mode pin every requirement with ==version and give its --hash (pip-compile --generate-hashes writes both)',
    });
  }
  if (!hasHash) {
    throw new PyslimError('INVALID_INPUT', `${entry.location}: ${redact(entry.text)} has no --hash, but the file uses hashes`, {
      hint: 'Add --hash=sha256:… for every requirement, or remove all hashes',
    });
  }
}

function checkPinsAgainstConstraints(pins: { name: string; version: string; entry: RequirementEntry }[], constraints: RequirementEntry[]): void {
  for (const constraint of constraints) {
    if (!constraint.requirement || constraint.requirement.url) continue;
    const name = normalizeDistName(constraint.requirement.name);
    const pin = pins.find((p) => p.name === name);
    if (pin && !satisfies(pin.version, constraint.requirement.specifiers)) {
      throw new PyslimError('INVALID_INPUT', `${pin.entry.location}: ${pin.entry.text} is excluded by constraint ${constraint.text} at ${constraint.location}`, {
        hint: 'Change the pin or the constraint so they agree',
      });
    }
  }
}
