import { afterEach, describe, expect, it, vi } from 'vitest';
import { ActiveRuns } from './active-runs';

const run = (runs: ActiveRuns, jobId: string) => {
  const controller = new AbortController();
  const unregister = runs.add(jobId, controller, Promise.resolve());
  return { signal: controller.signal, unregister };
};

afterEach(() => vi.useRealTimers());

describe('ActiveRuns', () => {
  it('stops the runs of a job, and a cancel also those registered after it', () => {
    const runs = new ActiveRuns();
    const lead = run(runs, 'job');
    expect(runs.stop('job', 'cancel')).toBe(true);
    expect(lead.signal.reason).toBe('cancel');
    // the share of the same job, still preparing its workspace when the cancel came
    const share = run(runs, 'job');
    expect(share.signal.aborted).toBe(true);
    expect(share.signal.reason).toBe('cancel');
    expect(run(runs, 'other job').signal.aborted).toBe(false);
  });

  it('remembers a cancel that came before any run of the job, but not a shutdown or a lost lock', () => {
    const runs = new ActiveRuns();
    expect(runs.stop('cancelled', 'cancel')).toBe(false);
    expect(runs.stop('shut', 'shutdown')).toBe(false);
    expect(runs.stop('lost', 'lost')).toBe(false);
    expect(run(runs, 'cancelled').signal.aborted).toBe(true);
    expect(run(runs, 'shut').signal.aborted).toBe(false);
    expect(run(runs, 'lost').signal.aborted).toBe(false);
  });

  it('forgets a cancel after ten minutes', () => {
    vi.useFakeTimers();
    const runs = new ActiveRuns();
    runs.stop('old', 'cancel');
    vi.advanceTimersByTime(9 * 60_000);
    runs.stop('newer', 'cancel');
    vi.advanceTimersByTime(2 * 60_000);
    expect(run(runs, 'old').signal.aborted).toBe(false);
    expect(run(runs, 'newer').signal.aborted).toBe(true);
  });
});
