import { type FormEvent, type KeyboardEvent, useState } from 'react';
import { api, ApiError, type CreateJobRequest } from '../api';
import { jobHref, navigate } from '../router';

const EXAMPLE = `from mpi4py import MPI

comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
total = comm.allreduce(rank, op=MPI.SUM)
print(f"hello from rank {rank} of {size}; sum of ranks {total}")
`;

/** The mpi4py releases a job's ranks may answer as (the job's MPIAAS_MPI4PY; docs/compat.md). */
const MPI4PY_RELEASES = [
  { value: '', label: '3.1.4 (Debian’s; the default)' },
  { value: '4.1', label: '4.1.2 (current, from pip)' },
] as const;

/** `KEY=VALUE` lines into a map; blank lines and `#` comments skipped; a line without `=` is an error. */
export function parsePairs(text: string, what: string): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`${what}, line ${index + 1}: expected NAME=value, got "${line}"`);
    pairs[line.slice(0, eq).trim()] = line.slice(eq + 1);
  }
  return pairs;
}

/** Tab indents (four spaces) instead of leaving the editor; Shift+Tab still leaves it. */
function indentOnTab(event: KeyboardEvent<HTMLTextAreaElement>, setScript: (script: string) => void): void {
  if (event.key !== 'Tab' || event.shiftKey || event.ctrlKey || event.metaKey || event.altKey) return;
  event.preventDefault();
  const area = event.currentTarget;
  const { selectionStart: start, selectionEnd: end, value } = area;
  const next = `${value.slice(0, start)}    ${value.slice(end)}`;
  setScript(next);
  requestAnimationFrame(() => area.setSelectionRange(start + 4, start + 4));
}

export function SubmitForm() {
  const [script, setScript] = useState(EXAMPLE);
  const [name, setName] = useState('');
  const [np, setNp] = useState('2');
  const [timeout, setTimeoutSeconds] = useState('');
  const [args, setArgs] = useState('');
  const [env, setEnv] = useState('');
  const [mpi4py, setMpi4py] = useState('');
  const [labels, setLabels] = useState('');
  const [webhook, setWebhook] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setError(null);
    let body: CreateJobRequest;
    try {
      body = { script, np: Number(np) };
      if (name.trim()) body.name = name.trim();
      if (timeout.trim()) body.timeoutSeconds = Number(timeout);
      const argList = args.split('\n').filter((line) => line.length > 0);
      if (argList.length) body.args = argList;
      const envMap = parsePairs(env, 'Environment');
      if (mpi4py) envMap.MPIAAS_MPI4PY = mpi4py;
      if (Object.keys(envMap).length) body.env = envMap;
      const labelMap = parsePairs(labels, 'Labels');
      if (Object.keys(labelMap).length) body.labels = labelMap;
      if (webhook.trim()) body.webhook = { url: webhook.trim() };
    } catch (failure) {
      setError((failure as Error).message);
      return;
    }
    setBusy(true);
    try {
      const job = await api.createJob(body);
      navigate(jobHref(job.id));
    } catch (failure) {
      setError(failure instanceof ApiError ? failure.message : String(failure));
      setBusy(false);
    }
  };

  return (
    <section className="card">
      <h2>New job</h2>
      <form className="submit-form" onSubmit={(event) => void submit(event)} aria-label="New job">
        <label className="script">
          Script (mpi4py)
          <textarea
            name="script"
            className="editor"
            spellCheck={false}
            autoCapitalize="off"
            autoCorrect="off"
            rows={Math.min(30, Math.max(10, script.split('\n').length + 1))}
            value={script}
            onChange={(event) => setScript(event.target.value)}
            onKeyDown={(event) => indentOnTab(event, setScript)}
          />
        </label>
        <div className="fields">
          <label>
            Name
            <input name="jobName" value={name} placeholder="optional" onChange={(event) => setName(event.target.value)} />
          </label>
          <label>
            Ranks (np)
            <input name="np" type="number" min={1} required value={np} onChange={(event) => setNp(event.target.value)} />
          </label>
          <label>
            Time limit (seconds)
            <input
              name="timeoutSeconds"
              type="number"
              min={1}
              placeholder="server default"
              value={timeout}
              onChange={(event) => setTimeoutSeconds(event.target.value)}
            />
          </label>
          <label>
            Arguments (one per line)
            <textarea name="args" rows={3} className="mono" value={args} onChange={(event) => setArgs(event.target.value)} />
          </label>
          <label>
            mpi4py API
            <select name="mpi4py" value={mpi4py} onChange={(event) => setMpi4py(event.target.value)}>
              {MPI4PY_RELEASES.map((release) => (
                <option key={release.value} value={release.value}>
                  {release.label}
                </option>
              ))}
            </select>
          </label>
          <label>
            Environment (NAME=value per line)
            <textarea name="env" rows={3} className="mono" value={env} onChange={(event) => setEnv(event.target.value)} />
          </label>
          <label>
            Labels (key=value per line)
            <textarea name="labels" rows={2} className="mono" value={labels} onChange={(event) => setLabels(event.target.value)} />
          </label>
          <label>
            Webhook URL (optional: the final status is POSTed there)
            <input name="webhook" type="url" placeholder="https://…" value={webhook} onChange={(event) => setWebhook(event.target.value)} />
          </label>
          {error ? (
            <p className="error" role="alert">
              {error}
            </p>
          ) : null}
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Submitting…' : 'Submit'}
          </button>
        </div>
      </form>
    </section>
  );
}
