cmake_minimum_required(VERSION 3.25)
# Fails when a source file includes a project header from a layer it must not depend on.
# Run as a build step (target check_layers, which every library depends on) and by a test
# that plants a forbidden include in a scratch tree. Usage:
#   cmake -DROOT=<source tree> -P check_layers.cmake
# Each rule: a directory, then the include prefixes its files may use. A more specific
# directory (ops/kernels) is listed before its parent (ops) and wins.
set(rules
  "base:base/"
  "ops/kernels:base/,ops/kernels/"
  "graph:base/,graph/"
  "ops:base/,graph/,ops/"
  "autodiff:base/,graph/,ops/,autodiff/"
  "models:base/,graph/,ops/,autodiff/,models/"
  "testing:base/,graph/,ops/,autodiff/,models/,testing/"
  "dist:base/,graph/,ops/,autodiff/,models/,dist/"
  "examples:base/,graph/,ops/,autodiff/,models/,testing/,dist/,examples/"
  "bench:base/,graph/,ops/,autodiff/,models/,dist/,bench/"
  "fuzz:base/,graph/,ops/,autodiff/,models/,examples/,testing/,fuzz/")

if(NOT ROOT)
  message(FATAL_ERROR "check_layers: pass -DROOT=<source tree>")
endif()

set(violations "")
set(claimed "")
foreach(rule IN LISTS rules)
  string(REPLACE ":" ";" parts "${rule}")
  list(GET parts 0 dir)
  list(GET parts 1 allowed)
  string(REPLACE "," ";" allowed "${allowed}")
  file(GLOB_RECURSE files RELATIVE ${ROOT} ${ROOT}/${dir}/*.h ${ROOT}/${dir}/*.cc)
  foreach(file IN LISTS files)
    if(file IN_LIST claimed)
      continue()
    endif()
    list(APPEND claimed ${file})
    file(STRINGS ${ROOT}/${file} includes REGEX "^[ \t]*#[ \t]*include[ \t]*\"")
    foreach(line IN LISTS includes)
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*\"([^\"]*)\".*" "\\1" header "${line}")
      # Only the project's own layers are policed; third-party quoted includes pass.
      if(NOT header MATCHES "^(base|graph|ops|autodiff|models|testing|dist|examples|bench|tests|fuzz)/")
        continue()
      endif()
      set(ok FALSE)
      foreach(prefix IN LISTS allowed)
        string(FIND "${header}" "${prefix}" at)
        if(at EQUAL 0)
          set(ok TRUE)
        endif()
      endforeach()
      if(NOT ok)
        string(APPEND violations "  ${file} includes \"${header}\"; ${dir}/ may include only ${allowed}\n")
      endif()
    endforeach()
  endforeach()
endforeach()

if(violations)
  message(FATAL_ERROR "check_layers: includes against the layering (docs/design.md):\n${violations}")
endif()
