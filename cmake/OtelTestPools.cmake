# How ctest runs the tests side by side (ctest resource allocation).
#
# A test either keeps a core busy most of its life (valgrind, callgrind, the linters) or mostly
# waits (a scenario waiting for the team's 10 s batch timeout, a unit test waiting for its
# server, the JS SDK waiting for an export). Each kind draws from its own pool:
#   cores  two slots per core of this machine. Measured, the CPU-bound tests keep a core busy
#          about 60% of their life on average (a valgrind run still waits for its sockets and
#          timers, a benchmark for its batches), so one per core would leave the cores idle
#          40% of the time, and more than two would only queue on the cores;
#   waits  OTEL_TEST_WAITS slots (16 by default), whatever the cores: a waiting test uses
#          almost no CPU, so the waiting tests wait side by side instead of in turn, and more
#          scenarios add little wall time as long as the pool has room.
# The spec is build/ctest-resources.json; CTEST_RESOURCE_SPEC_FILE makes a plain `ctest` in the
# build folder use it. The pools, not `ctest -j`, bound how many tests run at once, so give
# ctest a -j of at least the two pools' slots (scripts/test passes 64).
#
# COST orders the first run (later runs use the times ctest measured): tests that wait long
# start first, so that their waiting overlaps the CPU-bound tests instead of trailing them.
set(OTEL_TEST_WAITS 16 CACHE STRING "tests that mostly wait which ctest runs at once")
cmake_host_system_information(RESULT otel_cores QUERY NUMBER_OF_LOGICAL_CORES)
math(EXPR otel_core_slots "2 * ${otel_cores}")
file(WRITE ${CMAKE_BINARY_DIR}/ctest-resources.json
  "{\"version\": {\"major\": 1, \"minor\": 0},\n"
  " \"local\": [{\"cores\": [{\"id\": \"0\", \"slots\": ${otel_core_slots}}],\n"
  "            \"waits\": [{\"id\": \"0\", \"slots\": ${OTEL_TEST_WAITS}}]}]}\n")
set(CTEST_RESOURCE_SPEC_FILE ${CMAKE_BINARY_DIR}/ctest-resources.json)

# First-run costs of the slowest CPU-bound tests: their seconds alone on a 2-core machine. A
# test not named here gets the COST its registration passes.
set(OTEL_TEST_COST_memcheck.test_stanza_pipeline 13)
set(OTEL_TEST_COST_memcheck.test_tempo_grpc 12)
set(OTEL_TEST_COST_memcheck.test_otlp_grpc_exporter 11)
set(OTEL_TEST_COST_memcheck.test_filelog_receiver 9)
set(OTEL_TEST_COST_memcheck.test_grpc 9)
set(OTEL_TEST_COST_memcheck.test_otlp_grpc 6)
set(OTEL_TEST_COST_memcheck.test_k8s_api 9)

# otel_test_pool(cores|waits COST TEST...): puts the tests in a pool, with a first-run COST
# (seconds, roughly) unless the table above has one.
function(otel_test_pool pool cost)
  if(NOT pool STREQUAL "cores" AND NOT pool STREQUAL "waits")
    message(FATAL_ERROR "otel_test_pool: unknown pool ${pool} (cores or waits)")
  endif()
  foreach(test ${ARGN})
    set(test_cost ${cost})
    if(DEFINED OTEL_TEST_COST_${test})
      set(test_cost ${OTEL_TEST_COST_${test}})
    endif()
    set_tests_properties(${test} PROPERTIES RESOURCE_GROUPS "${pool}:1" COST ${test_cost})
  endforeach()
endfunction()
