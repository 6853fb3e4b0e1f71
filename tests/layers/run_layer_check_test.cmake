# Proves the layer check has teeth: a copy of the real ops/kernels/ and base/ passes, and
# the same copy with one kernel file including a graph/ header fails, naming the file and
# the header. Usage: cmake -DSOURCE_DIR=... -DWORK_DIR=... -P run_layer_check_test.cmake
file(REMOVE_RECURSE ${WORK_DIR})
foreach(dir base ops/kernels examples)
  file(COPY ${SOURCE_DIR}/${dir}/ DESTINATION ${WORK_DIR}/${dir})
endforeach()

function(run_check)
  execute_process(COMMAND ${CMAKE_COMMAND} -DROOT=${WORK_DIR}
    -P ${SOURCE_DIR}/cmake/check_layers.cmake
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(check_rc ${rc} PARENT_SCOPE)
  set(check_out "${out}${err}" PARENT_SCOPE)
endfunction()

run_check()
if(NOT check_rc EQUAL 0)
  message(FATAL_ERROR "the unmodified copy was refused:\n${check_out}")
endif()

file(WRITE ${WORK_DIR}/ops/kernels/forbidden.cc "#include \"ops/kernels/simd.h\"\n#include \"graph/tensor.h\"\n")
run_check()
if(check_rc EQUAL 0 OR NOT check_out MATCHES "ops/kernels/forbidden.cc includes \"graph/tensor.h\"")
  message(FATAL_ERROR "a kernel including graph/tensor.h passed the layer check:\n${check_out}")
endif()
file(REMOVE ${WORK_DIR}/ops/kernels/forbidden.cc)

file(WRITE ${WORK_DIR}/examples/forbidden.cc "#include \"tests/ops/op_test_util.h\"\n")
run_check()
if(check_rc EQUAL 0 OR NOT check_out MATCHES "examples/forbidden.cc includes \"tests/ops/op_test_util.h\"")
  message(FATAL_ERROR "an example including a file under tests/ passed the layer check:\n${check_out}")
endif()
message("layer check: the real tree passes; forbidden includes in ops/kernels/ and examples/ fail")
