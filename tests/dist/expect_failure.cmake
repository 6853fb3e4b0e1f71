# Runs COMMAND (its arguments separated by ^^) and passes when it exits non-zero within LIMIT
# seconds with output matching EXPECT: a failing rank must end the whole job, and say why.
string(REPLACE "^^" ";" command "${COMMAND}")
string(TIMESTAMP start "%s")
execute_process(COMMAND ${command} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                TIMEOUT ${LIMIT})
string(TIMESTAMP end "%s")
math(EXPR took "${end} - ${start}")
message("${out}${err}")
message("exit: ${rc} after ${took} s")
if(rc STREQUAL "0")
  message(FATAL_ERROR "the job exited 0; a failing rank must end it non-zero")
endif()
if(NOT rc MATCHES "^[0-9]+$")
  message(FATAL_ERROR "the job did not end within ${LIMIT} s (${rc})")
endif()
if(NOT "${out}${err}" MATCHES "${EXPECT}")
  message(FATAL_ERROR "the output does not match '${EXPECT}'")
endif()
