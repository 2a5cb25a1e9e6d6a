import { useCallback, useEffect, useMemo, useState } from 'react';
import { api, ApiError, isFinal, JOB_STATUSES, type JobStatus, type JobView } from '../api';
import { between, formatDuration, formatTime, StatusBadge } from '../format';
import { jobHref, Link } from '../router';
import { SubmitForm } from './SubmitForm';

/** How often the list is read again: statuses change live. */
const REFRESH_MS = 2000;

interface Filters {
  status: JobStatus | '';
  name: string;
  label: string;
}

function readFilters(): Filters {
  const params = new URLSearchParams(window.location.search);
  const status = params.get('status') ?? '';
  return {
    status: (JOB_STATUSES as readonly string[]).includes(status) ? (status as JobStatus) : '',
    name: params.get('name') ?? '',
    label: params.get('label') ?? '',
  };
}

function writeFilters(filters: Filters): void {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(filters)) if (value) params.set(name, value);
  const query = params.toString();
  window.history.replaceState(null, '', `${window.location.pathname}${query ? `?${query}` : ''}`);
}

/** `key=value` (that value), `key` (any value), or several separated by commas: all must match. */
function matchesLabels(job: JobView, filter: string): boolean {
  return filter
    .split(',')
    .map((term) => term.trim())
    .filter(Boolean)
    .every((term) => {
      const eq = term.indexOf('=');
      if (eq === -1) return term in job.labels;
      return job.labels[term.slice(0, eq).trim()] === term.slice(eq + 1).trim();
    });
}

function matchesName(job: JobView, filter: string): boolean {
  const needle = filter.trim().toLowerCase();
  return !needle || (job.name ?? '').toLowerCase().includes(needle) || job.id.startsWith(needle);
}

export function JobsPage() {
  const [filters, setFilters] = useState<Filters>(readFilters);
  const [jobs, setJobs] = useState<JobView[] | null>(null);
  // Older pages loaded with "more": kept as they were read (the first page is what refreshes).
  const [older, setOlder] = useState<JobView[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [olderCursor, setOlderCursor] = useState<string | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [showForm, setShowForm] = useState(false);

  const load = useCallback(async (): Promise<void> => {
    try {
      const page = await api.listJobs({ status: filters.status });
      setJobs(page.items);
      setCursor(page.nextCursor);
      setError(null);
    } catch (failure) {
      setError(failure instanceof ApiError ? failure.message : String(failure));
    }
  }, [filters.status]);

  useEffect(() => {
    writeFilters(filters);
  }, [filters]);

  useEffect(() => {
    setJobs(null);
    setOlder([]);
    setOlderCursor(undefined);
    void load();
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') void load();
    }, REFRESH_MS);
    return () => clearInterval(timer);
  }, [load]);

  const loadOlder = async (): Promise<void> => {
    const from = olderCursor === undefined ? cursor : olderCursor;
    if (!from) return;
    try {
      const page = await api.listJobs({ status: filters.status, cursor: from });
      setOlder((previous) => [...previous, ...page.items]);
      setOlderCursor(page.nextCursor);
    } catch (failure) {
      setError(failure instanceof ApiError ? failure.message : String(failure));
    }
  };

  const shown = useMemo(() => {
    if (!jobs) return null;
    const seen = new Set(jobs.map((job) => job.id));
    const all = [...jobs, ...older.filter((job) => !seen.has(job.id))];
    return all.filter((job) => matchesName(job, filters.name) && matchesLabels(job, filters.label));
  }, [jobs, older, filters.name, filters.label]);

  const moreCursor = olderCursor === undefined ? cursor : olderCursor;

  return (
    <>
      <div className="page-head">
        <h1>Jobs</h1>
        <button type="button" className="primary" onClick={() => setShowForm((shown) => !shown)} aria-expanded={showForm}>
          {showForm ? 'Close the form' : 'New job'}
        </button>
      </div>
      {showForm ? <SubmitForm /> : null}
      <section className="card">
        <form className="filters" role="search" onSubmit={(event) => event.preventDefault()}>
          <label>
            Status
            <select
              name="status"
              value={filters.status}
              onChange={(event) => setFilters({ ...filters, status: event.target.value as JobStatus | '' })}
            >
              <option value="">any</option>
              {JOB_STATUSES.map((status) => (
                <option key={status} value={status}>
                  {status}
                </option>
              ))}
            </select>
          </label>
          <label>
            Name
            <input
              name="name"
              type="search"
              placeholder="part of the name, or an id"
              value={filters.name}
              onChange={(event) => setFilters({ ...filters, name: event.target.value })}
            />
          </label>
          <label>
            Label
            <input
              name="label"
              type="search"
              placeholder="team=hpc, nightly"
              value={filters.label}
              onChange={(event) => setFilters({ ...filters, label: event.target.value })}
            />
          </label>
        </form>
        {error ? <p className="error">{error}</p> : null}
        {shown === null ? (
          error ? null : <p className="muted">Loading…</p>
        ) : shown.length === 0 ? (
          <p className="muted empty">No jobs{filters.status || filters.name || filters.label ? ' match these filters' : ' yet'}.</p>
        ) : (
          <table className="jobs">
            <thead>
              <tr>
                <th>Job</th>
                <th>Status</th>
                <th className="num">np</th>
                <th>Submitted</th>
                <th className="num">Ran</th>
                <th>Labels</th>
                <th>Reason</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((job) => (
                <JobRow key={job.id} job={job} />
              ))}
            </tbody>
          </table>
        )}
        {moreCursor ? (
          <button type="button" onClick={() => void loadOlder()}>
            Older jobs
          </button>
        ) : null}
      </section>
    </>
  );
}

function JobRow({ job }: { job: JobView }) {
  const running = job.status === 'RUNNING';
  const reason = job.reason ?? (job.status === 'QUEUED' ? job.pending?.reason : null);
  return (
    <tr data-job-id={job.id} data-status={job.status}>
      <td>
        <Link href={jobHref(job.id)} className="job-link">
          {job.name ?? <span className="mono">{job.id.slice(0, 8)}</span>}
        </Link>
        {job.name ? <div className="muted mono small">{job.id.slice(0, 8)}</div> : null}
      </td>
      <td>
        <StatusBadge status={job.status} />
      </td>
      <td className="num">{job.np}</td>
      <td>{formatTime(job.createdAt)}</td>
      <td className="num">{formatDuration(between(job.startedAt, job.finishedAt, running))}</td>
      <td>
        {Object.entries(job.labels).map(([key, value]) => (
          <span className="label" key={key}>
            {key}={value}
          </span>
        ))}
      </td>
      <td className={`reason ${isFinal(job.status) && job.status !== 'SUCCEEDED' ? 'bad' : 'muted'}`}>
        {reason ?? ''}
        {job.diagnosisSummary ? <div className="muted small">{job.diagnosisSummary}</div> : null}
      </td>
    </tr>
  );
}
