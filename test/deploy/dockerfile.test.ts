// docker/Dockerfile cannot be built here (no Docker engine): these checks keep it honest.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { execForm, parseDockerfile, type Stage } from './support/dockerfile';
import { REPO } from './support/workloads';

const dockerfile = parseDockerfile(readFileSync(path.join(REPO, 'docker/Dockerfile'), 'utf8'));
const stageNames = new Set(dockerfile.stages.map((s) => s.name));

function stage(name: string): Stage {
  const found = dockerfile.stages.find((s) => s.name === name);
  if (!found) throw new Error(`docker/Dockerfile has no stage ${name}`);
  return found;
}

function last(s: Stage, keyword: string): string | undefined {
  return s.instructions.filter((i) => i.keyword === keyword).at(-1)?.args;
}

/** The workspaces of the root package.json, as folders. */
function workspaces(): string[] {
  const { workspaces: globs } = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { workspaces: string[] };
  return globs.flatMap((glob) => {
    const parent = glob.replace(/\/\*$/, '');
    return readdirSync(path.join(REPO, parent), { withFileTypes: true })
      .filter((e) => e.isDirectory() && existsSync(path.join(REPO, parent, e.name, 'package.json')))
      .map((e) => `${parent}/${e.name}`);
  });
}

describe('docker/Dockerfile', () => {
  test('every base image is pinned to a version tag, never latest', () => {
    const external = dockerfile.stages.map((s) => s.from).filter((from) => !stageNames.has(from) && from !== 'scratch');
    expect(external.length).toBeGreaterThan(0);
    for (const image of external) expect(image).toMatch(/^[\w./-]+:\d+(\.\d+){2}-[\w.-]+$|@sha256:[0-9a-f]{64}$/);
  });

  test('the Node of the images satisfies the engines field of package.json', () => {
    const { engines } = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { engines: { node: string } };
    const [major, minor] = (/node:(\d+)\.(\d+)/.exec(dockerfile.globalArgs.NODE_IMAGE ?? '') ?? []).slice(1).map(Number);
    const [needMajor, needMinor] = (/>=(\d+)\.(\d+)/.exec(engines.node) ?? []).slice(1).map(Number);
    expect(major).toBe(needMajor); // the same major: dependencies were chosen for Node 20
    expect(minor).toBeGreaterThanOrEqual(needMinor ?? 0);
  });

  test.each(['api', 'worker'])('the %s image runs as a non-root user, under tini', (name) => {
    const user = last(stage(name), 'USER') ?? 'root';
    expect(user.split(':')[0]).toMatch(/^[1-9]\d*$/); // numeric: kubelet's runAsNonRoot can verify it
    expect(execForm(last(stage(name), 'ENTRYPOINT') ?? '[]')).toEqual(['/usr/bin/tini', '--']);
  });

  test('the images start the processes the manifests name', () => {
    expect(execForm(last(stage('api'), 'CMD') ?? '')).toEqual(['node', 'apps/api/dist/main.js']);
    expect(execForm(last(stage('worker'), 'CMD') ?? '')).toEqual(['node', 'apps/worker/dist/main.js']);
    for (const entry of ['apps/api/src/main.ts', 'apps/worker/src/main.ts', 'packages/db/src/migrate-cli.ts']) {
      expect(existsSync(path.join(REPO, entry)), entry).toBe(true);
    }
  });

  test('the worker image carries python3 with numpy, prlimit and unshare (util-linux)', () => {
    const installs = stage('worker')
      .instructions.filter((i) => i.keyword === 'RUN' && i.args.includes('apt-get install'))
      .map((i) => i.args)
      .join(' ');
    for (const pkg of ['python3', 'python3-numpy', 'util-linux', 'tini']) expect(installs).toMatch(new RegExp(`\\s${pkg}(\\s|$)`));
    expect(last(stage('worker'), 'ENV')).toMatch(/MPIAAS_PYTHON=\/usr\/bin\/python3/);
  });

  test('npm ci sees every workspace manifest, and what the images copy exists', () => {
    const build = stage('build');
    const copies = build.instructions.filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'));
    const ciAt = build.instructions.findIndex((i) => i.args.startsWith('npm ci'));
    const beforeCi = copies.filter((c) => build.instructions.indexOf(c) < ciAt).map((c) => c.args.split(/\s+/)[0]);
    for (const workspace of workspaces()) expect(beforeCi, workspace).toContain(`${workspace}/package.json`);
    const sources = dockerfile.stages
      .flatMap((s) => s.instructions)
      .filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    for (const source of sources) expect(existsSync(path.join(REPO, source)), source).toBe(true);
  });

  test('.dockerignore keeps host builds, installs and secrets out of the context', () => {
    const ignored = readFileSync(path.join(REPO, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['**/node_modules', '**/dist', '.env', '.git']) expect(ignored).toContain(entry);
  });
});
