# cluster_add_plugin(NAME SOURCES... [LIBRARIES libs...])
# Builds one plugin the same way in-tree and out-of-tree: a MODULE library named
# cluster-NAME.so, hidden visibility and a version script (only the entry symbol is exported,
# not even weak std:: template instantiations), no STB_GNU_UNIQUE
# symbols (which would pin the library in memory forever), linked against the header-only SDK.
function(cluster_add_plugin name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES" ${ARGN})
  set(sources ${ARG_SOURCES} ${ARG_UNPARSED_ARGUMENTS})
  set(target cluster-${name})
  set(map ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/cluster-plugin.map)
  add_library(${target} MODULE ${sources})
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME cluster-${name}
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    POSITION_INDEPENDENT_CODE ON)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -fno-gnu-unique)
  endif()
  target_compile_features(${target} PRIVATE cxx_std_17)
  target_link_options(${target} PRIVATE -Wl,--no-undefined
    -Wl,--version-script=${map})
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS ${map})
  if(TARGET cluster::plugin_sdk)
    target_link_libraries(${target} PRIVATE cluster::plugin_sdk ${ARG_LIBRARIES})
  else()
    target_link_libraries(${target} PRIVATE ClusterPluginSDK::plugin_sdk ${ARG_LIBRARIES})
  endif()
  if(CLUSTER_PLUGIN_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${CLUSTER_PLUGIN_OUTPUT_DIR})
  endif()
  if(CLUSTER_PLUGIN_INSTALL_DIR)
    install(TARGETS ${target} LIBRARY DESTINATION ${CLUSTER_PLUGIN_INSTALL_DIR})
  endif()
endfunction()
