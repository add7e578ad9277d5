/**
 * Glob patterns for --exclude and --keep, matched against paths inside the zip.
 *
 * The semantics follow .gitignore, which users already know: a pattern without a slash matches
 * a file or folder name at any depth (`*.md`, `tests`); a pattern with a slash is anchored at the
 * zip root (`pandas/io/clipboard`, `botocore/data/ec2/**`). A pattern that matches a folder matches
 * everything under it.
 */
import picomatch from 'picomatch';

export interface GlobSet {
  /** The patterns as the user wrote them. */
  readonly patterns: readonly string[];
  /** The first pattern that matches the path or one of its parent folders, if any. */
  match(path: string): string | undefined;
}

export function compileGlobs(patterns: readonly string[]): GlobSet {
  const compiled = patterns.map((pattern) => {
    const trimmed = pattern.replace(/^\.?\//, '').replace(/\/+$/, '');
    const anchored = trimmed.includes('/');
    return { pattern, anchored, test: picomatch(trimmed, { dot: true }) };
  });
  return {
    patterns,
    match(path) {
      if (compiled.length === 0) return undefined;
      const segments = path.split('/');
      for (const { pattern, anchored, test } of compiled) {
        for (let i = 0; i < segments.length; i++) {
          const candidate = anchored ? segments.slice(0, i + 1).join('/') : segments[i]!;
          if (test(candidate)) return pattern;
        }
      }
      return undefined;
    },
  };
}
