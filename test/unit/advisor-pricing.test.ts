/** The advisor's pure pieces: Lambda's CPU share, INIT billing, estimates, the recommendation rule, the text chart. */
import { describe, expect, it } from 'vitest';
import { PRICES, estimateInitMs, initGbSeconds, recommendMemory, usdPerMillionColdStarts, vcpuShare } from '../../src/advisor/pricing.js';
import { renderAdvice } from '../../src/cli/render-advice.js';
import type { Advice } from '../../src/model/report.js';

describe('CPU share and INIT billing', () => {
  it.each([
    [128, 0.0724],
    [1769, 1],
    [3008, 1.7004],
  ])('%i MB is %f vCPU', (memory, vcpu) => expect(vcpuShare(memory)).toBeCloseTo(vcpu, 3));

  it('bills memory in GB times init rounded up to the millisecond, at the architecture price', () => {
    expect(initGbSeconds(1024, 499.2)).toBeCloseTo(0.5, 6);
    expect(usdPerMillionColdStarts(1024, 1000, 'x86_64')).toBeCloseTo(PRICES.usdPerGbSecond.x86_64 * 1e6, 6);
    expect(usdPerMillionColdStarts(1024, 1000, 'arm64')).toBeLessThan(usdPerMillionColdStarts(1024, 1000, 'x86_64'));
  });

  it('estimates by the share below one vCPU and not at all above it (single-threaded imports)', () => {
    expect(estimateInitMs(100, 1769 / 2)).toBeCloseTo(200, 6);
    expect(estimateInitMs(100, 3008)).toBe(100);
  });
});

describe('recommendMemory', () => {
  const at = (memoryMb: number, initMs: number | null) => ({ memoryMb, initMs, usdPerMillion: initMs === null ? null : usdPerMillionColdStarts(memoryMb, initMs, 'x86_64') });

  it('picks the cheapest setting within 10% of the fastest', () => {
    expect(recommendMemory([at(1024, 1300), at(1769, 760), at(3008, 720)])?.memoryMb).toBe(1769);
  });

  it('never picks a setting over the 10 s INIT limit, nor one that timed out', () => {
    expect(recommendMemory([at(128, 10_500), at(256, null), at(512, 3000)])?.memoryMb).toBe(512);
    expect(recommendMemory([at(128, null)])).toBeUndefined();
  });
});

describe('renderAdvice', () => {
  const advice: Advice = {
    handler: 'handler.handler', interpreter: 'host python3.11', runtime: 'python3.11', arch: 'x86_64', runs: 1,
    quota: { method: null, note: 'no CPU quota could be applied (test): the figures per memory setting are estimates' },
    hostInitMs: 100,
    memory: [128, 1769].map((memoryMb) => ({ memoryMb, vcpu: vcpuShare(memoryMb), initMs: estimateInitMs(100, memoryMb), samplesMs: [], estimated: true, overInitLimit: false, gbSeconds: 0, usdPerMillion: 1 })),
    recommendation: null, price: { arch: 'x86_64', usdPerGbSecond: 1, region: 'r', source: 's', date: 'd' },
    statements: [], findings: [], snapStart: { supported: false, blockers: ['old'] }, arm64: null,
  };

  it('labels estimates, and draws bars in proportion only when asked (a TTY)', () => {
    const plain = renderAdvice(advice);
    expect(plain).toContain('ESTIMATED, not measured');
    expect(plain).toContain('no CPU quota could be applied (test)');
    expect(plain).not.toContain('█');
    const bars = renderAdvice(advice, { chart: true }).split('\n').filter((l) => l.includes('█')).map((l) => (l.match(/█/g) ?? []).length);
    expect(bars).toEqual([40, 3]); // 100 ms / 0.0724 vCPU ≈ 1382 ms against 100 ms
  });
});
