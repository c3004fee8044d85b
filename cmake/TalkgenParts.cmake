# talkgen_add_part(<name> [DIR <dir>] [DEPS <parts...>] [LIBS <targets...>] [PCH <headers...>] [TORCH_PCH]
#                  [EXCLUDE_FROM_LIBRARY])
# One static library per part (src/<dir>/*.cpp, globbed so adding a file needs no CMake edit; CUDA builds
# add the folder's *.cu as <part>_kernels).
# The shared libtalkgen (and libtalkgen_c) is linked from all parts but those marked EXCLUDE_FROM_LIBRARY
# (the benchmarks: code for the CLI, not for applications); tests link the parts they exercise directly.
function(talkgen_add_part name)
  cmake_parse_arguments(P "TORCH_PCH;EXCLUDE_FROM_LIBRARY" "DIR" "DEPS;LIBS;PCH" ${ARGN})
  if(NOT P_DIR)
    set(P_DIR ${name})
  endif()
  file(GLOB _sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${P_DIR}/*.cpp)
  set(_target talkgen_${name})
  if(NOT _sources)
    message(STATUS "talkgen: part ${name} has no sources yet; skipped")
    return()
  endif()
  add_library(${_target} STATIC ${_sources})
  target_include_directories(${_target}
    PUBLIC  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
            $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/include>
            $<INSTALL_INTERFACE:include>
    PRIVATE ${PROJECT_SOURCE_DIR}/src)
  foreach(_dep ${P_DEPS})
    target_link_libraries(${_target} PUBLIC talkgen_${_dep})
  endforeach()
  target_link_libraries(${_target} PUBLIC ${P_LIBS})
  target_compile_options(${_target} PRIVATE -Wall -Wextra -Wno-unused-parameter)
  # Everything under src/ is internal to libtalkgen.so: only what include/talkgen/ marks TALKGEN_API
  # (export.hpp) is exported. Programs linking the parts statically (tests, CLI, server, the C ABI) are
  # unaffected. On Windows, TALKGEN_BUILD makes TALKGEN_API dllexport and TALKGEN_STATIC tells the programs
  # linking the parts not to expect a DLL (elsewhere neither means anything, so the precompiled header that
  # the tests share with the parts stays valid for them).
  set_target_properties(${_target} PROPERTIES CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  if(WIN32)
    target_compile_definitions(${_target} PRIVATE TALKGEN_BUILD INTERFACE TALKGEN_STATIC)
  endif()
  # CUDA kernels (CUDA builds only) in a library of their own: nvcc sees neither libtorch nor the
  # part's C++ flags and precompiled header; they take raw device pointers (see the part's *_launch.hpp).
  if(TALKGEN_WITH_CUDA)
    file(GLOB _cuda_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${P_DIR}/*.cu)
    if(_cuda_sources)
      add_library(${_target}_kernels STATIC ${_cuda_sources})
      target_include_directories(${_target}_kernels PRIVATE ${PROJECT_SOURCE_DIR}/src)
      target_compile_features(${_target}_kernels PRIVATE cuda_std_17)
      target_compile_options(${_target}_kernels PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:-Xptxas=-warn-spills>)
      target_link_libraries(${_target}_kernels PUBLIC CUDA::cudart)
      target_link_libraries(${_target} PUBLIC ${_target}_kernels)
    endif()
  endif()
  if(P_PCH)
    target_precompile_headers(${_target} PRIVATE ${P_PCH})
  elseif(P_TORCH_PCH AND TALKGEN_USE_PCH)
    # The first libtorch part compiles src/torch_pch.hpp; the others reuse that precompiled header.
    get_property(_pch_owner GLOBAL PROPERTY TALKGEN_TORCH_PCH_OWNER)
    if(_pch_owner)
      target_precompile_headers(${_target} REUSE_FROM ${_pch_owner})
    else()
      target_precompile_headers(${_target} PRIVATE ${PROJECT_SOURCE_DIR}/src/torch_pch.hpp)
      set_property(GLOBAL PROPERTY TALKGEN_TORCH_PCH_OWNER ${_target})
    endif()
  endif()
  if(NOT P_EXCLUDE_FROM_LIBRARY)
    set_property(GLOBAL APPEND PROPERTY TALKGEN_PARTS ${_target})
  endif()
endfunction()

# talkgen_reuse_torch_pch(<target>)
# Lets a program built over the parts (a test suite) reuse the parts' precompiled libtorch header. A
# precompiled header is only valid with the flags it was made with, so the target takes the parts' code
# generation flags too: -fPIC and hidden visibility (which changes nothing for an executable). Without
# them GCC warns about every class of the header ("declared with greater visibility than its base").
# Returns quietly when the build has no precompiled header (TALKGEN_USE_PCH=OFF, no libtorch part).
function(talkgen_reuse_torch_pch target)
  get_property(_pch_owner GLOBAL PROPERTY TALKGEN_TORCH_PCH_OWNER)
  if(NOT TALKGEN_USE_PCH OR NOT _pch_owner)
    return()
  endif()
  set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE OFF
                        CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  target_compile_options(${target} PRIVATE -fPIC)
  target_precompile_headers(${target} REUSE_FROM ${_pch_owner})
endfunction()
