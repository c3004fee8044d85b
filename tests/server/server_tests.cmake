# talkgen serve's tests (included from tests/CMakeLists.txt):
#  - test_server (Catch2, tests/server/*.cpp): the pieces, and every route against an in-process server on an
#    ephemeral port (cpp-httplib client, demo model), and the transport's limits through raw sockets;
#  - serve_process_test.py: the `talkgen serve` binary as a subprocess (SIGKILL + restart, SIGTERM drain).
talkgen_add_test_suite(server LIBS talkgen_server)  # (cpp-httplib, the routes tests' client, comes with it)
if(TARGET test_server AND TARGET talkgen_client AND TARGET talkgen_cli)
  add_test(NAME "server: serve process (SIGKILL restart, SIGTERM drain, auth, port 0)"
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/server/serve_process_test.py
                   --talkgen $<TARGET_FILE:talkgen_cli> --scratch ${TALKGEN_TEST_SCRATCH_DIR}/serve_process)
  set_tests_properties("server: serve process (SIGKILL restart, SIGTERM drain, auth, port 0)"
                       PROPERTIES LABELS "server" TIMEOUT 600)
endif()
# The web page in Chromium and `talkgen generate --server` (tests/server/browser).
add_subdirectory(server/browser)
