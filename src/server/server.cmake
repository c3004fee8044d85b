# talkgen_server: `talkgen serve`'s HTTP job API over talkgen::Client (src/server/*.cpp), and the web page
# (src/server/web, its own library). Included from src/CMakeLists.txt. Not a part of libtalkgen.so: the
# server is an application over the library (like the CLI), so the library does not carry Boost.Beast
# and SQLite.
#
# HTTP: Boost.Beast + Boost.Asio (Debian's libboost-dev, headers only): asynchronous connections, so idle,
# slow and streaming clients hold no thread (cpp-httplib's thread-per-connection model could not bound them).
find_package(Boost 1.74 REQUIRED CONFIG)
# cpp-httplib is only a client here: webhook deliveries, `talkgen generate --server` (src/cli/remote_generate.cpp)
# and the tests.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)  # Debian's compiled cpp-httplib
find_package(SQLite3 REQUIRED)
# OpenSSL: base64, SHA-256 request fingerprints, HMAC-SHA256 webhook signatures (libcrypto), and TLS for
# webhook deliveries to https:// URLs (libssl, through cpp-httplib's client).
find_package(OpenSSL REQUIRED)

# (Only once the page's files are all there, so a half-written page does not break the build.)
if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/web/CMakeLists.txt AND EXISTS ${CMAKE_CURRENT_LIST_DIR}/web/app.js)
  add_subdirectory(${CMAKE_CURRENT_LIST_DIR}/web ${CMAKE_CURRENT_BINARY_DIR}/server_web)
endif()

file(GLOB _server_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.cpp)
add_library(talkgen_server STATIC ${_server_sources})
target_include_directories(talkgen_server PUBLIC ${PROJECT_SOURCE_DIR}/include ${PROJECT_BINARY_DIR}/include
                                          ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(talkgen_server PUBLIC talkgen_media talkgen_planner SQLite::SQLite3
                                            nlohmann_json::nlohmann_json Threads::Threads
                                            # The webhook sender's HTTP(S) client (webhooks.cpp), and passed on
                                            # to talkgen_cli's remote client and the tests, which link it through
                                            # this library (its compile definitions, OpenSSL support among them,
                                            # must be the same everywhere).
                                            PkgConfig::HTTPLIB
                                     PRIVATE Boost::headers OpenSSL::SSL OpenSSL::Crypto)
# Beast/Asio as headers only, without the deprecated interfaces.
target_compile_definitions(talkgen_server PRIVATE BOOST_ASIO_NO_DEPRECATED BOOST_BEAST_USE_STD_STRING_VIEW)
# The Client may still be under construction: the pieces that do not need it (store, auth, limits,
# request parsing) build and test without it.
if(TARGET talkgen_client)
  target_link_libraries(talkgen_server PUBLIC talkgen_client)
endif()
if(TARGET talkgen_server_web)
  target_link_libraries(talkgen_server PUBLIC talkgen_server_web)
endif()
target_compile_options(talkgen_server PRIVATE -Wall -Wextra -Wno-unused-parameter)
