# otel_add_unit_tests(DIR LIBS...): every DIR/tests/test_*.c is one cmocka executable, run by ctest
# with label `unit` (pool `waits`: most are quick or wait for their servers), and again under
# valgrind memcheck with label `memcheck` (pool `cores`: valgrind keeps a core busy).
#
# memcheck runs without --track-origins: it finds the same errors, and costs a fifth more CPU
# on every run. To see where an uninitialised value came from, rerun the one test by hand with
# `valgrind --track-origins=yes build/DIR/test_NAME`.
function(otel_add_unit_tests dir)
  file(GLOB test_sources CONFIGURE_DEPENDS ${dir}/tests/test_*.c)
  foreach(src ${test_sources})
    get_filename_component(name ${src} NAME_WE)
    add_executable(${name} ${src})
    target_compile_options(${name} PRIVATE ${OTEL_WARNINGS})
    target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/common/tests) # poll_until.h
    target_link_libraries(${name} PRIVATE ${ARGN} PkgConfig::CMOCKA)
    add_test(NAME unit.${name} COMMAND ${name})
    set_tests_properties(unit.${name} PROPERTIES LABELS unit TIMEOUT 300
      ENVIRONMENT "OTEL_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
    otel_test_pool(waits 1 unit.${name})
    if(VALGRIND AND NOT SANITIZE)
      add_test(NAME memcheck.${name}
        COMMAND ${VALGRIND} --tool=memcheck --error-exitcode=99 --leak-check=full
                --errors-for-leak-kinds=definite --quiet $<TARGET_FILE:${name}>)
      set_tests_properties(memcheck.${name} PROPERTIES LABELS memcheck TIMEOUT 900
        ENVIRONMENT "OTEL_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
      otel_test_pool(cores 3 memcheck.${name})
    endif()
  endforeach()
endfunction()
