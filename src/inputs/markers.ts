/**
 * PEP 508 environment markers: parsed once, evaluated against the Lambda target rather than the
 * host (a build on a Mac must still skip `sys_platform == "darwin"` dependencies).
 */
import { normalizeDistName } from '../python-names.js';
import { matchesSpecifier, parseSpecifier, parseVersion } from './pep440.js';

/**
 * The marker environment: targetMarkers(runtime, arch) plus, while evaluating a dependency's
 * extras, `extra`. `extras` and `dependency_groups` (PEP 751) are sets.
 */
export type MarkerEnv = Readonly<Record<string, string | readonly string[]>>;

export const MARKER_VARIABLES = [
  'python_version',
  'python_full_version',
  'os_name',
  'sys_platform',
  'platform_release',
  'platform_system',
  'platform_version',
  'platform_machine',
  'platform_python_implementation',
  'implementation_name',
  'implementation_version',
  'extra',
  'extras',
  'dependency_groups',
] as const;
export type MarkerVariable = (typeof MARKER_VARIABLES)[number];

/** Spellings from before PEP 508 that packaging still accepts. */
const LEGACY_NAMES: Record<string, MarkerVariable> = {
  'os.name': 'os_name',
  'sys.platform': 'sys_platform',
  'platform.version': 'platform_version',
  'platform.machine': 'platform_machine',
  'platform.python_implementation': 'platform_python_implementation',
  python_implementation: 'platform_python_implementation',
};

/** Variables whose values are versions: compared as versions even when the other side looks odd. */
const VERSION_VARIABLES: ReadonlySet<string> = new Set(['python_version', 'python_full_version', 'implementation_version']);
/** Variables holding names, which compare after PEP 503 normalization ("Socks" == "socks"). */
const NAME_VARIABLES: ReadonlySet<string> = new Set(['extra', 'extras', 'dependency_groups']);

export type MarkerOperator = '<' | '<=' | '==' | '!=' | '>=' | '>' | '~=' | '===' | 'in' | 'not in';

export type MarkerValue = { variable: MarkerVariable } | { literal: string };

export type MarkerNode =
  | { kind: 'compare'; left: MarkerValue; op: MarkerOperator; right: MarkerValue }
  | { kind: 'and' | 'or'; left: MarkerNode; right: MarkerNode };

/** A marker that cannot be parsed or evaluated; callers add the file and line. */
export class MarkerError extends Error {
  override name = 'MarkerError';
}

type Token = { type: 'string' | 'name' | 'op' | '(' | ')'; text: string; at: number };

const TOKEN_RE = /\s*(?:(?<string>'[^']*'|"[^"]*")|(?<op>===|==|!=|<=|>=|~=|<|>)|(?<paren>[()])|(?<name>[A-Za-z_][A-Za-z0-9_.]*))/y;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  TOKEN_RE.lastIndex = 0;
  while (TOKEN_RE.lastIndex < text.length) {
    if (/^\s*$/.test(text.slice(TOKEN_RE.lastIndex))) break;
    const at = TOKEN_RE.lastIndex;
    const m = TOKEN_RE.exec(text);
    if (!m?.groups) throw new MarkerError(`unexpected "${text.slice(at).trim().slice(0, 20)}" in marker "${text}"`);
    const g = m.groups;
    if (g.string !== undefined) tokens.push({ type: 'string', text: g.string.slice(1, -1), at });
    else if (g.op !== undefined) tokens.push({ type: 'op', text: g.op, at });
    else if (g.paren !== undefined) tokens.push({ type: g.paren as '(' | ')', text: g.paren, at });
    else tokens.push({ type: 'name', text: g.name!, at });
  }
  return tokens;
}

