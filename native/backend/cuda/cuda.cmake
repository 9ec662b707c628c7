# The CUDA backend module, build/Release/biaslearn_cuda.node. Included from the top-level
# CMakeLists.txt when -DBIASLEARN_CUDA=ON (`npm run build:cuda`). It is a second addon built from
# the CPU sources plus native/backend/cuda/*.cu, with BL_WITH_CUDA defined for every source (the
# registry then knows backend 'cuda'). The CPU module never depends on CUDA.
#
# Options:
#   -DCMAKE_CUDA_ARCHITECTURES="80;90"   GPUs to build for (default 80;90: A100 and H100 machine
#                                         code plus PTX, which newer GPUs JIT-compile).
#   -DBIASLEARN_CUBLAS_ROOT=<dir>         take cuBLAS from <dir>/include and <dir>/lib instead of the
#                                         CUDA toolkit, e.g. a pip wheel's site-packages/nvidia/cublas
#                                         or, for the CUDA 13 wheels, site-packages/nvidia/cu13 (both
#                                         ship lib/libcublas.so.<major> with no unversioned symlink).
#                                         The module gets an RPATH to that lib directory. The wheel's
#                                         major version must match the toolkit's (its include/ may
#                                         also hold CUDA runtime headers, which then come first).
# Runtime: the CUDA runtime is linked statically, so the module needs only the NVIDIA driver
# (libcuda.so) and libcublas at load time. Without a driver or a device it still loads, and
# backend 'cuda' reports E_BACKEND_UNAVAILABLE with the reason.

# ---- the CUDA toolkit: nvcc on PATH, or CUDACXX / -DCMAKE_CUDA_COMPILER naming it ----
include(CheckLanguage)
check_language(CUDA)
if(NOT CMAKE_CUDA_COMPILER)
  message(FATAL_ERROR
    "biaslearn: the CUDA build needs the CUDA toolkit, and no CUDA compiler (nvcc) was found "
    "(PATH, CUDACXX=$ENV{CUDACXX}). Install the toolkit with cuBLAS (https://developer.nvidia.com/cuda-downloads; "
    "Debian/Ubuntu: apt-get install nvidia-cuda-toolkit), put nvcc on PATH or set CUDACXX=/path/to/nvcc, "
    "then run `npx biaslearn build-cuda` in your app (or `npm run build:cuda` in a clone of biaslearn).")
endif()

if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES 80 90)
endif()
set(CMAKE_CUDA_STANDARD 17)
set(CMAKE_CUDA_STANDARD_REQUIRED ON)
enable_language(CUDA)
find_package(CUDAToolkit REQUIRED)
message(STATUS "biaslearn: CUDA ${CUDAToolkit_VERSION} (${CMAKE_CUDA_COMPILER}), architectures ${CMAKE_CUDA_ARCHITECTURES}")

set(BL_CUDA_DIR ${CMAKE_CURRENT_LIST_DIR})
set(BL_CUDA_SOURCES
  ${BL_CUDA_DIR}/cuda_backend.cu
  ${BL_CUDA_DIR}/cuda_kernels.cu
  ${BL_CUDA_DIR}/cuda_weights.cu
  ${BL_CUDA_DIR}/cuda_fused.cu
  ${BL_CUDA_DIR}/cuda_segments.cu
  ${BL_CUDA_DIR}/cuda_multitask.cu
  ${BL_CUDA_DIR}/cuda_rnn.cu
  ${BL_CUDA_DIR}/cuda_energy.cu
  ${BL_CUDA_DIR}/cuda_frozen.cu
)
# Frozen weights must round exactly as on the CPU (cpu_weights.cpp has -ffp-contract=off).
set_source_files_properties(${BL_CUDA_DIR}/cuda_weights.cu ${BL_CUDA_DIR}/cuda_frozen.cu PROPERTIES COMPILE_OPTIONS "-fmad=false")

# ---- cuBLAS: the toolkit's, or a wheel's (-DBIASLEARN_CUBLAS_ROOT) ----
set(BIASLEARN_CUBLAS_ROOT "" CACHE PATH "Directory with include/cublas_v2.h and lib/libcublas.so* (e.g. the nvidia-cublas wheel's nvidia/cublas)")
set(BL_CUBLAS_RPATH "")
if(BIASLEARN_CUBLAS_ROOT)
  if(NOT EXISTS ${BIASLEARN_CUBLAS_ROOT}/include/cublas_v2.h)
    message(FATAL_ERROR "biaslearn: BIASLEARN_CUBLAS_ROOT=${BIASLEARN_CUBLAS_ROOT} has no include/cublas_v2.h")
  endif()
  # The wheel has lib/libcublas.so.<major> and no libcublas.so symlink, which find_library would
  # not match; take the unversioned name if present, else the shortest versioned one.
  set(BL_CUBLAS_LIB "")
  foreach(dir lib lib64)
    if(NOT BL_CUBLAS_LIB AND EXISTS ${BIASLEARN_CUBLAS_ROOT}/${dir}/libcublas.so)
      set(BL_CUBLAS_LIB ${BIASLEARN_CUBLAS_ROOT}/${dir}/libcublas.so)
    endif()
    if(NOT BL_CUBLAS_LIB)
      file(GLOB bl_cublas_candidates ${BIASLEARN_CUBLAS_ROOT}/${dir}/libcublas.so.*)
      set(bl_best_len 100000)
      foreach(cand ${bl_cublas_candidates})
        string(LENGTH ${cand} bl_len)
        if(bl_len LESS bl_best_len)
          set(bl_best_len ${bl_len})
          set(BL_CUBLAS_LIB ${cand})
        endif()
      endforeach()
    endif()
  endforeach()
  if(NOT BL_CUBLAS_LIB)
    message(FATAL_ERROR "biaslearn: no libcublas.so or libcublas.so.* in ${BIASLEARN_CUBLAS_ROOT}/lib")
  endif()
  get_filename_component(BL_CUBLAS_LIBDIR ${BL_CUBLAS_LIB} DIRECTORY)
  add_library(bl_cublas SHARED IMPORTED)
  set_target_properties(bl_cublas PROPERTIES
    IMPORTED_LOCATION ${BL_CUBLAS_LIB}
    INTERFACE_INCLUDE_DIRECTORIES ${BIASLEARN_CUBLAS_ROOT}/include)
  set(BL_CUBLAS_TARGET bl_cublas)
  set(BL_CUBLAS_RPATH ${BL_CUBLAS_LIBDIR})
  message(STATUS "biaslearn: cuBLAS ${BL_CUBLAS_LIB} (RPATH ${BL_CUBLAS_LIBDIR})")
