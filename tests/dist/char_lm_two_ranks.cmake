# char_lm on two ranks trains the model one process trains with the same global batch:
# after the same updates (dropout off) its validation is within 0.02 bits/char of one
# process's; and the two ranks resume from their checkpoint (rank 0 reads it).
# -DCHAR_LM=<program> -DMPIRUN=<mpirun and its flags, separated by ^^> -DARGS=<flags, ^^>
# -DOUT_DIR=<scratch directory>
string(REPLACE "^^" ";" mpirun "${MPIRUN}")
string(REPLACE "^^" ";" args "${ARGS}")
file(REMOVE_RECURSE ${OUT_DIR})

function(run name)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 300)
  string(REGEX REPLACE "\r[^\n]*\r" "" shown "${out}")  # progress bars
  message("---- ${name}\n${shown}${err}")
  if(NOT rc STREQUAL "0")
    message(FATAL_ERROR "${name} failed (${rc})")
  endif()
  if(NOT out MATCHES "validation: ([0-9.]+) bits/char")
    message(FATAL_ERROR "${name} printed no validation score")
  endif()
  set(bpc ${CMAKE_MATCH_1} PARENT_SCOPE)
  set(out "${out}" PARENT_SCOPE)
endfunction()

run("one process" ${CHAR_LM} ${args} --max_updates=100 --out_dir=${OUT_DIR}/one)
set(one ${bpc})
run("two ranks" ${mpirun} ${CHAR_LM} ${args} --max_updates=100 --out_dir=${OUT_DIR}/two)
set(two ${bpc})
if(NOT out MATCHES "2 ranks: [0-9.]+% of training in collectives")
  message(FATAL_ERROR "the two-rank run does not report its communication")
endif()
string(REPLACE "." "" one_milli "${one}")
string(REPLACE "." "" two_milli "${two}")
math(EXPR diff "${one_milli} - ${two_milli}")
if(diff LESS 0)
  math(EXPR diff "-${diff}")
endif()
message("validation: one process ${one}, two ranks ${two} bits/char (difference ${diff} thousandths)")
if(diff GREATER 20)
  message(FATAL_ERROR "two ranks end ${diff} thousandths of a bit/char away from one process (> 20)")
endif()

run("two ranks, resumed" ${mpirun} ${CHAR_LM} ${args} --resume --max_updates=110 --out_dir=${OUT_DIR}/two)
if(NOT out MATCHES "resumed from [^\n]* at update 100.*trained 10 updates")
  message(FATAL_ERROR "the two ranks did not resume at update 100 and train 10 more")
endif()
