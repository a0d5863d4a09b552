# cluster_hook_plugin(NAME SOURCES... [LIBRARIES libs...]): one hook-set plugin .so, built by
# cluster_add_plugin() plus the shared header folder (hooks-common).
include_guard(GLOBAL)

function(cluster_hook_plugin name)
  set(common ${CMAKE_CURRENT_FUNCTION_LIST_DIR})
  cluster_add_plugin(${name} ${ARGN})
  target_include_directories(cluster-${name} PRIVATE ${common})
endfunction()
