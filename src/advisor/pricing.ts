/**
 * Lambda's CPU share per memory setting and the price of the INIT phase, in one table.
 *
 * CPU scales linearly with memory, 1,769 MB being one vCPU (AWS Lambda docs, "Configure Lambda
 * function memory"). INIT is billed like duration since 2025-08-01 for on-demand zip functions on
 * managed runtimes (AWS Compute Blog, "AWS Lambda standardizes billing for the INIT phase").
 */
import type { ArchName } from '../runtimes.js';

/** The memory that buys one vCPU. */
export const MB_PER_VCPU = 1769;

/** Lambda's INIT phase limit: a longer init fails the start. */
export const INIT_LIMIT_MS = 10_000;

/** The price of a GB-second of duration, per architecture (INIT is billed at the same rate). */
export const PRICES = {
  region: 'us-east-1',
  source: 'AWS Lambda pricing page, duration price of the first 6 billion GB-seconds a month',
  date: '2025-08-01',
  usdPerGbSecond: { x86_64: 0.0000166667, arm64: 0.0000133334 } satisfies Record<ArchName, number>,
} as const;

/** The recommendation is the cheapest setting whose init is at most this much slower than the fastest. */
export const RECOMMENDATION_MARGIN_PERCENT = 10;

export function vcpuShare(memoryMb: number): number {
  return memoryMb / MB_PER_VCPU;
}

/** Billed INIT GB-seconds: Lambda rounds the duration up to the millisecond. */
export function initGbSeconds(memoryMb: number, initMs: number): number {
  return (memoryMb / 1024) * (Math.ceil(initMs) / 1000);
}

export function usdPerMillionColdStarts(memoryMb: number, initMs: number, arch: ArchName): number {
  return initGbSeconds(memoryMb, initMs) * PRICES.usdPerGbSecond[arch] * 1e6;
}

/**
 * An estimate of init at a memory setting from the host's figure, when no quota can be applied:
 * the host's core stands for one vCPU, and a single-threaded import gains nothing above one.
 */
export function estimateInitMs(hostInitMs: number, memoryMb: number): number {
  return hostInitMs / Math.min(1, vcpuShare(memoryMb));
}

/** The cheapest setting within the margin of the fastest (ties go to less memory). */
export function recommendMemory<T extends { memoryMb: number; initMs: number | null; usdPerMillion: number | null }>(settings: readonly T[]): (T & { initMs: number; usdPerMillion: number }) | undefined {
  const known = settings.filter((s): s is T & { initMs: number; usdPerMillion: number } => s.initMs !== null && s.usdPerMillion !== null && s.initMs < INIT_LIMIT_MS);
  if (known.length === 0) return undefined;
  const fastest = Math.min(...known.map((s) => s.initMs));
  const near = known.filter((s) => s.initMs <= fastest * (1 + RECOMMENDATION_MARGIN_PERCENT / 100));
  return near.sort((a, b) => a.usdPerMillion - b.usdPerMillion || a.memoryMb - b.memoryMb)[0];
}
