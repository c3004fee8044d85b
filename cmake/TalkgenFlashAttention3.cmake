# FlashAttention-3 (github:Dao-AILab/flash-attention, its hopper/ folder) in CUDA builds, when asked for:
#
#   -DTALKGEN_FLASH_ATTENTION3_DIR=<flash-attention checkout>   (needs hopper/ and CUTLASS, see below)
#   -DTALKGEN_CUTLASS_DIR=<CUTLASS checkout>                    (default: <checkout>/csrc/cutlass, the
#                                                                 submodule FA3 pins)
#
# Adds talkgen_flash_attention3 (src/model/layers/flash_attention3/*.cu, built for sm_90a) and defines
# TALKGEN_WITH_FLASH_ATTENTION3=1 for model_layers, whose attention then prefers FA3 on Hopper GPUs
# (model/layers/attention.hpp). Nothing of FA3 is copied into this repository: it is built from the
# checkout given. CPU builds ignore the option.
set(TALKGEN_FLASH_ATTENTION3_DIR "" CACHE PATH
    "A flash-attention checkout whose hopper/ FlashAttention-3 kernels to build in (CUDA builds, Hopper)")
set(TALKGEN_CUTLASS_DIR "" CACHE PATH "CUTLASS for FlashAttention-3 (default: its csrc/cutlass submodule)")
set(TALKGEN_WITH_FLASH_ATTENTION3 OFF)

function(talkgen_add_flash_attention3 layers_target)
  if(NOT TALKGEN_FLASH_ATTENTION3_DIR)
    if(TALKGEN_WITH_CUDA)
      message(STATUS "talkgen: FlashAttention-3 off (the DiT's attention uses cuDNN); on Hopper GPUs "
                     "-DTALKGEN_FLASH_ATTENTION3_DIR=<flash-attention checkout> makes a 480p forward ~10% faster")
    endif()
    return()
  endif()
  if(NOT TALKGEN_WITH_CUDA)
    message(STATUS "talkgen: TALKGEN_FLASH_ATTENTION3_DIR ignored: this libtorch has no CUDA")
    return()
  endif()
  set(_fa3 ${TALKGEN_FLASH_ATTENTION3_DIR})
  set(_cutlass ${TALKGEN_CUTLASS_DIR})
  if(NOT _cutlass)
    set(_cutlass ${_fa3}/csrc/cutlass)
  endif()
  if(NOT EXISTS ${_fa3}/hopper/flash_fwd_launch_template.h)
    message(FATAL_ERROR "TALKGEN_FLASH_ATTENTION3_DIR=${_fa3} has no hopper/flash_fwd_launch_template.h: give a "
                        "checkout of github.com/Dao-AILab/flash-attention (with FlashAttention-3's hopper/ folder)")
  endif()
  if(NOT EXISTS ${_cutlass}/include/cute/tensor.hpp)
    message(FATAL_ERROR "No CUTLASS at ${_cutlass} (include/cute/tensor.hpp is missing): run `git submodule update "
                        "--init csrc/cutlass` in the flash-attention checkout or set TALKGEN_CUTLASS_DIR")
  endif()

  file(GLOB _sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/model/layers/flash_attention3/*.cu)
  add_library(talkgen_flash_attention3 STATIC ${_sources})
  target_include_directories(talkgen_flash_attention3 PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_include_directories(talkgen_flash_attention3 SYSTEM PRIVATE ${_fa3}/hopper ${_cutlass}/include)
  target_compile_features(talkgen_flash_attention3 PRIVATE cuda_std_17)
  # wgmma and setmaxnreg need the arch-specific sm_90a target. The definitions and relaxed-constexpr /
  # extended-lambda flags are those FA3's own setup.py builds with; the features we never use are
  # compiled out as there.
  set_target_properties(talkgen_flash_attention3 PROPERTIES CUDA_ARCHITECTURES OFF)
  target_compile_options(talkgen_flash_attention3 PRIVATE
    $<$<COMPILE_LANGUAGE:CUDA>:-gencode=arch=compute_90a,code=sm_90a --expt-relaxed-constexpr
      --expt-extended-lambda --use_fast_math -diag-suppress=20013,20014>)
  target_compile_definitions(talkgen_flash_attention3 PRIVATE
    NDEBUG CUTE_SM90_EXTENDED_MMA_SHAPES_ENABLED CUTLASS_ENABLE_GDC_FOR_SM90 CUTLASS_DEBUG_TRACE_LEVEL=0
    FLASHATTENTION_DISABLE_BACKWARD FLASHATTENTION_DISABLE_SM8x FLASHATTENTION_DISABLE_VARLEN
    FLASHATTENTION_DISABLE_LOCAL FLASHATTENTION_DISABLE_SOFTCAP FLASHATTENTION_DISABLE_PAGEDKV
    FLASHATTENTION_DISABLE_SPLIT FLASHATTENTION_DISABLE_APPENDKV FLASHATTENTION_DISABLE_PACKGQA
    FLASHATTENTION_DISABLE_FP8 FLASHATTENTION_DISABLE_FP16)
  target_link_libraries(talkgen_flash_attention3 PUBLIC CUDA::cudart)
  # A C entry point to the same kernels, to time the reference with FA3 (tools/parity/bench_ref.py --fa3-lib).
  add_library(talkgen_fa3_c SHARED EXCLUDE_FROM_ALL ${PROJECT_SOURCE_DIR}/tools/parity/fa3_shim/flash_attention3_c.cpp)
  target_include_directories(talkgen_fa3_c PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(talkgen_fa3_c PRIVATE talkgen_flash_attention3)
  target_link_libraries(${layers_target} PUBLIC talkgen_flash_attention3)
  target_compile_definitions(${layers_target} PUBLIC TALKGEN_WITH_FLASH_ATTENTION3=1)
  set(TALKGEN_WITH_FLASH_ATTENTION3 ON PARENT_SCOPE)
  message(STATUS "talkgen: FlashAttention-3 from ${_fa3} (CUTLASS ${_cutlass})")
endfunction()
