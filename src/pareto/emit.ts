/**
 * Cluster jobs for a sweep, written so they run as emitted: a Slurm array script and a
 * Kubernetes Indexed Job, each task running one shard (`sweep --shard i/n`) against one
 * shared sweep directory. The task's command line is the sweep's own with every path made
 * valid where the task runs (absolute on Slurm's shared filesystem; on the pod's volumes
 * for Kubernetes) and `--threads` equal to the CPUs the task requests.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';

/** Flags whose value is a path (a value that names no existing file is left as given: a built-in name). */
const PATH_FLAGS = new Set(['--out', '--from-warmup', '--data', '--platform', '--model']);
/** Flags the emitted task sets itself. */
const DROPPED = new Set(['--emit', '--shards', '--shard', '--jobs', '--threads', '--cpus', '--image', '--volume-claim', '--data-claim']);

/**
 * The sweep's command line with path values rewritten by `map(flag, value)` and the
 * flags the task sets itself dropped; `--flag=value` and `--flag value` both handled.
 */
export function taskArgv(argv: string[], map: (flag: string, value: string) => string): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const flag = eq > 0 ? a.slice(0, eq) : a;
    const hasValue = eq > 0 || (i + 1 < argv.length && !argv[i + 1]!.startsWith('--'));
    if (DROPPED.has(flag)) {
      if (eq < 0 && hasValue) i++;
      continue;
    }
    if (PATH_FLAGS.has(flag) && hasValue) {
      const v = eq > 0 ? a.slice(eq + 1) : argv[++i]!;
      out.push(flag, map(flag, v));
      continue;
    }
    out.push(a);
  }
  return out;
}

const quote = (a: string) => (/^[A-Za-z0-9_./:=,@%+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

/** A Slurm array script: task i runs shard i, from any directory (every path absolute). */
export function slurmScript(o: { name: string; shards: number; cpus: number; main: string; argv: string[]; logDir: string }): string {
  const args = taskArgv(o.argv, (flag, v) => (flag === '--out' || existsSync(v) ? path.resolve(v) : v));
  return `#!/bin/bash
#SBATCH --job-name=${o.name}
#SBATCH --array=0-${o.shards - 1}
#SBATCH --cpus-per-task=${o.cpus}
#SBATCH --mem=4G
#SBATCH --output=${path.resolve(o.logDir)}/slurm-%A-%a.out
# Each array task runs one shard of the sweep against the same (shared) output directory;
# dependent points (random-channel twins) are in their source point's shard, so no task
# waits for another. Merge when all are done: hetsplit pareto ${quote(path.resolve(o.logDir))}
set -euo pipefail
exec node ${quote(o.main)} ${args.map(quote).join(' ')} --threads "\${SLURM_CPUS_PER_TASK:-${o.cpus}}" --shard "\${SLURM_ARRAY_TASK_ID}/${o.shards}"
`;
}

/** A DNS-1123 label (Kubernetes object names): lowercase alphanumerics and '-', at most 63, a hash kept if cut. */
export function k8sName(s: string): string {
  const base = s.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-').replace(/^-+|-+$/g, '') || 'hetsplit';
  if (base.length <= 63) return base;
  const hash = createHash('sha256').update(s).digest('hex').slice(0, 8);
  return `${base.slice(0, 54).replace(/-+$/, '')}-${hash}`;
}

export interface K8sJob {
  manifest: Record<string, unknown>;
  /** Local inputs the user copies onto the sweeps volume before applying (local path → path on the volume). */
  copies: { from: string; to: string }[];
}

/**
 * A Kubernetes Indexed Job whose pods each run one shard. The sweep directory lives on the
 * PersistentVolumeClaim `volumeClaim` (mounted at /sweeps: `--out` becomes
 * /sweeps/<its name>), CIFAR on `dataClaim` (read-only at /data), and local inputs (a
 * warm-up, a platform or model file) are expected on the sweeps volume under inputs/.
 */
export function k8sJob(o: { name: string; shards: number; cpus: number; argv: string[]; image: string; volumeClaim: string; dataClaim: string }): K8sJob {
  const copies: K8sJob['copies'] = [];
  const args = taskArgv(o.argv, (flag, v) => {
    if (flag === '--out') return `/sweeps/${path.basename(path.resolve(v))}`;
    if (flag === '--data') return '/data';
    if (!existsSync(v)) return v; // a built-in platform or model name
    const to = `/sweeps/inputs/${path.basename(path.resolve(v))}`;
    copies.push({ from: path.resolve(v), to });
    return to;
  });
  if (!args.includes('--data')) args.push('--data', '/data');
  const manifest = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: k8sName(o.name), labels: { app: 'hetsplit' } },
    spec: {
      completionMode: 'Indexed',
      completions: o.shards,
      parallelism: o.shards,
      backoffLimit: o.shards * 2,
      template: {
        metadata: { labels: { app: 'hetsplit' } },
        spec: {
          restartPolicy: 'OnFailure',
          containers: [{
            name: 'shard',
            image: o.image,
            command: ['/bin/sh', '-c'],
            // JOB_COMPLETION_INDEX is set by Kubernetes for Indexed Jobs (0..completions-1).
            args: [`exec hetsplit "$@" --threads ${o.cpus} --shard "$JOB_COMPLETION_INDEX/${o.shards}"`, 'sh', ...args],
            resources: { requests: { cpu: String(o.cpus), memory: '4Gi' }, limits: { cpu: String(o.cpus), memory: '6Gi' } },
            volumeMounts: [{ name: 'sweeps', mountPath: '/sweeps' }, { name: 'data', mountPath: '/data', readOnly: true }],
          }],
          volumes: [
            { name: 'sweeps', persistentVolumeClaim: { claimName: o.volumeClaim } },
            { name: 'data', persistentVolumeClaim: { claimName: o.dataClaim, readOnly: true } },
          ],
        },
      },
    },
  };
  return { manifest, copies };
}

export function k8sYaml(job: K8sJob): string {
  const notes = job.copies.map((c) => `#   ${c.from} -> <volume>${c.to.slice('/sweeps'.length)}`).join('\n');
  return `# hetsplit sweep as a Kubernetes Indexed Job (image: build it with the repository's Dockerfile).
# The sweeps volume holds the sweep directory; the data volume holds CIFAR (the binary
# batches or the .tar.gz), mounted read-only at /data.${notes ? `\n# Copy onto the sweeps volume before applying:\n${notes}` : ''}
${stringify(job.manifest, { lineWidth: 0 })}`;
}