/** Parses a marker expression such as `python_version < "3.11" and (sys_platform == "linux" or extra == "s3")`. */
export function parseMarker(text: string): MarkerNode {
  const tokens = tokenize(text);
  let i = 0;
  const peek = () => tokens[i];
  const fail = (what: string): never => {
    throw new MarkerError(`${what} in marker "${text.trim()}"`);
  };
  const isWord = (word: string) => peek()?.type === 'name' && peek()!.text === word;

  const parseOr = (): MarkerNode => {
    let node = parseAnd();
    while (isWord('or')) {
      i++;
      node = { kind: 'or', left: node, right: parseAnd() };
    }
    return node;
  };
  const parseAnd = (): MarkerNode => {
    let node = parseAtom();
    while (isWord('and')) {
      i++;
      node = { kind: 'and', left: node, right: parseAtom() };
    }
    return node;
  };
  const parseAtom = (): MarkerNode => {
    if (peek()?.type === '(') {
      i++;
      const node = parseOr();
      if (peek()?.type !== ')') fail('missing ")"');
      i++;
      return node;
    }
    const left = parseValue();
    const op = parseOperator();
    const right = parseValue();
    return { kind: 'compare', left, op, right };
  };
  const parseValue = (): MarkerValue => {
    const token = tokens[i++];
    if (!token) return fail('unexpected end');
    if (token.type === 'string') return { literal: token.text };
    if (token.type === 'name') {
      const variable = LEGACY_NAMES[token.text] ?? token.text;
      if ((MARKER_VARIABLES as readonly string[]).includes(variable)) return { variable: variable as MarkerVariable };
      return fail(`unknown marker variable "${token.text}"`);
    }
    return fail(`expected a variable or a quoted string, found "${token.text}"`);
  };
  const parseOperator = (): MarkerOperator => {
    const token = tokens[i++];
    if (token?.type === 'op') return token.text as MarkerOperator;
    if (token?.type === 'name' && token.text === 'in') return 'in';
    if (token?.type === 'name' && token.text === 'not' && isWord('in')) {
      i++;
      return 'not in';
    }
    return fail(token ? `expected a comparison operator, found "${token.text}"` : 'unexpected end');
  };

  const node = parseOr();
  if (i < tokens.length) fail(`unexpected "${tokens[i]!.text}"`);
  return node;
}

function valueOf(value: MarkerValue, env: MarkerEnv): string | readonly string[] {
  if ('literal' in value) return value.literal;
  const found = env[value.variable];
  if (found !== undefined) return found;
  // pip evaluates `extra` as "" outside an extra; the other variables must be known.
  if (value.variable === 'extra') return '';
  if (value.variable === 'extras' || value.variable === 'dependency_groups') return [];
  throw new MarkerError(`marker variable "${value.variable}" is not known for the target`);
}

const isVariable = (value: MarkerValue, names: ReadonlySet<string>) => 'variable' in value && names.has(value.variable);

function compare(node: Extract<MarkerNode, { kind: 'compare' }>, env: MarkerEnv): boolean {
  const normalize = isVariable(node.left, NAME_VARIABLES) || isVariable(node.right, NAME_VARIABLES);
  const norm = (s: string) => (normalize ? normalizeDistName(s) : s);
  const left = valueOf(node.left, env);
  const right = valueOf(node.right, env);
  const { op } = node;

  if (op === 'in' || op === 'not in') {
    const found = typeof right === 'string' ? (typeof left === 'string' ? right.includes(left) : false) : right.map(norm).includes(norm(String(left)));
    return op === 'in' ? found : !found;
  }
  if (typeof left !== 'string' || typeof right !== 'string') throw new MarkerError(`"${op}" cannot compare a set`);

  // PEP 508 as pip's vendored packaging evaluates it: version comparison for version variables and
  // whenever both sides are versions; otherwise plain string comparison (packaging 26 turns string
  // ordering into false, a difference only exotic markers such as `platform_system < "M"` can see).
  const spec = parseSpecifier(`${op}${right}`);
  if (spec && (op === '===' || isVariable(node.left, VERSION_VARIABLES) || isVariable(node.right, VERSION_VARIABLES) || parseVersion(left))) {
    return matchesSpecifier(left, spec);
  }
  const [l, r] = [norm(left), norm(right)];
  switch (op) {
    case '==':
      return l === r;
    case '!=':
      return l !== r;
    case '<':
      return l < r;
    case '<=':
      return l <= r;
    case '>':
      return l > r;
    case '>=':
      return l >= r;
    default:
      throw new MarkerError(`"${op}" needs versions on both sides, got "${left}" and "${right}"`);
  }
}

/** Evaluates a parsed marker. Throws MarkerError when it names a variable the environment lacks. */
export function evaluateMarkerNode(node: MarkerNode, env: MarkerEnv): boolean {
  switch (node.kind) {
    case 'and':
      return evaluateMarkerNode(node.left, env) && evaluateMarkerNode(node.right, env);
    case 'or':
      return evaluateMarkerNode(node.left, env) || evaluateMarkerNode(node.right, env);
    case 'compare':
      return compare(node, env);
  }
}

/** Parses and evaluates a marker string; an empty marker is true. */
export function evaluateMarker(marker: string | undefined, env: MarkerEnv): boolean {
  if (marker === undefined || marker.trim() === '') return true;
  return evaluateMarkerNode(parseMarker(marker), env);
}

/** Whether the marker holds for the target outside any extra, or inside one of the given extras. */
export function markerHoldsForExtras(marker: string | undefined, env: MarkerEnv, extras: Iterable<string>): boolean {
  if (evaluateMarker(marker, { ...env, extra: '' })) return true;
  for (const extra of extras) if (evaluateMarker(marker, { ...env, extra })) return true;
  return false;
}
