# Static checks of scripts and sources (ctest label `lint`).
find_program(SHELLCHECK shellcheck)
find_program(CLANG_FORMAT NAMES clang-format clang-format-14)

if(SHELLCHECK)
  add_test(NAME lint.shellcheck
    COMMAND ${CMAKE_SOURCE_DIR}/scripts/lint shellcheck
    WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(lint.shellcheck PROPERTIES LABELS lint)
  otel_test_pool(cores 1 lint.shellcheck)
endif()
if(CLANG_FORMAT)
  add_test(NAME lint.clang-format
    COMMAND ${CMAKE_SOURCE_DIR}/scripts/lint format
    WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(lint.clang-format PROPERTIES LABELS lint)
  otel_test_pool(cores 1 lint.clang-format)
endif()