elseif(TARGET CUDA::cublas)
  set(BL_CUBLAS_TARGET CUDA::cublas)
  message(STATUS "biaslearn: cuBLAS from the CUDA toolkit")
else()
  message(FATAL_ERROR "biaslearn: cuBLAS not found in the CUDA toolkit at ${CUDAToolkit_LIBRARY_DIR}. Install it "
                      "(e.g. the cuda-libraries-dev / libcublas-dev package) or pass "
                      "-DBIASLEARN_CUBLAS_ROOT=<dir with include/cublas_v2.h and lib/libcublas.so*>, "
                      "e.g. <site-packages>/nvidia/cublas from `pip install nvidia-cublas`.")
endif()

# ---- NCCL (optional): GPU collectives for distributed training (docs/distributed.md) ----
# Found in -DBIASLEARN_NCCL_ROOT=<dir with include/nccl.h and lib/libnccl.so*> (e.g. the
# nvidia-nccl-cu13 wheel's nvidia/nccl), else the toolkit's and the system's paths;
# -DBIASLEARN_NCCL=OFF skips it. Without NCCL the module builds as before (MPI path only).
option(BIASLEARN_NCCL "Build NCCL collectives into the CUDA module when NCCL is found" ON)
set(BIASLEARN_NCCL_ROOT "" CACHE PATH "Directory with include/nccl.h and lib/libnccl.so*")
set(BL_NCCL_SOURCES "")
if(BIASLEARN_NCCL)
  find_path(BL_NCCL_INCLUDE nccl.h HINTS ${BIASLEARN_NCCL_ROOT}/include ${CUDAToolkit_INCLUDE_DIRS})
  find_library(BL_NCCL_LIB NAMES nccl libnccl.so.2 HINTS ${BIASLEARN_NCCL_ROOT}/lib ${CUDAToolkit_LIBRARY_DIR})
  if(BL_NCCL_INCLUDE AND BL_NCCL_LIB)
    message(STATUS "biaslearn: NCCL ${BL_NCCL_LIB}")
    set(BL_NCCL_SOURCES ${BL_CUDA_DIR}/nccl_collective.cpp)
  else()
    message(STATUS "biaslearn: no NCCL found; the CUDA module sums gradients over MPI through host memory")
  endif()
endif()

# ---- the module ----
add_library(biaslearn_cuda SHARED ${BL_CPU_SOURCES} ${BL_CUDA_SOURCES} ${BL_NCCL_SOURCES} ${CMAKE_JS_SRC})
bl_configure_addon(biaslearn_cuda)
target_compile_definitions(biaslearn_cuda PRIVATE BL_WITH_CUDA)
# bl_configure_addon's flags are CXX-only; nvcc gets its own. No --use_fast_math: the kernels
# follow the CPU's formulas (IEEE division and sqrt, accurate expf/tanhf).
target_compile_options(biaslearn_cuda PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:-O3 -Xcompiler=-fexceptions>)
set_target_properties(biaslearn_cuda PROPERTIES
  CUDA_STANDARD 17
  CUDA_STANDARD_REQUIRED ON
  CUDA_ARCHITECTURES "${CMAKE_CUDA_ARCHITECTURES}"
  CUDA_RUNTIME_LIBRARY None        # linked explicitly below (static)
  CUDA_SEPARABLE_COMPILATION OFF
  POSITION_INDEPENDENT_CODE ON)
target_link_libraries(biaslearn_cuda PRIVATE ${BL_CUBLAS_TARGET} CUDA::cudart_static)
if(BL_CUBLAS_RPATH)
  set_target_properties(biaslearn_cuda PROPERTIES BUILD_RPATH "${BL_CUBLAS_RPATH}" INSTALL_RPATH "${BL_CUBLAS_RPATH}")
  if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
    # DT_RPATH (not RUNPATH) so the directory is also searched for libcublas's own dependency,
    # libcublasLt, which sits beside it in the wheel.
    target_link_options(biaslearn_cuda PRIVATE "LINKER:--disable-new-dtags" "LINKER:-rpath-link,${BL_CUBLAS_RPATH}")
  endif()
endif()
if(BL_NCCL_SOURCES)
  target_include_directories(biaslearn_cuda PRIVATE ${BL_NCCL_INCLUDE})
  target_compile_definitions(biaslearn_cuda PRIVATE BL_WITH_NCCL)
  target_link_libraries(biaslearn_cuda PRIVATE ${BL_NCCL_LIB})
  get_filename_component(BL_NCCL_LIBDIR ${BL_NCCL_LIB} DIRECTORY)
  set_property(TARGET biaslearn_cuda APPEND PROPERTY BUILD_RPATH ${BL_NCCL_LIBDIR})
  set_property(TARGET biaslearn_cuda APPEND PROPERTY INSTALL_RPATH ${BL_NCCL_LIBDIR})
endif()
