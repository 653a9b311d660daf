/** SGD with momentum and L2 weight decay added to the gradient, as PyTorch's torch.optim.SGD. */
import * as tf from '@tensorflow/tfjs-core';

export interface SgdOptions { lr: number; momentum: number; weightDecay: number; nesterov?: boolean }

export class Sgd {
  private readonly velocity = new Map<string, tf.Variable>();
  constructor(public options: SgdOptions) {}

  /**
   * `params` by our parameter name; `grads` by tf variable name (as tf.variableGrads returns
   * them). Grads are NOT disposed: the caller's tidy owns them.
   */
  apply(params: Map<string, tf.Variable>, grads: Record<string, tf.Tensor>): void {
    const { lr, momentum, weightDecay, nesterov } = this.options;
    tf.tidy(() => {
      for (const [name, p] of params) {
        const g0 = grads[p.name];
        if (!g0) continue;
        const g = weightDecay > 0 ? tf.add(g0, tf.mul(p, weightDecay)) : g0;
        let step = g;
        if (momentum > 0) {
          let v = this.velocity.get(name);
          if (!v) {
            v = tf.variable(tf.zerosLike(p), false);
            this.velocity.set(name, v);
          }
          v.assign(tf.add(tf.mul(v, momentum), g));
          step = nesterov ? tf.add(g, tf.mul(v, momentum)) : v;
        }
        p.assign(tf.sub(p, tf.mul(step, lr)));
      }
    });
  }

  /** Momentum buffers, for checkpoints. */
  state(): Map<string, tf.Variable> { return this.velocity; }

  /** Restores momentum buffers saved under `prefix + name`. */
  load(values: Map<string, tf.Tensor>, prefix: string): void {
    for (const [k, t] of values) {
      if (!k.startsWith(prefix)) continue;
      const name = k.slice(prefix.length);
      this.velocity.get(name)?.dispose();
      this.velocity.set(name, tf.variable(t.clone(), false));
    }
  }

  dispose(): void {
    for (const v of this.velocity.values()) v.dispose();
    this.velocity.clear();
  }
}
