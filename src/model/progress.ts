/** Progress of a build, for display. The library never prints; the CLI renders these. */
export interface ProgressEvent {
  stage: string;
  status: 'start' | 'progress' | 'done';
  message?: string;
  /** For 'progress': units done and total (bytes while compressing). */
  current?: number;
  total?: number;
}
