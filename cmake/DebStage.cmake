# CPack pre-build script (cmake/Packaging.cmake): turns the staged tree, installed under /usr,
# into the Debian layout before the .deb is made.
set(root "${CPACK_TEMPORARY_INSTALL_DIRECTORY}")
set(usr "${root}/usr")
set(doc "${usr}/${CPACK_CLUSTER_DOCDIR}")
if(NOT EXISTS "${usr}/bin/clusterd")
  message(FATAL_ERROR "DebStage: no ${usr}/bin/clusterd: unexpected staging layout")
endif()

# Configuration lives in /etc, not /usr/etc (GNUInstallDirs' rule for prefix /usr).
if(EXISTS "${usr}/${CPACK_CLUSTER_SYSCONFDIR}/cluster")
  file(MAKE_DIRECTORY "${root}/etc")
  file(RENAME "${usr}/${CPACK_CLUSTER_SYSCONFDIR}/cluster" "${root}/etc/cluster")
  file(REMOVE_RECURSE "${usr}/${CPACK_CLUSTER_SYSCONFDIR}")
endif()

# bookworm's systemd reads packaged units from /lib/systemd/system. The /usr/local sample in
# the docs would only mislead here.
file(COPY "${CPACK_CLUSTER_UNIT}" DESTINATION "${root}/lib/systemd/system"
  FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
file(REMOVE "${doc}/clusterd.service")

file(COPY "${CPACK_CLUSTER_COPYRIGHT}" DESTINATION "${doc}"
  FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
execute_process(COMMAND gzip -9nc "${CPACK_CLUSTER_CHANGELOG}"
  OUTPUT_FILE "${doc}/changelog.Debian.gz" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "DebStage: gzip of the changelog failed (${rc})")
endif()
