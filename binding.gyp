# CPU-only build of the same sources with node-gyp (`npm run build:gyp`). The main build is
# CMakeLists.txt (cmake-js); this file must keep compiling (checked by test/build.gyp.test.ts).
# OpenBLAS is used when its header is at the Debian/Ubuntu location; otherwise the built-in gemm.
{
  "variables": {
    "openblas_inc%": "<!(node -p \"require('fs').existsSync('/usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h') ? '/usr/include/x86_64-linux-gnu/openblas-pthread' : ''\")"
  },
  "targets": [
    {
      "target_name": "biaslearn",
      "sources": ["<!@(node scripts/native-sources.cjs)"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_CPP_EXCEPTIONS_ALL", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++1y", "-std=gnu++17"],
      "cflags_cc": ["-std=gnu++17", "-fexceptions", "-O3", "-ffp-contract=off"],
      "conditions": [
        ["openblas_inc!=''", {
          "include_dirs": ["<(openblas_inc)"],
          "defines": ["BL_HAVE_CBLAS", "BL_HAVE_OPENBLAS_THREADS"],
          "libraries": ["-lopenblas"]
        }],
        ["OS=='mac'", {
          "xcode_settings": { "GCC_ENABLE_CPP_EXCEPTIONS": "YES", "CLANG_CXX_LANGUAGE_STANDARD": "c++17" }
        }]
      ]
    }
  ]
}
