# talkgen_add_part(<name> [DIR <dir>] [DEPS <parts...>] [LIBS <targets...>] [PCH <headers...>] [TORCH_PCH])
# One static library per part (src/<dir>/*.cpp, globbed so adding a file needs no CMake edit; CUDA builds
# add the folder's *.cu as <part>_kernels).
# The shared libtalkgen is linked from all parts; tests link the parts they exercise directly.
function(talkgen_add_part name)
  cmake_parse_arguments(P "TORCH_PCH" "DIR" "DEPS;LIBS;PCH" ${ARGN})
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
  set_property(GLOBAL APPEND PROPERTY TALKGEN_PARTS ${_target})
endfunction()
