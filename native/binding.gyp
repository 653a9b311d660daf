{
  "targets": [
    {
      "target_name": "hetsplit_native",
      "sources": [
        "src/addon.cc",
        "src/kernels_avx512.cc",
        "src/kernels_avx2.cc",
        "src/kernels_base.cc"
      ],
      "cflags": ["-O3", "-ffp-contract=fast", "-fno-math-errno", "-Wall", "-Wno-unknown-pragmas"],
      "cflags_cc": ["-std=gnu++17"],
      "cflags!": ["-O2", "-O0"],
      "cflags_cc!": ["-std=gnu++1y", "-std=gnu++14"],
      "ldflags": ["-pthread"]
    }
  ]
}
