/**
 * Progress on a terminal: one status line per stage, redrawn in place. Shown only when stderr
 * is a TTY, and never under CI, --json to stdout, or --quiet (the CLI decides).
 */
import prettyBytes from 'pretty-bytes';
import type { ProgressEvent } from '../model/progress.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export interface ProgressSink {
  write(text: string): void;
  columns?: number;
}

export function createProgressRenderer(sink: ProgressSink): { onProgress(event: ProgressEvent): void; stop(): void } {
  let frame = 0;
  let current = '';
  let started = 0;
  let detail = '';
  let timer: NodeJS.Timeout | undefined;
  const width = () => Math.max(20, (sink.columns ?? 80) - 1);
  const draw = () => {
    if (!current) return;
    const elapsed = ((Date.now() - started) / 1000).toFixed(1);
    const line = `${FRAMES[frame++ % FRAMES.length]} ${current} ${elapsed}s ${detail}`;
    sink.write(`\r\x1b[2K${line.slice(0, width())}`);
  };
  const clear = () => sink.write('\r\x1b[2K');

  return {
    onProgress(event) {
      if (event.status === 'start') {
        current = event.stage;
        started = Date.now();
        detail = '';
        timer ??= setInterval(draw, 100);
      } else if (event.status === 'progress') {
        if (event.total) detail = `${event.action ?? 'compressing'} ${prettyBytes(event.current ?? 0)} of ${prettyBytes(event.total)}`;
        else if (event.message) detail = event.message;
      } else if (event.status === 'done' && event.stage === current) {
        clear();
        sink.write(`✓ ${event.stage} ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
        current = '';
      }
      draw();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      if (current) clear();
    },
  };
}
