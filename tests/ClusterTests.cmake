# Functions of the test CMake files (tests/, tests/reliability, tests/interop).

find_package(Threads REQUIRED)

# cluster_probe_test_executable(<target> SOURCES <file>... [DEFINITIONS <def>...] [DEPENDS <target>...])
#
# A GoogleTest executable that drives cluster_probe members (tests/integration/probe.cpp) as
# processes over the real transport plugins: CLUSTER_PLUGIN_DIR and CLUSTER_PROBE defined
# (CLUSTER_RELIABILITY_SANITIZED=1 in sanitizer builds), linked to the test support library,
# and built after the probe and the transport plugins (and DEPENDS).
function(cluster_probe_test_executable target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "SOURCES;DEFINITIONS;DEPENDS")
  add_executable(${target} ${arg_SOURCES})
  target_compile_definitions(${target} PRIVATE
    CLUSTER_PLUGIN_DIR="${CMAKE_BINARY_DIR}/plugins"
    CLUSTER_PROBE="$<TARGET_FILE:cluster_probe>"
    ${arg_DEFINITIONS})
  if(CLUSTER_SANITIZE)
    target_compile_definitions(${target} PRIVATE CLUSTER_RELIABILITY_SANITIZED=1)
  endif()
  target_link_libraries(${target} PRIVATE cluster_test_support cluster::cluster GTest::gtest_main Threads::Threads)
  add_dependencies(${target} cluster_probe cluster-tcp cluster-unix cluster-udp-multicast ${arg_DEPENDS})
endfunction()

# cluster_netns_test(<ctest name> TARGET <executable target> TIMEOUT <seconds>
#                    [RUNNER <script>] [ARGS <arg>...] [LABELS <label>...] [FAIL_ON_SKIP])
#
# One ctest test that runs the executable (with ARGS) through RUNNER, by default
# tests/plugins/netns-run: a private network namespace, exit 77 (skipped) where none can be
# made. FAIL_ON_SKIP: a test that GoogleTest reports as skipped fails the ctest test (for suites
# whose tests skip only outside a namespace).
function(cluster_netns_test name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "FAIL_ON_SKIP" "TARGET;TIMEOUT;RUNNER" "ARGS;LABELS")
  if(NOT arg_TARGET OR NOT arg_TIMEOUT)
    message(FATAL_ERROR "cluster_netns_test(${name}): TARGET and TIMEOUT are required")
  endif()
  if(NOT arg_RUNNER)
    set(arg_RUNNER ${PROJECT_SOURCE_DIR}/tests/plugins/netns-run)
  endif()
  add_test(NAME ${name} COMMAND sh ${arg_RUNNER} $<TARGET_FILE:${arg_TARGET}> ${arg_ARGS})
  set_tests_properties(${name} PROPERTIES TIMEOUT ${arg_TIMEOUT} SKIP_RETURN_CODE 77)
  if(arg_LABELS)
    set_tests_properties(${name} PROPERTIES LABELS "${arg_LABELS}")
  endif()
  if(arg_FAIL_ON_SKIP)
    set_tests_properties(${name} PROPERTIES FAIL_REGULAR_EXPRESSION "\\[  SKIPPED \\]")
  endif()
endfunction()
