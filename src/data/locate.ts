/**
 * Where CIFAR data is looked for, in order: --data PATH, $HETSPLIT_DATA, ./datasets,
 * ../shared/datasets. If none has it, the official archive is downloaded into ./datasets
 * (progress bar); with no network, one line says so with the URL and the --data option.
 */
import { createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import cliProgress from 'cli-progress';
import { UserError } from '../util/errors.js';
import { FORMATS, findCifarIn, loadCifarFrom, type CifarData, type CifarName } from './cifar.js';

export interface LocateOptions {
  dataset: CifarName;
  /** --data PATH (a directory or an archive). */
  data?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Download URL override (tests point it at a closed local port). */
  url?: string;
  quiet?: boolean;
}

export function searchPath(opts: LocateOptions): string[] {
  const cwd = opts.cwd ?? process.cwd();
  const env = opts.env ?? process.env;
  const out: string[] = [];
  if (opts.data) out.push(path.resolve(cwd, opts.data));
  if (env.HETSPLIT_DATA) out.push(path.resolve(cwd, env.HETSPLIT_DATA));
  out.push(path.resolve(cwd, 'datasets'), path.resolve(cwd, '..', 'shared', 'datasets'));
  return out;
}

export async function locateCifar(opts: LocateOptions): Promise<CifarData> {
  const format = FORMATS[opts.dataset];
  if (opts.data) {
    // An explicit path must hold the data: no silent fallback to other places.
    const found = await findCifarIn(path.resolve(opts.cwd ?? process.cwd(), opts.data), format);
    if (!found) throw new UserError(`--data ${opts.data}: no ${format.name} data there (expected ${format.archiveName}, a ${format.dirName}/ directory, or its .bin files)`);
    return loadCifarFrom(found, format);
  }
  for (const loc of searchPath(opts)) {
    const found = await findCifarIn(loc, format);
    if (found) return loadCifarFrom(found, format);
  }
  const target = path.resolve(opts.cwd ?? process.cwd(), 'datasets', format.archiveName);
  await download(opts.url ?? format.archiveUrl, target, opts.quiet ?? false);
  return loadCifarFrom({ kind: 'archive', file: target }, format);
}

async function download(url: string, target: string, quiet: boolean): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new UserError(`CIFAR data not found locally and ${url} is unreachable (${(e as Error).cause ?? (e as Error).message}); download it elsewhere and pass --data PATH`);
  }
  if (!res.ok || !res.body) throw new UserError(`download of ${url} failed: HTTP ${res.status}; pass --data PATH instead`);
  const total = Number(res.headers.get('content-length') ?? 0);
  await fs.mkdir(path.dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}.part`;
  const bar = quiet ? null : new cliProgress.SingleBar({
    format: 'download {bar} {percentage}% | {value}/{total} MB | ETA {eta_formatted}',
  }, cliProgress.Presets.shades_classic);
  bar?.start(Math.max(1, Math.round(total / 1e6)), 0);
  let got = 0;
  const body = Readable.fromWeb(res.body as unknown as import('node:stream/web').ReadableStream);
  body.on('data', (c: Buffer) => { got += c.length; bar?.update(Math.round(got / 1e6)); });
  try {
    await pipeline(body, createWriteStream(tmp));
    await fs.rename(tmp, target);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw new UserError(`download of ${url} into ${target} failed (${(e as Error).message})`);
  } finally {
    bar?.stop();
  }
}
