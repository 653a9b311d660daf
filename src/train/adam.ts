/** Adam (Kingma & Ba), no weight decay, with named state for checkpoints. */
import * as tf from '@tensorflow/tfjs-core';

export interface AdamOptions { lr: number; beta1?: number; beta2?: number; eps?: number }

export class Adam {
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  step = 0;
  constructor(public options: AdamOptions) {}

  /** `params` by our name; `grads` by tf variable name (as tf.variableGrads returns them). */
  apply(params: Map<string, tf.Variable>, grads: Record<string, tf.Tensor>): void {
    const { lr, beta1 = 0.9, beta2 = 0.999, eps = 1e-8 } = this.options;
    this.step++;
    const c1 = 1 - beta1 ** this.step, c2 = 1 - beta2 ** this.step;
    tf.tidy(() => {
      for (const [name, p] of params) {
        const g = grads[p.name];
        if (!g) continue;
        const m = this.slot(this.m, name, p), v = this.slot(this.v, name, p);
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        p.assign(tf.sub(p, tf.div(tf.mul(m, lr / c1), tf.add(tf.sqrt(tf.div(v, c2)), eps))));
      }
    });
  }

  private slot(map: Map<string, tf.Variable>, name: string, p: tf.Variable): tf.Variable {
    let s = map.get(name);
    if (!s) { s = tf.variable(tf.zerosLike(p), false); map.set(name, s); }
    return s;
  }

  /** Moment buffers by `m/<name>`, `v/<name>` plus the step count. */
  state(): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    for (const [k, t] of this.m) out.set(`m/${k}`, t);
    for (const [k, t] of this.v) out.set(`v/${k}`, t);
    return out;
  }

  load(values: Map<string, tf.Tensor>, prefix: string, step: number): void {
    this.step = step;
    for (const [k, t] of values) {
      if (!k.startsWith(prefix)) continue;
      const rest = k.slice(prefix.length);
      const map = rest.startsWith('m/') ? this.m : rest.startsWith('v/') ? this.v : null;
      if (!map) continue;
      map.get(rest.slice(2))?.dispose();
      map.set(rest.slice(2), tf.variable(t.clone(), false));
    }
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear(); this.v.clear();
  }
}
