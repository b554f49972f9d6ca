# Runs EXAMPLE (with the optional arguments ARGS, a ;-list) and fails unless its standard output
# is exactly the contents of EXPECTED.
#   cmake -DEXAMPLE=<program> -DEXPECTED=<file> [-DARGS=<arg;...>] -P compare_output.cmake
execute_process(COMMAND ${EXAMPLE} ${ARGS}
                OUTPUT_VARIABLE actual
                ERROR_VARIABLE errors
                RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${EXAMPLE} ${ARGS} exited with ${status}\n${errors}")
endif()
file(READ ${EXPECTED} expected)
if(NOT actual STREQUAL expected)
  string(REPLACE "\n" "\n  | " shown_expected "${expected}")
  string(REPLACE "\n" "\n  | " shown_actual "${actual}")
  message(FATAL_ERROR "output of ${EXAMPLE} ${ARGS} differs from ${EXPECTED}\n"
                      "expected:\n  | ${shown_expected}\nactual:\n  | ${shown_actual}")
endif()
