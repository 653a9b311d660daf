/** Memory access for the fused JS kernels on the 'wasm' and 'cpu' backends. */
import type { KernelBackend, TensorInfo } from '@tensorflow/tfjs-core';

/**
 * Views on the backend's memory. On WASM an allocation can grow the heap, which detaches
 * every view taken before it: allocate ALL outputs first, then take the views.
 */
export interface Access {
  read(info: TensorInfo): Float32Array;
  allocate(shape: number[]): TensorInfo;
}

export function access(backend: KernelBackend, name: 'wasm' | 'cpu'): Access {
  if (name === 'wasm') {
    const b = backend as unknown as {
      typedArrayFromHeap(i: TensorInfo): Float32Array;
      makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
    };
    return { read: (i) => b.typedArrayFromHeap(i), allocate: (shape) => b.makeOutput(shape, 'float32') };
  }
  const b = backend as unknown as {
    data: { get(id: object): { values: Float32Array } };
    makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
  };
  return {
    read: (i) => b.data.get(i.dataId).values,
    allocate: (shape) => b.makeTensorInfo(shape, 'float32', new Float32Array(shape.reduce((a, c) => a * c, 1))),
  };
}

