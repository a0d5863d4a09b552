# cluster_hook_plugin(NAME SOURCES... [LIBRARIES libs...]): one hook-set plugin .so, built by
# cluster_add_plugin() plus the shared header folder (hooks-common) and a version script, so
# the .so exports cluster_plugin_descriptor only (no weak std:: template instantiations).
include_guard(GLOBAL)

function(cluster_hook_plugin name)
  set(common ${CMAKE_CURRENT_FUNCTION_LIST_DIR})
  cluster_add_plugin(${name} ${ARGN})
  target_include_directories(cluster-${name} PRIVATE ${common})
  target_link_options(cluster-${name} PRIVATE -Wl,--version-script=${common}/exports.map)
  set_property(TARGET cluster-${name} APPEND PROPERTY LINK_DEPENDS ${common}/exports.map)
endfunction()
