# Every third-party dependency is found here, once, and exposed as an
# imported target, so that the folders below only name targets.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

# --- LibTorch --------------------------------------------------------------
if(CDB_TORCH_DIR)
  list(PREPEND CMAKE_PREFIX_PATH ${CDB_TORCH_DIR})
endif()
find_package(Torch REQUIRED)
# TorchConfig adds flags (e.g. -D_GLIBCXX_USE_CXX11_ABI) through TORCH_CXX_FLAGS.
separate_arguments(CDB_TORCH_CXX_FLAGS UNIX_COMMAND "${TORCH_CXX_FLAGS}")
add_library(cdb_torch INTERFACE)
# PyTorch's libtorch.so (pip wheels) exports its own, partial copy of
# std::filesystem; when it comes before libstdc++ in the program's needed
# libraries, std::filesystem::remove_all resolves into it and jumps to a
# null pointer. Naming libstdc++ first makes the dynamic linker find the
# real one. Harmless with Debian's LibTorch.
target_link_libraries(cdb_torch INTERFACE -Wl,--push-state,--no-as-needed stdc++ -Wl,--pop-state
                      ${TORCH_LIBRARIES})
target_include_directories(cdb_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
target_compile_options(cdb_torch INTERFACE ${CDB_TORCH_CXX_FLAGS})

# One precompiled <ATen/ATen.h> for every target that uses LibTorch
# (cdb_torch_pch below), built once per kind of object: libraries compile
# with -fPIC and executables with -fPIE, and GCC refuses a PCH made with the
# other. Measured on this 2-core machine (CPU seconds for transformer.cpp):
# no PCH 18 s, a per-target PCH of <torch/torch.h> 28 s (loading its 630 MB
# image costs more than it saves, 18 s even for a file that needs none of
# it), <ATen/ATen.h> 9 s. Nothing here needs the rest of torch/torch.h.
file(WRITE ${CMAKE_BINARY_DIR}/cdb_torch_pch.cpp "// owns the shared LibTorch precompiled header\n")
add_library(cdb_torch_pch_lib OBJECT ${CMAKE_BINARY_DIR}/cdb_torch_pch.cpp)
target_link_libraries(cdb_torch_pch_lib PRIVATE cdb_torch)
target_precompile_headers(cdb_torch_pch_lib PRIVATE <ATen/ATen.h>)
add_library(cdb_torch_pch_exe OBJECT ${CMAKE_BINARY_DIR}/cdb_torch_pch.cpp)
set_target_properties(cdb_torch_pch_exe PROPERTIES POSITION_INDEPENDENT_CODE OFF)
target_compile_options(cdb_torch_pch_exe PRIVATE -fPIE)
target_link_libraries(cdb_torch_pch_exe PRIVATE cdb_torch)
target_precompile_headers(cdb_torch_pch_exe PRIVATE <ATen/ATen.h>)
# Uses the shared PCH in `target` (which must use LibTorch). Worth it where
# most of the target's files include LibTorch: for a file that does not, it
# adds ~3 s.
function(cdb_torch_pch target)
  get_target_property(_type ${target} TYPE)
  if(_type STREQUAL "EXECUTABLE")
    target_precompile_headers(${target} REUSE_FROM cdb_torch_pch_exe)
  else()
    target_precompile_headers(${target} REUSE_FROM cdb_torch_pch_lib)
  endif()
endfunction()

set(CDB_HAVE_CUDA OFF)
if(CDB_CUDA STREQUAL "AUTO")
  if(TARGET torch_cuda OR TARGET c10_cuda OR CUDA_FOUND)
    set(CDB_HAVE_CUDA ON)
  endif()
elseif(CDB_CUDA)
  set(CDB_HAVE_CUDA ON)
endif()
message(STATUS "cartridgedb: LibTorch ${Torch_VERSION}, CUDA code paths: ${CDB_HAVE_CUDA}")
if(CDB_HAVE_CUDA)
  target_compile_definitions(cdb_torch INTERFACE CDB_WITH_CUDA=1)
endif()

# --- nvcc for src/cuda ------------------------------------------------------
set(CDB_NVCC_ENABLED OFF)
if(CDB_HAVE_CUDA OR CDB_CUDA_KERNELS)
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 90)
    endif()
    enable_language(CUDA)
    set(CDB_NVCC_ENABLED ON)
  endif()
endif()
message(STATUS "cartridgedb: nvcc kernels: ${CDB_NVCC_ENABLED}")

# --- Storage and the rest (Debian packages) ---------------------------------
pkg_check_modules(LMDB REQUIRED IMPORTED_TARGET lmdb)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)
# libpq, not libpqxx: the catalog needs a dozen calls, wrapped in RAII in
# storage/pg_connection.cpp, and libpq's C ABI is stable across releases.
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)
pkg_check_modules(SENTENCEPIECE REQUIRED IMPORTED_TARGET sentencepiece)
find_package(nlohmann_json 3 REQUIRED)
find_package(cxxopts REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(GTest REQUIRED)

# Where tests, benches and the demo find the shipped stories260K (overridable
# at run time by the CDB_MODELS environment variable). Nothing outside the
# source tree: the suite must pass the same in a lone clone.
set(CDB_DEFAULT_MODELS_DIR "${CMAKE_SOURCE_DIR}/models")
