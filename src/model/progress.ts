/** Progress of a build, for display. The library never prints; the CLI renders these. */
export interface ProgressEvent {
  stage: string;
  status: 'start' | 'progress' | 'done';
  message?: string;
  /** For 'progress': what the bytes are doing (compressing when not said). */
  action?: 'compressing' | 'downloading' | 'uploading';
  /** For 'progress': units done and total (bytes while compressing, downloading or uploading). */
  current?: number;
  total?: number;
}
