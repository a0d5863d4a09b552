include_guard(GLOBAL)
# Helpers shared by the SDK's and the core's install rules.

# cluster_pc_paths(<pc install dir>): sets, in the caller's scope,
#   CLUSTER_PC_PREFIX  "${pcfiledir}/../.." (the prefix, found from the .pc file's own place)
#   CLUSTER_PC_INCLUDEDIR / CLUSTER_PC_LIBDIR  "${prefix}/include" style values
# so the installed .pc files are relocatable (pkg-config expands ${pcfiledir}) and stay right
# after `cmake --install <build> --prefix <somewhere else>`. Absolute install dirs are used as
# they are.
function(cluster_pc_paths pcdir)
  if(IS_ABSOLUTE "${pcdir}")
    set(prefix "${CMAKE_INSTALL_PREFIX}")
  else()
    file(RELATIVE_PATH up "/prefix/${pcdir}" "/prefix")
    string(REGEX REPLACE "/$" "" up "${up}")
    set(prefix "\${pcfiledir}/${up}")
  endif()
  foreach(kind INCLUDEDIR LIBDIR)
    if(IS_ABSOLUTE "${CMAKE_INSTALL_${kind}}")
      set(CLUSTER_PC_${kind} "${CMAKE_INSTALL_${kind}}" PARENT_SCOPE)
    else()
      set(CLUSTER_PC_${kind} "\${prefix}/${CMAKE_INSTALL_${kind}}" PARENT_SCOPE)
    endif()
  endforeach()
  set(CLUSTER_PC_PREFIX "${prefix}" PARENT_SCOPE)
endfunction()
