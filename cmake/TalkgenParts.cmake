# talkgen_add_part(<name> [DIR <dir>] [DEPS <parts...>] [LIBS <targets...>] [PCH <headers...>])
# One static library per part (src/<dir>/*.cpp, globbed so adding a file needs no CMake edit).
# The shared libtalkgen is linked from all parts; tests link the parts they exercise directly.
function(talkgen_add_part name)
  cmake_parse_arguments(P "" "DIR" "DEPS;LIBS;PCH" ${ARGN})
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
  if(P_PCH)
    target_precompile_headers(${_target} PRIVATE ${P_PCH})
  endif()
  set_property(GLOBAL APPEND PROPERTY TALKGEN_PARTS ${_target})
endfunction()
