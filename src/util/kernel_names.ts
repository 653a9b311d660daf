/**
 * Names of hetsplit's own fused kernels, shared by the layers that call them (models,
 * quant) and the backends that register them (backend/): as TF.js's kernel_names.ts, the
 * name is the interface, so callers need not import a backend.
 */

/** Training BatchNorm: (x, gamma, beta; eps) → [y, stats = [mean, variance, 1/sqrt(variance + eps)] (3C)]. */
export const BATCH_NORM = 'HetsplitBatchNorm';
/** Its gradient: (dy, x, gamma, stats) → [dx, grads = [dgamma, dbeta] (2C)]. */
export const BATCH_NORM_GRAD = 'HetsplitBatchNormGrad';
