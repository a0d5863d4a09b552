# The Debian package (docs/debian-package.md): `cmake --build <tree> --target package` makes
# cluster_<version>-1_<arch>.deb from any build tree. Everything goes under /usr, whatever
# CMAKE_INSTALL_PREFIX is; cmake/DebStage.cmake moves what must live elsewhere (/etc/cluster,
# the systemd unit) and adds Debian's copyright and changelog.
set(CLUSTER_DEB_DIR ${PROJECT_SOURCE_DIR}/packaging/deb)
set(CLUSTER_DEB_OUT ${PROJECT_BINARY_DIR}/packaging)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME cluster)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
if(NOT CPACK_PACKAGE_CONTACT)
  set(CPACK_PACKAGE_CONTACT "cluster maintainers <maintainers@users.noreply.r-seed-00243b80.example>")
endif()
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "membership and messaging runtime: clusterd, clusterctl, plugins, SDK")
set(CPACK_PACKAGE_DESCRIPTION "cluster finds the members of a cluster and carries their messages.
This package holds the daemon clusterd and its systemd unit, the command-line
client clusterctl, the shared library libcluster, the transport, discovery,
hook and sealer plugins, the plugin SDK (headers, CMake packages, pkg-config
files) and sample configurations in /etc/cluster.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)  # a Debian revision: the package is not Debian-native
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)      # Depends from the binaries (dpkg-shlibdeps)
set(CPACK_DEBIAN_PACKAGE_DEPENDS adduser)  # postinst; the shlibdeps are appended
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)  # libcluster is a public library
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# The Tcl binding is in the package when the tree built it (tcl-dev present): it needs a tclsh
# to be of use, nothing else does.
if(TARGET cluster-tcl)
  set(CPACK_DEBIAN_PACKAGE_SUGGESTS tcl8.6)
  string(APPEND CPACK_PACKAGE_DESCRIPTION "\nThe Tcl 8.6 binding (package require cluster 2.0) is in /usr/lib/tcltk.")
endif()

# conffiles: every sample in /etc/cluster, so upgrades keep the admin's edits.
set(conffiles "")
foreach(ini IN LISTS CLUSTER_CONF_SAMPLES)
  get_filename_component(name ${ini} NAME)
  string(APPEND conffiles "/etc/cluster/${name}\n")
endforeach()
file(CONFIGURE OUTPUT ${CLUSTER_DEB_OUT}/conffiles CONTENT "${conffiles}")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${CLUSTER_DEB_DIR}/postinst ${CLUSTER_DEB_DIR}/prerm ${CLUSTER_DEB_DIR}/postrm
  ${CLUSTER_DEB_DIR}/triggers ${CLUSTER_DEB_OUT}/conffiles)

# The unit as packaged: conf/clusterd.service (written for /usr/local) with the package's paths,
# run as the cluster user.
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/conf/clusterd.service)
file(READ ${PROJECT_SOURCE_DIR}/conf/clusterd.service unit)
string(REGEX REPLACE "^(#[^\n]*\n)+" "# clusterd as installed by the cluster package (/usr/share/doc/cluster/debian-package.md).\n" unit "${unit}")
string(REPLACE "/usr/local/etc/" "/etc/" unit "${unit}")
string(REPLACE "/usr/local/" "/usr/" unit "${unit}")
string(REPLACE "[Service]\n" "[Service]\nUser=cluster\nGroup=cluster\n" unit "${unit}")
if(unit MATCHES "/usr/local" OR NOT unit MATCHES "User=cluster"
   OR NOT unit MATCHES "ExecStart=/usr/bin/clusterd --config /etc/cluster/cluster.ini")
  message(FATAL_ERROR "cmake/Packaging.cmake: conf/clusterd.service changed; update the packaged unit's rewrite")
endif()
file(CONFIGURE OUTPUT ${CLUSTER_DEB_OUT}/clusterd.service CONTENT "${unit}")

# changelog.Debian: one entry for this version (date from SOURCE_DATE_EPOCH when set).
set(CLUSTER_DEB_VERSION ${PROJECT_VERSION}-${CPACK_DEBIAN_PACKAGE_RELEASE})
string(TIMESTAMP CLUSTER_DEB_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
configure_file(${CLUSTER_DEB_DIR}/changelog.in ${CLUSTER_DEB_OUT}/changelog @ONLY)

# For cmake/DebStage.cmake (CPack passes on CPACK_* variables only).
set(CPACK_CLUSTER_UNIT ${CLUSTER_DEB_OUT}/clusterd.service)
set(CPACK_CLUSTER_COPYRIGHT ${CLUSTER_DEB_DIR}/copyright)
set(CPACK_CLUSTER_CHANGELOG ${CLUSTER_DEB_OUT}/changelog)
set(CPACK_CLUSTER_SYSCONFDIR ${CMAKE_INSTALL_SYSCONFDIR})
set(CPACK_CLUSTER_DOCDIR ${CMAKE_INSTALL_DOCDIR})
set(CPACK_PRE_BUILD_SCRIPTS ${CMAKE_CURRENT_LIST_DIR}/DebStage.cmake)

include(CPack)
