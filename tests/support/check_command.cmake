# Runs a command and checks BOTH its exit status and its output (stdout and stderr together). ctest's
# PASS_REGULAR_EXPRESSION alone replaces the exit-status check, so a command that printed the expected words
# and then failed or crashed would pass; tests/CMakeLists.txt (talkgen_add_cli_test) runs CLI tests through
# this script instead.
#
#   cmake -DEXPECT_EXIT=<status> -DEXPECT_OUTPUT=<regex> -P check_command.cmake -- <program> [args...]
#
# <regex> is CMake's regular expression syntax, the engine PASS_REGULAR_EXPRESSION uses. <status> is the
# exit code the command must end with (0 for success, 11 for invalid_argument, ...: src/cli/exit_code.hpp).
cmake_minimum_required(VERSION 3.25)

if(NOT DEFINED EXPECT_EXIT OR NOT DEFINED EXPECT_OUTPUT)
  message(FATAL_ERROR "check_command.cmake: give -DEXPECT_EXIT=<status> and -DEXPECT_OUTPUT=<regex>")
endif()

set(_command)
set(_after_separator FALSE)
math(EXPR _last "${CMAKE_ARGC} - 1")
foreach(_i RANGE ${_last})
  if(_after_separator)
    # A CMake list cannot hold an element with ';': such an argument would reach the command split in two.
    string(FIND "${CMAKE_ARGV${_i}}" ";" _semicolon)
    if(NOT _semicolon EQUAL -1)
      message(FATAL_ERROR "check_command.cmake: argument '${CMAKE_ARGV${_i}}' contains ';', which this script "
                          "cannot pass on intact (use && in sh -c scripts)")
    endif()
    list(APPEND _command "${CMAKE_ARGV${_i}}")
  elseif("${CMAKE_ARGV${_i}}" STREQUAL "--")
    set(_after_separator TRUE)
  endif()
endforeach()
if(NOT _command)
  message(FATAL_ERROR "check_command.cmake: no command after '--'")
endif()

# The output is shown as it comes (ctest --output-on-failure / -V) and kept for the check.
execute_process(COMMAND ${_command}
                RESULT_VARIABLE _status
                OUTPUT_VARIABLE _output
                ERROR_VARIABLE _output
                ECHO_OUTPUT_VARIABLE ECHO_ERROR_VARIABLE)

set(_problems)
if(NOT "${_status}" STREQUAL "${EXPECT_EXIT}")
  list(APPEND _problems "exit status ${_status}, expected ${EXPECT_EXIT}")
endif()
string(REGEX MATCH "${EXPECT_OUTPUT}" _match "${_output}")
if("${_match}" STREQUAL "")
  list(APPEND _problems "the output does not match /${EXPECT_OUTPUT}/")
endif()
if(_problems)
  list(JOIN _problems "\n  " _text)
  list(JOIN _command " " _command_line)
  message(FATAL_ERROR "check_command.cmake: ${_command_line}\n  ${_text}")
endif()
