# Every third-party dependency is found here, once, so parts only name targets.
# CPU builds use Debian's packages; the `cuda` preset finds libtorch through python3's torch.

if(TALKGEN_TORCH_FROM_PYTHON)
  find_package(Python3 REQUIRED COMPONENTS Interpreter)
  execute_process(
    COMMAND ${Python3_EXECUTABLE} -c "import torch; print(torch.utils.cmake_prefix_path)"
    OUTPUT_VARIABLE _torch_prefix OUTPUT_STRIP_TRAILING_WHITESPACE
    RESULT_VARIABLE _torch_rc)
  if(NOT _torch_rc EQUAL 0)
    message(FATAL_ERROR "TALKGEN_TORCH_FROM_PYTHON is ON but `${Python3_EXECUTABLE} -c 'import torch'` failed: "
                        "install PyTorch for that interpreter or use the `cpu` preset.")
  endif()
  list(PREPEND CMAKE_PREFIX_PATH "${_torch_prefix}")
endif()

find_package(Torch REQUIRED)
# Torch's flags (notably _GLIBCXX_USE_CXX11_ABI) must hold for every translation unit we link together.
string(REGEX MATCH "-D_GLIBCXX_USE_CXX11_ABI=[01]" _abi "${TORCH_CXX_FLAGS}")
if(_abi)
  add_compile_options(${_abi})
endif()

# TALKGEN_WITH_CUDA follows the libtorch that was found: never a separate switch that could disagree.
if(TARGET torch_cuda OR TORCH_CUDA_LIBRARIES)
  set(TALKGEN_WITH_CUDA ON)
  find_package(CUDAToolkit REQUIRED)
  find_path(NCCL_INCLUDE_DIR nccl.h HINTS /usr/include ${CUDAToolkit_INCLUDE_DIRS})
  find_library(NCCL_LIBRARY NAMES nccl libnccl.so.2
               HINTS /usr/lib/x86_64-linux-gnu ${CUDAToolkit_LIBRARY_DIR})
  if(NOT NCCL_LIBRARY)
    # PyTorch wheels ship NCCL under nvidia/nccl/lib.
    execute_process(COMMAND ${Python3_EXECUTABLE} -c
      "import nvidia.nccl, os; print(os.path.join(list(nvidia.nccl.__path__)[0], 'lib'))"
      OUTPUT_VARIABLE _nccl_dir OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    find_library(NCCL_LIBRARY NAMES nccl libnccl.so.2 HINTS ${_nccl_dir})
  endif()
  if(NOT NCCL_INCLUDE_DIR OR NOT NCCL_LIBRARY)
    message(FATAL_ERROR "libtorch has CUDA but NCCL was not found (nccl.h: ${NCCL_INCLUDE_DIR}, lib: ${NCCL_LIBRARY})")
  endif()
  set(TALKGEN_WITH_NCCL ON)
  # Hand-written kernels (src/**/*.cu) are built for Hopper unless told otherwise (-DCMAKE_CUDA_ARCHITECTURES).
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES 90)
  endif()
  if(NOT DEFINED CMAKE_CUDA_COMPILER AND EXISTS "${CUDAToolkit_NVCC_EXECUTABLE}")
    set(CMAKE_CUDA_COMPILER "${CUDAToolkit_NVCC_EXECUTABLE}")
  endif()
  enable_language(CUDA)
else()
  set(TALKGEN_WITH_CUDA OFF)
  set(TALKGEN_WITH_NCCL OFF)
endif()
message(STATUS "talkgen: Torch ${Torch_VERSION}, CUDA ${TALKGEN_WITH_CUDA}, NCCL ${TALKGEN_WITH_NCCL}")

# libtorch as an interface target with its flags, so parts link `talkgen::torch`.
add_library(talkgen_torch INTERFACE)
target_link_libraries(talkgen_torch INTERFACE ${TORCH_LIBRARIES})
target_include_directories(talkgen_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
target_compile_definitions(talkgen_torch INTERFACE
  $<$<BOOL:${TALKGEN_WITH_CUDA}>:TALKGEN_WITH_CUDA=1>
  $<$<BOOL:${TALKGEN_WITH_NCCL}>:TALKGEN_WITH_NCCL=1>)
if(TALKGEN_WITH_NCCL)
  target_include_directories(talkgen_torch SYSTEM INTERFACE ${NCCL_INCLUDE_DIR})
  target_link_libraries(talkgen_torch INTERFACE ${NCCL_LIBRARY} CUDA::cudart)
endif()
add_library(talkgen::torch ALIAS talkgen_torch)

find_package(PkgConfig REQUIRED)
pkg_check_modules(FFMPEG REQUIRED IMPORTED_TARGET
  libavformat libavcodec libavutil libswscale libswresample)
pkg_check_modules(EBUR128 REQUIRED IMPORTED_TARGET libebur128)
pkg_check_modules(ESPEAK REQUIRED IMPORTED_TARGET espeak-ng)
pkg_check_modules(SENTENCEPIECE REQUIRED IMPORTED_TARGET sentencepiece)
find_package(fmt REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(CLI11 REQUIRED)
find_package(Threads REQUIRED)
