# `cmake --install`: the shared library, public headers, a CMake package (find_package(talkgen)) and
# a pkg-config file (pkg-config --cflags --libs talkgen).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS talkgen EXPORT talkgenTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/talkgen DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.hpp")
install(FILES ${PROJECT_BINARY_DIR}/include/talkgen/version.hpp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/talkgen)
install(TARGETS talkgen_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
if(TARGET talkgen_c)
  install(TARGETS talkgen_c EXPORT talkgenTargets LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(FILES capi/talkgen.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endif()

install(EXPORT talkgenTargets NAMESPACE talkgen:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/talkgen)
configure_package_config_file(cmake/talkgenConfig.cmake.in ${PROJECT_BINARY_DIR}/talkgenConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/talkgen)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/talkgenConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/talkgenConfig.cmake ${PROJECT_BINARY_DIR}/talkgenConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/talkgen)

foreach(_pc talkgen talkgen_c)
  configure_file(cmake/${_pc}.pc.in ${PROJECT_BINARY_DIR}/${_pc}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/${_pc}.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endforeach()
