/**
 * A directory lock: `.lock` holding {pid, host, since}, created exclusively. One process
 * at a time trains a run directory; a second gets one line naming the holder. A lock whose
 * process is gone (same host, pid not alive) is stale and taken over; one from another host
 * is only taken over when the user deletes it.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from './errors.js';

export const LOCK_FILE = '.lock';

interface LockInfo { pid: number; host: string; since: string }

/** Whether process `pid` runs (a zombie, exited but not yet reaped, does not). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // Linux: the state after the command name in /proc/<pid>/stat; Z = zombie.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** The holder of `dir`'s lock if a live process holds it (null: free or stale). */
export function lockHolder(dir: string): LockInfo | null {
  let info: LockInfo;
  try {
    info = JSON.parse(readFileSync(path.join(dir, LOCK_FILE), 'utf8')) as LockInfo;
  } catch {
    return null;
  }
  if (info.host === os.hostname() && (info.pid === process.pid || !processAlive(info.pid))) return null;
  return info;
}

/** Takes `dir`'s lock (creating nothing else); returns its release. */
export function acquireLock(dir: string, what: string): () => void {
  const file = path.join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      try {
        writeSync(fd, JSON.stringify({ pid: process.pid, host: os.hostname(), since: new Date().toISOString() }));
      } finally {
        closeSync(fd);
      }
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        process.off('exit', release);
        rmSync(file, { force: true });
      };
      process.on('exit', release);
      return release;
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code !== 'EEXIST') throw e;
      const holder = lockHolder(dir);
      if (holder) {
        throw new UserError(`${dir}: ${what} is in use by process ${holder.pid} on ${holder.host} (since ${holder.since}); ` +
          `wait for it, or if that process is gone, delete ${file}`);
      }
      rmSync(file, { force: true }); // stale: its process is gone
    }
  }
  throw new UserError(`${dir}: could not take ${file}`);
}
