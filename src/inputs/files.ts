/** Reading dependency files, with errors that name the file (and line) and what to do. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
// smol-toml: the design card's packages include no TOML parser and Node has none built in.
// It is small, has no dependencies and follows TOML 1.0, which uv.lock and poetry.lock use.
import { TomlError, parse as parseTomlText } from 'smol-toml';
import { PyslimError } from '../errors.js';

export type TomlTable = Record<string, unknown>;

/** How a file is named in messages: relative to the function folder when inside it. */
export function displayPath(file: string, dir?: string): string {
  if (!dir) return file;
  const relative = path.relative(dir, file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

export async function readInputFile(file: string, hint: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') {
      throw new PyslimError('FILE_NOT_FOUND', `dependency file not found: ${file}`, { hint, cause: error });
    }
    throw error;
  }
}

export async function fileExists(file: string): Promise<boolean> {
  try {
    return (await fs.stat(file)).isFile();
  } catch {
    return false; // absent or unreadable: the caller falls back to the next candidate
  }
}

/** Reads a TOML file; a syntax error becomes INVALID_INPUT naming file:line:column. */
export async function readToml(file: string, shown: string, hint: string): Promise<TomlTable> {
  const text = await readInputFile(file, hint);
  try {
    return parseTomlText(text) as TomlTable;
  } catch (error) {
    if (error instanceof TomlError) {
      const reason = error.message.split('\n')[0]!.replace(/^Invalid TOML document:\s*/i, '');
      throw new PyslimError('INVALID_INPUT', `${shown}:${error.line}:${error.column}: invalid TOML: ${reason}`, {
        hint: `Fix the file${shown.endsWith('.lock') ? ', or regenerate it with its tool' : ''}`,
        cause: error,
      });
    }
    throw error;
  }
}

// Narrow accessors for TOML values: lockfiles are machine-written, but a hand-edited one must
// fail with a message that names the key, not with a TypeError.

export function isTable(value: unknown): value is TomlTable {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

export function tableAt(value: unknown, where: string): TomlTable {
  if (value === undefined) return {};
  if (!isTable(value)) throw invalidShape(where, 'a table');
  return value;
}

export function arrayAt(value: unknown, where: string): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalidShape(where, 'an array');
  return value;
}

export function stringAt(value: unknown, where: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidShape(where, 'a string');
  return value;
}

export function requiredString(value: unknown, where: string): string {
  const found = stringAt(value, where);
  if (found === undefined) throw invalidShape(where, 'a string');
  return found;
}

export function invalidShape(where: string, expected: string): PyslimError {
  return new PyslimError('INVALID_INPUT', `${where} must be ${expected}`, { hint: 'Fix the file, or regenerate it with its tool' });
}
