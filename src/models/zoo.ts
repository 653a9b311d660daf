/** Model definitions for CIFAR (32x32x3): ResNet20, ResNet8 (MLPerf Tiny), MobileNetV1. */
import { SpecBuilder, type ModelSpec } from './spec.js';

/**
 * CIFAR ResNet (He et al. 2016) with 1x1 strided projection shortcuts, as in the ODiMO
 * reference: ResNet20 = 3 stages x 3 blocks -> 22 searchable layers (first conv, 18
 * block convs, 2 projections, FC).
 */
function cifarResNet(name: string, blocksPerStage: number, numClasses: number,
  projectionBn: boolean): ModelSpec {
  const b = new SpecBuilder(name, [32, 32, 3], numClasses);
  let x = b.conv('conv1', 'input', 16, 3, 1);
  const widths = [16, 32, 64];
  widths.forEach((width, s) => {
    for (let i = 0; i < blocksPerStage; i++) {
      const stride = s > 0 && i === 0 ? 2 : 1;
      const p = `s${s + 1}b${i + 1}`;
      const c1 = b.conv(`${p}.conv1`, x, width, 3, stride);
      const c2 = b.conv(`${p}.conv2`, c1, width, 3, 1, { relu: false });
      const shortcut = stride !== 1 || b.shape(x)[2] !== width
        ? b.conv(`${p}.proj`, x, width, 1, stride, { relu: false, bn: projectionBn })
        : x;
      x = b.add(`${p}.add`, c2, shortcut);
    }
  });
  return b.classifier(x);
}

export function resnet20(numClasses = 10): ModelSpec {
  return cifarResNet('resnet20', 3, numClasses, true);
}

/** MLPerf Tiny image-classification ResNet8: one block per stage, shortcut conv without BN. */
export function resnet8(numClasses = 10): ModelSpec {
  return cifarResNet('resnet8', 1, numClasses, false);
}

/**
 * MobileNetV1 for CIFAR (width 1.0; first conv stride 1 for 32x32 inputs), as used for
 * Darkside: conv3x3(32), then 13 depthwise-separable blocks, global pool, FC.
 */
export function mobilenetv1(numClasses = 10): ModelSpec {
  const b = new SpecBuilder('mobilenetv1', [32, 32, 3], numClasses);
  let x = b.conv('conv1', 'input', 32, 3, 1);
  const blocks: [number, number][] = [
    [64, 1], [128, 2], [128, 1], [256, 2], [256, 1], [512, 2],
    [512, 1], [512, 1], [512, 1], [512, 1], [512, 1], [1024, 2], [1024, 1],
  ];
  blocks.forEach(([cout, stride], i) => {
    const cin = b.shape(x)[2];
    const dw = b.conv(`b${i + 1}.dw`, x, cin, 3, stride, { kind: 'depthwise' });
    x = b.conv(`b${i + 1}.pw`, dw, cout, 1, 1);
  });
  return b.classifier(x);
}

/**
 * A tiny CNN for smoke runs and tests, with one of each construct: strided conv, residual
 * add, strided depthwise + pointwise, a stride-1 depthwise (searchable on Darkside), FC.
 */
export function tinycnn(numClasses = 10): ModelSpec {
  const b = new SpecBuilder('tinycnn', [32, 32, 3], numClasses);
  const c1 = b.conv('conv1', 'input', 8, 3, 2);
  const c2 = b.conv('conv2', c1, 8, 3, 1, { relu: false });
  const a = b.add('add1', c2, c1);
  const dw = b.conv('dw3', a, 8, 3, 2, { kind: 'depthwise' });
  const pw = b.conv('pw3', dw, 16, 1, 1);
  const dw4 = b.conv('dw4', pw, 16, 3, 1, { kind: 'depthwise' });
  return b.classifier(dw4);
}

export const MODELS: Record<string, (numClasses?: number) => ModelSpec> = {
  resnet20, resnet8, mobilenetv1, tinycnn,
};
export type ModelName = keyof typeof MODELS;

export function buildModel(name: string, numClasses = 10): ModelSpec {
  const f = MODELS[name];
  if (!f) throw new Error(`unknown model '${name}' (expected one of ${Object.keys(MODELS).join(', ')})`);
  return f(numClasses);
}
