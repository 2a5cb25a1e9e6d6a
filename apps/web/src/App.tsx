import { type FormEvent, useEffect, useState } from 'react';
import { api, ApiError, onUnauthorized, storedKey, storeKey } from './api';
import { JobPage } from './pages/JobPage';
import { JobsPage } from './pages/JobsPage';
import { BASE, Link, parseRoute, useLocation } from './router';

export function App() {
  const location = useLocation();
  const route = parseRoute(location.pathname);
  // Set when the api refused the request for want of a (valid) key: the message it gave.
  const [keyNeeded, setKeyNeeded] = useState<string | null>(null);
  const [askingKey, setAskingKey] = useState(false);
  // Pages are remounted with a new key so that they fetch again with it.
  const [keyVersion, setKeyVersion] = useState(0);
  const [key, setKey] = useState(storedKey());

  useEffect(() => onUnauthorized((message) => setKeyNeeded(message)), []);
  useEffect(() => {
    const changed = (): void => setKey(storedKey());
    window.addEventListener('mpiaas:key', changed);
    window.addEventListener('storage', changed);
    return () => {
      window.removeEventListener('mpiaas:key', changed);
      window.removeEventListener('storage', changed);
    };
  }, []);

  const keySaved = (): void => {
    setKeyNeeded(null);
    setAskingKey(false);
    setKeyVersion((v) => v + 1);
  };

  return (
    <>
      <header className="topbar">
        <Link href={`${BASE}/`} className="brand">
          mpiaas
        </Link>
        <nav>
          <Link href={`${BASE}/`}>Jobs</Link>
          <a href="/docs" target="_blank" rel="noreferrer">
            API docs
          </a>
        </nav>
        <div className="key-area">
          {key ? (
            <>
              <span className="muted" title="API key kept in this browser">
                key {key.slice(0, 8)}…
              </span>
              <button type="button" className="link" onClick={() => setAskingKey(true)}>
                change
              </button>
              <button
                type="button"
                className="link"
                onClick={() => {
                  storeKey(null);
                  setKeyVersion((v) => v + 1);
                }}
              >
                forget
              </button>
            </>
          ) : (
            <button type="button" className="link" onClick={() => setAskingKey(true)}>
              set API key
            </button>
          )}
        </div>
      </header>
      {keyNeeded !== null || askingKey ? (
        <KeyDialog message={keyNeeded} onSaved={keySaved} onCancel={keyNeeded === null ? () => setAskingKey(false) : undefined} />
      ) : null}
      <main key={keyVersion}>
        {route.page === 'jobs' ? <JobsPage /> : null}
        {route.page === 'job' ? <JobPage id={route.id} /> : null}
        {route.page === 'missing' ? (
          <section className="card">
            <h1>Not found</h1>
            <p>
              No page at <code>{route.path}</code>. <Link href={`${BASE}/`}>Back to the jobs</Link>
            </p>
          </section>
        ) : null}
      </main>
    </>
  );
}

/** Asks for the API key once; it is checked against the api, then kept in localStorage. */
function KeyDialog({ message, onSaved, onCancel }: { message: string | null; onSaved: () => void; onCancel: (() => void) | undefined }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    const key = value.trim();
    if (!key) return;
    setBusy(true);
    setError(null);
    try {
      await api.checkKey(key);
      storeKey(key);
      onSaved();
    } catch (failure) {
      setError(failure instanceof ApiError ? failure.message : String(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="overlay">
      <form className="card key-dialog" onSubmit={(event) => void submit(event)} aria-label="API key">
        <h2>API key</h2>
        {message ? <p className="muted">{message}</p> : null}
        <p>
          The key is kept in this browser only (localStorage) and sent as <code>Authorization: Bearer …</code> with every
          API call.
        </p>
        <input
          name="apiKey"
          type="password"
          autoFocus
          autoComplete="off"
          placeholder="mpk_…"
          value={value}
          onChange={(event) => setValue(event.target.value)}
        />
        {error ? <p className="error">{error}</p> : null}
        <div className="actions">
          {onCancel ? (
            <button type="button" onClick={onCancel}>
              Cancel
            </button>
          ) : null}
          <button type="submit" className="primary" disabled={busy || !value.trim()}>
            Save key
          </button>
        </div>
      </form>
    </div>
  );
}
