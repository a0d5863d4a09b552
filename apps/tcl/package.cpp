// The package's entry point: `load libtclcluster.so Cluster` (pkgIndex.tcl does it) provides
// `cluster 2.0` with the ensemble `cluster join ?options?`.
#include "cluster_object.hpp"
#include "join.hpp"

namespace cluster::tclbind {
namespace {

int join_command(ClientData, Tcl_Interp* interp, int objc, Tcl_Obj* const objv[]) {
  return guard(interp, [&] {
    const NodeConfig node = parse_join(interp, objc, objv, 1);
    ClusterObject* o = ClusterObject::create(interp, node);
    Tcl_SetObjResult(interp, str(o->name()));
    return TCL_OK;
  });
}

}  // namespace
}  // namespace cluster::tclbind

extern "C" {

// Tcl looks the initialiser up by the name given to `load` (Cluster_Init, Cluster_SafeInit).
__attribute__((visibility("default"))) int Cluster_Init(Tcl_Interp* interp);

int Cluster_Init(Tcl_Interp* interp) {
  if (Tcl_InitStubs(interp, "8.6", 0) == nullptr) return TCL_ERROR;
  if (Tcl_FindNamespace(interp, "::cluster", nullptr, 0) == nullptr &&
      Tcl_CreateNamespace(interp, "::cluster", nullptr, nullptr) == nullptr)
    return TCL_ERROR;
  Tcl_CreateObjCommand(interp, "::cluster::join", cluster::tclbind::join_command, nullptr, nullptr);
  if (Tcl_Eval(interp, "namespace eval ::cluster { namespace export join; namespace ensemble create }") != TCL_OK)
    return TCL_ERROR;
  return Tcl_PkgProvide(interp, "cluster", CLUSTER_TCL_VERSION);
}

}  // extern "C"
