# Installs the built tapegrad into a scratch prefix, then configures, builds and runs a tiny
# downstream project that only says find_package(tapegrad).
include(${CMAKE_CURRENT_LIST_DIR}/install_and_build.cmake)
install_and_build_downstream(downstream)
execute_process(COMMAND ${WORK_DIR}/build/downstream RESULT_VARIABLE rc OUTPUT_VARIABLE out)
message("${out}")
if(NOT rc EQUAL 0 OR NOT out MATCHES "dy/dx = 0.4199")
  message(FATAL_ERROR "the downstream program failed or printed the wrong gradient")
endif()
