import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Command } from 'commander';
import type { ApiClient } from '../api/api-client';
import { apiClientFor, withServerOptions } from './api-command';

/** `mpiaas files`: list a job's output files. */
export function filesCommand(): Command {
  return withServerOptions(new Command('files')
    .description("list a job's output files (what its ranks left in $MPIAAS_OUTPUT)")
    .argument('<id>', 'job id')
    .option('--json', 'print the list as JSON', false)
    .addHelpText('after', '\nPaths are <rank>/<path under that rank\'s MPIAAS_OUTPUT>.\n\nExample:\n  $ mpiaas files 3f1c…')
    .action(async (id: string, flags: { json: boolean }, self: Command) => {
      const { items } = await apiClientFor(self).listFiles(id);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
        return;
      }
      if (items.length === 0) {
        process.stderr.write(`job ${id} has no output files\n`);
        return;
      }
      const width = Math.max(5, ...items.map((file) => String(file.bytes).length));
      process.stdout.write(`${'BYTES'.padStart(width)}  RANK  PATH\n`);
      for (const file of items) {
        process.stdout.write(`${String(file.bytes).padStart(width)}  ${String(file.rank ?? '-').padStart(4)}  ${file.path}\n`);
      }
    }));
}

/** A listed path as a relative local path, or undefined if it could leave the target folder. */
function localPath(filePath: string): string | undefined {
  const parts = filePath.split('/');
  if (parts.some((part) => part === '' || part === '.' || part === '..' || part.includes('\\'))) return undefined;
  return path.join(...parts);
}

/** Writes one file through a temporary name, so an interrupted download leaves no partial file. */
async function save(client: ApiClient, id: string, filePath: string, target: string): Promise<void> {
  const response = await client.downloadFile(id, filePath);
  if (target === '-') {
    if (response.body) await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), process.stdout, { end: false });
    return;
  }
  await mkdir(path.dirname(path.resolve(target)), { recursive: true });
  const partial = `${target}.part`;
  try {
    const body = response.body ? Readable.fromWeb(response.body as WebReadableStream<Uint8Array>) : Readable.from([]);
    await pipeline(body, createWriteStream(partial));
    await rename(partial, target);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

/** `mpiaas download`: one output file, or all of them into a folder. */
export function downloadCommand(): Command {
  return withServerOptions(new Command('download')
    .description("download a job's output file, or all of its files")
    .argument('<id>', 'job id')
    .argument('[path]', 'a path as `mpiaas files` lists it; all files if omitted')
    .option('-o, --output <file>', 'where to write the one file (`-`: standard output); default its name in the current folder')
    .option('-d, --dir <folder>', 'where to put all files, under their paths; default ./<id>')
    .addHelpText('after', '\nExample:\n  $ mpiaas download 3f1c… 0/plot.png\n  $ mpiaas download 3f1c… -d results/')
    .action(async (id: string, filePath: string | undefined, flags: { output?: string; dir?: string }, self: Command) => {
      const client = apiClientFor(self);
      if (filePath !== undefined) {
        const target = flags.output ?? path.basename(filePath);
        await save(client, id, filePath, target);
        if (target !== '-') process.stderr.write(`${filePath} → ${target}\n`);
        return;
      }
      const dir = flags.dir ?? id;
      const { items } = await client.listFiles(id);
      let bytes = 0;
      for (const file of items) {
        const local = localPath(file.path);
        if (!local) {
          process.stderr.write(`skipped ${JSON.stringify(file.path)}: not a plain relative path\n`);
          continue;
        }
        await save(client, id, file.path, path.join(dir, local));
        bytes += file.bytes;
      }
      process.stderr.write(`${items.length} file(s), ${bytes} bytes → ${dir}/\n`);
    }));
}
