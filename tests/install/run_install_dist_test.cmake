# Installs the built tapegrad into a scratch prefix, then configures and builds a downstream
# project that says find_package(tapegrad COMPONENTS dist), and runs it on two ranks with
# MPIRUN (its arguments separated by ^^).
include(${CMAKE_CURRENT_LIST_DIR}/install_and_build.cmake)
install_and_build_downstream(downstream_dist)
string(REPLACE "^^" ";" mpirun "${MPIRUN}")
execute_process(COMMAND ${mpirun} ${WORK_DIR}/build/downstream_dist RESULT_VARIABLE rc
  OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 120)
message("${out}${err}")
if(NOT rc EQUAL 0 OR NOT out MATCHES "mean over 2 ranks = 1.5")
  message(FATAL_ERROR "the downstream program failed or printed the wrong mean")
endif()
