// RUN: lorc-opt %s --lorc-name-kernels | FileCheck %s

// Each single-kernel gpu.module's kernel takes the module's unique name, and the launches follow,
// so profilers and driver errors name forward_kernel_0, _1, ... rather than forward_kernel
// every time. A module whose kernel already has its name is left alone.
// CHECK-LABEL: func.func @forward
//       CHECK:   gpu.launch_func @forward_kernel::@forward_kernel
//       CHECK:   gpu.launch_func @forward_kernel_0::@forward_kernel_0
//       CHECK:   gpu.launch_func @forward_kernel_0::@forward_kernel_0
//       CHECK: gpu.module @forward_kernel
//       CHECK:   gpu.func @forward_kernel() kernel
//       CHECK: gpu.module @forward_kernel_0
//       CHECK:   gpu.func @forward_kernel_0() kernel
//   CHECK-NOT:   gpu.func @forward_kernel()
module attributes {gpu.container_module} {
  func.func @forward() {
    %c1 = arith.constant 1 : index
    gpu.launch_func @forward_kernel::@forward_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    gpu.launch_func @forward_kernel_0::@forward_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    gpu.launch_func @forward_kernel_0::@forward_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    return
  }
  gpu.module @forward_kernel {
    gpu.func @forward_kernel() kernel {
      gpu.return
    }
  }
  gpu.module @forward_kernel_0 {
    gpu.func @forward_kernel() kernel {
      gpu.return
    }
  }
}
