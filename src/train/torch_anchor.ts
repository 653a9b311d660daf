/**
 * The PyTorch anchor of `hetsplit bench`: the same float ResNet20 training step in PyTorch
 * on the same machine and thread count (scripts/bench-torch-resnet20.py), where a Python
 * with torch exists (`python3` on PATH, else Debian's /usr/bin/python3, which
 * python3-torch installs into). Null, with the reason, where none does.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface TorchAnchor { python: string; torch: string; threads: number; imgPerSec: number; stepMsMedian: number }

const SCRIPT = fileURLToPath(new URL('../../scripts/bench-torch-resnet20.py', import.meta.url));

export function findTorchPython(): string | null {
  for (const py of [process.env.HETSPLIT_PYTHON, 'python3', '/usr/bin/python3']) {
    if (!py) continue;
    const r = spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  return null;
}

export function torchAnchor(threads: number, batch: number, warmup: number, steps: number):
  { anchor: TorchAnchor | null; reason: string | null } {
  const py = findTorchPython();
  if (!py) return { anchor: null, reason: 'no Python with torch (python3, /usr/bin/python3; Debian: apt-get install python3-torch)' };
  const r = spawnSync(py, [SCRIPT, '--threads', String(threads), '--batch', String(batch), '--warmup', String(warmup), '--steps', String(steps)],
    { encoding: 'utf8' });
  if (r.status !== 0) return { anchor: null, reason: `${SCRIPT} failed: ${(r.stderr || '').trim().split('\n').pop()}` };
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as Omit<TorchAnchor, 'python'>;
  return { anchor: { python: py, ...j }, reason: null };
}
