import { useCallback, useEffect, useRef, useState } from 'react';
import {
  api,
  ApiError,
  downloadFile,
  filePath,
  followEvents,
  isFinal,
  type FileItem,
  type JobDiagnosisView,
  type JobStatus,
  type JobView,
  type ProfileView,
  type WebhookDeliveryView,
} from '../api';
import { between, formatBytes, formatDuration, formatMs, formatTime, StatusBadge } from '../format';
import { BASE, Link } from '../router';

/** While the job runs, its view (ranks, workers, times) is read again this often. */
const REFRESH_MS = 3000;

type RankOutput = { stdout: string; stderr: string };

export function JobPage({ id }: { id: string }) {
  const [job, setJob] = useState<JobView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [streamError, setStreamError] = useState<string | null>(null);
  const [following, setFollowing] = useState(false);
  const output = useRef(new Map<number, RankOutput>());
  const [outputVersion, setOutputVersion] = useState(0);
  const [selectedRank, setSelectedRank] = useState(0);
  const [files, setFiles] = useState<FileItem[] | null>(null);
  const [diagnosis, setDiagnosis] = useState<JobDiagnosisView | null>(null);
  const [profile, setProfile] = useState<ProfileView | null>(null);
  const [deliveries, setDeliveries] = useState<WebhookDeliveryView[] | null>(null);

  const load = useCallback(async (): Promise<void> => {
    try {
      setJob(await api.getJob(id));
      setError(null);
    } catch (failure) {
      setError(failure instanceof ApiError ? failure.message : String(failure));
    }
  }, [id]);

  useEffect(() => {
    void load();
  }, [load]);

  const loaded = job !== null;
  const final = job ? isFinal(job.status) : false;
  useEffect(() => {
    if (!loaded || final) return;
    const timer = setInterval(() => void load(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [loaded, final, load]);

  // Every status and output line, stored ones first, then live; the stream ends after the final status.
  useEffect(() => {
    const abort = new AbortController();
    output.current = new Map();
    let scheduled = false;
    const rerender = (): void => {
      if (scheduled) return;
      scheduled = true;
      requestAnimationFrame(() => {
        scheduled = false;
        setOutputVersion((v) => v + 1);
      });
    };
    setFollowing(true);
    followEvents(
      id,
      (event) => {
        if (event.event === 'log') {
          const { rank, stream, text } = event.data;
          const rankOutput = output.current.get(rank) ?? { stdout: '', stderr: '' };
          rankOutput[stream] += text;
          output.current.set(rank, rankOutput);
          rerender();
        } else {
          void load();
        }
      },
      abort.signal,
    )
      .catch((failure: unknown) => {
        if (!abort.signal.aborted) setStreamError(failure instanceof ApiError ? failure.message : String(failure));
      })
      .finally(() => {
        if (!abort.signal.aborted) setFollowing(false);
      });
    return () => abort.abort();
  }, [id, load]);

  // What exists only once the job has ended.
  useEffect(() => {
    if (!final) return;
    let live = true;
    const quietly = <T,>(promise: Promise<T | null>, set: (value: T | null) => void): void => {
      promise.then((value) => live && set(value)).catch(() => live && set(null));
    };
    quietly(api.files(id), (page) => setFiles(page?.items ?? null));
    quietly(api.profile(id), setProfile);
    return () => {
      live = false;
    };
  }, [id, final]);

  // Deliveries go on after the job ends (retries with backoff): read while the page is open.
  const hasWebhook = Boolean(job?.webhook);
  useEffect(() => {
    if (!hasWebhook) return;
    let live = true;
    const read = (): void => {
      api
        .webhooks(id)
        .then((page) => live && setDeliveries(page?.items ?? null))
        .catch(() => undefined);
    };
    read();
    const timer = setInterval(read, 5000);
    return () => {
      clearInterval(timer);
      live = false;
    };
  }, [id, hasWebhook]);

  const diagnosisSummary = job?.diagnosisSummary;
  useEffect(() => {
    if (!diagnosisSummary) return;
    let live = true;
    api
      .diagnosis(id)
      .then((value) => live && setDiagnosis(value))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [id, diagnosisSummary]);

  if (!job) {
    return (
      <section className="card">
        <p>
          <Link href={`${BASE}/`}>← Jobs</Link>
        </p>
        {error ? <p className="error">{error}</p> : <p className="muted">Loading…</p>}
      </section>
    );
  }

  const cancel = async (): Promise<void> => {
    try {
      setJob(await api.cancelJob(id));
    } catch (failure) {
      setError(failure instanceof ApiError ? failure.message : String(failure));
    }
  };

  return (
    <>
      <p className="crumbs">
        <Link href={`${BASE}/`}>← Jobs</Link>
      </p>
      <div className="page-head">
        <h1>
          {job.name ?? 'Job'} <span className="mono muted small">{job.id}</span>
        </h1>
        <StatusBadge status={job.status} />
        {!final ? (
          <button type="button" onClick={() => void cancel()}>
            Cancel
          </button>
        ) : null}
      </div>
      {error ? <p className="error">{error}</p> : null}
      <Outcome job={job} />
      <section className="card grid-2">
        <Timeline job={job} />
        <Details job={job} />
      </section>
      {job.result !== undefined && job.result !== null ? (
        <section className="card" aria-label="Result">
          <h2>Result</h2>
          <pre className="output result">{JSON.stringify(job.result, null, 2)}</pre>
        </section>
      ) : null}
      {job.resultError ? (
        <section className="card" aria-label="Result">
          <h2>Result</h2>
          <p className="error">{job.resultError}</p>
        </section>
      ) : null}
      <Ranks job={job} selected={selectedRank} onSelect={setSelectedRank} />
      <Output
        job={job}
        rank={selectedRank}
        onSelect={setSelectedRank}
        output={output.current.get(selectedRank)}
        version={outputVersion}
        following={following}
        streamError={streamError}
      />
      {files ? <Files id={id} files={files} job={job} /> : null}
      {diagnosis ? <Diagnosis diagnosis={diagnosis} /> : null}
      {profile ? <Profile profile={profile} /> : null}
      {job.webhook ? <Webhooks webhook={job.webhook} deliveries={deliveries ?? []} /> : null}
    </>
  );
}

/** Why the job is where it is, first: the reason, the failing rank's stderr, where ranks stood. */
function Outcome({ job }: { job: JobView }) {
  if (job.status === 'QUEUED') {
    return job.pending ? (
      <section className="callout info" aria-label="Why it waits">
        <strong>Waiting:</strong> {job.pending.reason} ({job.pending.slotsFree} of {job.pending.slotsNeeded} slots free)
      </section>
    ) : null;
  }
  if (job.status === 'RUNNING' || (job.status === 'SUCCEEDED' && !job.reason)) return null;
  const bad = job.status !== 'SUCCEEDED';
  return (
    <section className={`callout ${bad ? 'bad' : 'info'}`} aria-label="Reason">
      <div className="reason-line">
        <strong>{job.status.replace('_', ' ').toLowerCase()}:</strong> <span className="reason">{job.reason ?? 'no reason given'}</span>
        {job.exitCode !== null ? <span className="muted"> · exit code {job.exitCode}</span> : null}
        {job.failedRank !== null ? <span className="muted"> · rank {job.failedRank}</span> : null}
      </div>
      {job.diagnosisSummary ? <div className="diagnosis-summary">{job.diagnosisSummary}</div> : null}
      {job.stderrTail ? <pre className="output tail">{job.stderrTail}</pre> : null}
    </section>
  );
}

interface Step {
  status: JobStatus | 'SUBMITTED';
  at: string | null;
  note?: string;
}

function steps(job: JobView): Step[] {
  if (job.transitions?.length) {
    return job.transitions.map((t) => ({ status: t.status, at: t.at, ...(t.reason ? { note: t.reason } : {}) }));
  }
  const list: Step[] = [{ status: 'QUEUED', at: job.createdAt }];
  if (job.startedAt || job.status === 'RUNNING') list.push({ status: 'RUNNING', at: job.startedAt });
  if (isFinal(job.status)) list.push({ status: job.status, at: job.finishedAt });
  return list;
}

function Timeline({ job }: { job: JobView }) {
  const list = steps(job);
  return (
    <div>
      <h2>Timeline</h2>
      <ol className="timeline">
        {list.map((step, index) => {
          const next = list[index + 1];
          const span = between(step.at, next?.at ?? null, !next && !isFinal(job.status));
          return (
            <li key={`${step.status}-${index}`} data-step={step.status}>
              <span className={`dot status-${step.status.toLowerCase()}`} />
              <span className="step-status">{step.status.replace('_', ' ')}</span>
              <time dateTime={step.at ?? undefined}>{formatTime(step.at)}</time>
              {step.note ? <span className="muted small"> {step.note}</span> : null}
              {span !== null && (next || !isFinal(job.status)) ? (
                <div className="muted small span">
                  {step.status === 'QUEUED' ? 'waited' : 'ran'} {formatDuration(span)}
                  {next ? '' : ' so far'}
                </div>
              ) : null}
            </li>
          );
        })}
      </ol>
    </div>
  );
}

function Details({ job }: { job: JobView }) {
  const workers = [...new Set(job.ranks.map((r) => r.worker).filter(Boolean))];
  return (
    <div>
      <h2>Job</h2>
      <dl className="details">
        <dt>Ranks</dt>
        <dd>
          {job.np} ({job.placement}
          {job.oversubscribe ? ', oversubscribe' : ''}
          {job.launcher === 'futures' ? ', mpi4py.futures' : ''})
        </dd>
        <dt>Time limit</dt>
        <dd>{job.timeoutSeconds} s</dd>
        <dt>Arguments</dt>
        <dd className="mono">{job.args.length ? job.args.map((a) => JSON.stringify(a)).join(' ') : '—'}</dd>
        <dt>Labels</dt>
        <dd>
          {Object.keys(job.labels).length
            ? Object.entries(job.labels).map(([key, value]) => (
                <span className="label" key={key}>
                  {key}={value}
                </span>
              ))
            : '—'}
        </dd>
        <dt>Workers</dt>
        <dd className="mono">{workers.length ? workers.join(', ') : '—'}</dd>
      </dl>
    </div>
  );
}

function Ranks({ job, selected, onSelect }: { job: JobView; selected: number; onSelect: (rank: number) => void }) {
  if (job.ranks.length === 0) return null;
  return (
    <section className="card" aria-label="Ranks">
      <h2>Ranks</h2>
      <table className="ranks">
        <thead>
          <tr>
            <th className="num">Rank</th>
            <th className="num">Exit code</th>
            <th>Signal</th>
            <th>Worker</th>
            <th className="num">Duration</th>
            <th className="num">stdout</th>
            <th className="num">stderr</th>
          </tr>
        </thead>
        <tbody>
          {job.ranks.map((rank) => (
            <tr
              key={rank.rank}
              data-rank={rank.rank}
              className={`${rank.rank === selected ? 'selected' : ''} ${rank.exitCode !== null && rank.exitCode !== 0 ? 'bad' : ''}`}
              onClick={() => onSelect(rank.rank)}
              title="Show this rank's output"
            >
              <td className="num">{rank.rank}</td>
              <td className="num">{rank.exitCode ?? '—'}</td>
              <td>{rank.signal ?? '—'}</td>
              <td className="mono">{rank.worker ?? '—'}</td>
              <td className="num">{formatDuration(between(rank.startedAt, rank.finishedAt, job.status === 'RUNNING'))}</td>
              <td className="num">{formatBytes(rank.stdoutBytes)}</td>
              <td className="num">
                {formatBytes(rank.stderrBytes)}
                {rank.truncated ? <span className="muted small"> (truncated)</span> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

interface OutputProps {
  job: JobView;
  rank: number;
  onSelect: (rank: number) => void;
  output: RankOutput | undefined;
  version: number;
  following: boolean;
  streamError: string | null;
}

function Output({ job, rank, onSelect, output, version, following, streamError }: OutputProps) {
  const [follow, setFollow] = useState(true);
  return (
    <section className="card" aria-label="Output">
      <div className="output-head">
        <h2>Output</h2>
        <div className="rank-tabs" role="tablist">
          {Array.from({ length: job.np }, (_, r) => (
            <button
              key={r}
              type="button"
              role="tab"
              aria-selected={r === rank}
              className={r === rank ? 'tab active' : 'tab'}
              onClick={() => onSelect(r)}
            >
              rank {r}
            </button>
          ))}
        </div>
        <label className="follow">
          <input type="checkbox" checked={follow} onChange={(event) => setFollow(event.target.checked)} /> follow
        </label>
        <span className={`live ${following ? 'on' : ''}`}>{following ? '● live' : 'complete'}</span>
      </div>
      {streamError ? <p className="error">{streamError}</p> : null}
      <div className="streams">
        <Stream name="stdout" rank={rank} text={output?.stdout ?? ''} follow={follow} version={version} />
        <Stream name="stderr" rank={rank} text={output?.stderr ?? ''} follow={follow} version={version} />
      </div>
    </section>
  );
}

function Stream({ name, rank, text, follow, version }: { name: 'stdout' | 'stderr'; rank: number; text: string; follow: boolean; version: number }) {
  const ref = useRef<HTMLPreElement>(null);
  useEffect(() => {
    if (follow && ref.current) ref.current.scrollTop = ref.current.scrollHeight;
  }, [follow, version, rank]);
  return (
    <div className="stream">
      <div className="stream-name">
        {name} <span className="muted small">rank {rank}</span>
      </div>
      <pre ref={ref} className={`output ${name}`} data-stream={name} data-rank={rank}>
        {text || <span className="muted">(nothing yet)</span>}
      </pre>
    </div>
  );
}

function Files({ id, files, job }: { id: string; files: FileItem[]; job: JobView }) {
  const [error, setError] = useState<string | null>(null);
  return (
    <section className="card" aria-label="Files">
      <h2>Files</h2>
      {job.filesExpiredAt ? (
        <p className="muted">The files were deleted at {formatTime(job.filesExpiredAt)} (retention).</p>
      ) : files.length === 0 ? (
        <p className="muted">The job wrote no files to MPIAAS_OUTPUT.</p>
      ) : null}
      {job.filesDropped ? <p className="error">{job.filesDropped} file(s) dropped over the job's limits: see _mpiaas/.</p> : null}
      {error ? <p className="error">{error}</p> : null}
      {files.length ? (
        <table className="files">
          <thead>
            <tr>
              <th>Path</th>
              <th className="num">Rank</th>
              <th className="num">Size</th>
            </tr>
          </thead>
          <tbody>
            {files.map((file) => (
              <tr key={`${file.rank}:${file.path}`}>
                <td className="mono">
                  <a
                    href={filePath(id, file.path)}
                    download={file.path.split('/').pop()}
                    onClick={(event) => {
                      event.preventDefault();
                      setError(null);
                      downloadFile(id, file.path).catch((failure: unknown) => setError(failure instanceof Error ? failure.message : String(failure)));
                    }}
                  >
                    {file.path}
                  </a>
                </td>
                <td className="num">{file.rank ?? '—'}</td>
                <td className="num">{formatBytes(file.bytes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

function Diagnosis({ diagnosis }: { diagnosis: JobDiagnosisView }) {
  return (
    <section className="card" aria-label="Diagnosis">
      <h2>Diagnosis: {diagnosis.kind}</h2>
      <p>{diagnosis.summary}</p>
      <table className="diagnosis">
        <thead>
          <tr>
            <th className="num">Rank</th>
            <th>State</th>
            <th>Where</th>
            <th>MPI call</th>
            <th>Stack</th>
          </tr>
        </thead>
        <tbody>
          {diagnosis.ranks.map((rank) => (
            <tr key={rank.rank}>
              <td className="num">{rank.rank}</td>
              <td>{rank.state}</td>
              <td className="mono">{rank.where ?? '—'}</td>
              <td className="mono">{rank.call ?? '—'}</td>
              <td>
                {rank.stack ? (
                  <details>
                    <summary>stack</summary>
                    <pre className="output">{rank.stack}</pre>
                  </details>
                ) : (
                  '—'
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Profile({ profile }: { profile: ProfileView }) {
  const spread = (s: { min: number; avg: number; max: number }): string => `${formatMs(s.min)} / ${formatMs(s.avg)} / ${formatMs(s.max)}`;
  return (
    <section className="card" aria-label="Profile">
      <h2>Profile</h2>
      {profile.ops.length ? (
        <table className="profile">
          <thead>
            <tr>
              <th>MPI call</th>
              <th className="num">Calls</th>
              <th className="num">Bytes</th>
              <th className="num">Time ms (min / avg / max)</th>
              <th className="num">Wait ms (min / avg / max)</th>
            </tr>
          </thead>
          <tbody>
            {profile.ops.map((op) => (
              <tr key={op.op}>
                <td className="mono">{op.op}</td>
                <td className="num">{op.calls}</td>
                <td className="num">{formatBytes(op.bytes)}</td>
                <td className="num">{spread(op.timeMs)}</td>
                <td className="num">{spread(op.waitMs)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="muted">No MPI calls recorded.</p>
      )}
      {profile.ranks.length ? (
        <table className="profile-ranks">
          <thead>
            <tr>
              <th className="num">Rank</th>
              <th className="num">Wall</th>
              <th className="num">In MPI</th>
              <th>Share in MPI</th>
            </tr>
          </thead>
          <tbody>
            {profile.ranks.map((rank) => {
              const share = rank.wallMs > 0 ? Math.min(1, rank.mpiMs / rank.wallMs) : 0;
              return (
                <tr key={rank.rank}>
                  <td className="num">{rank.rank}</td>
                  <td className="num">{formatDuration(rank.wallMs)}</td>
                  <td className="num">{formatDuration(rank.mpiMs)}</td>
                  <td>
                    <div className="bar" title={`${(share * 100).toFixed(1)} %`}>
                      <div style={{ width: `${share * 100}%` }} />
                    </div>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

function Webhooks({ webhook, deliveries }: { webhook: NonNullable<JobView['webhook']>; deliveries: WebhookDeliveryView[] }) {
  return (
    <section className="card" aria-label="Webhook">
      <h2>Webhook</h2>
      <p>
        <span className="mono">{webhook.url}</span> <span className="muted">on {webhook.events.join(', ')}</span>
        {webhook.signed ? <span className="muted"> · signed</span> : <span className="muted"> · unsigned</span>}
      </p>
      {deliveries.length === 0 ? (
        <p className="muted">No delivery yet.</p>
      ) : (
        <table className="deliveries">
          <thead>
            <tr>
              <th>Event</th>
              <th className="num">Attempt</th>
              <th>At</th>
              <th className="num">HTTP</th>
              <th className="num">Took</th>
              <th>Outcome</th>
            </tr>
          </thead>
          <tbody>
            {deliveries.map((delivery) => (
              <tr key={`${delivery.event}-${delivery.attempt}-${delivery.at}`} className={delivery.ok ? '' : 'bad'}>
                <td>{delivery.event}</td>
                <td className="num">{delivery.attempt}</td>
                <td>{formatTime(delivery.at)}</td>
                <td className="num">{delivery.statusCode ?? '—'}</td>
                <td className="num">{formatDuration(delivery.durationMs)}</td>
                <td className={delivery.ok ? 'muted' : 'reason bad'}>{delivery.error ?? (delivery.ok ? 'delivered' : '')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
