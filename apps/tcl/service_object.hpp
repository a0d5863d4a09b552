// A member as a Tcl command (the seed's $service): ::cluster::cluster<N>::services::<uuid>. It
// holds a ServicePtr, which outlives the member: once the member is lost the cluster deletes the
// command (as the seed destroys the object); a command kept after that, or after the cluster is
// gone, answers from the last state known and refuses send/query with a Tcl error.
#pragma once

#include <tcl.h>

#include <string>

#include "cluster/service.hpp"

namespace cluster::tclbind {

class ClusterObject;

class ServiceObject {
 public:
  /// Creates the command `name`; the command owns the object.
  static ServiceObject* create(ClusterObject& owner, std::string name, std::string uuid, ServicePtr ptr,
                               ServiceInfo snapshot);
  const std::string& name() const noexcept { return name_; }
  const std::string& uuid() const noexcept { return uuid_; }
  const ServicePtr& handle() const noexcept { return ptr_; }
  void attach(ServicePtr ptr) { ptr_ = std::move(ptr); }
  ServiceInfo info() const { return ptr_ ? ptr_->info() : snapshot_; }
  /// Deletes the command (and so the object).
  void remove();
  /// The cluster is going: no more calls into it.
  void orphan() noexcept { owner_ = nullptr; }

 private:
  ServiceObject(ClusterObject& owner, std::string name, std::string uuid, ServicePtr ptr, ServiceInfo snapshot);
  static int command(ClientData data, Tcl_Interp* interp, int objc, Tcl_Obj* const objv[]);
  static void deleted(ClientData data);
  int call(Tcl_Interp* interp, int objc, Tcl_Obj* const objv[]);

  ClusterObject* owner_;
  Tcl_Interp* interp_;
  std::string name_, uuid_;
  ServicePtr ptr_;
  ServiceInfo snapshot_;
  Tcl_Command token_ = nullptr;
};

}  // namespace cluster::tclbind
