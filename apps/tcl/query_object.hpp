// A running query as a Tcl command (the seed's query object): created by `$cluster query` or
// `$service query`, it calls -command with {event query} for start, response, error, timeout and
// done, collects what the callback returned per service (-collect: `$query results`), and is
// deleted after done, as the seed's object destroys itself (without -command it stays until
// `$query destroy`: nobody has seen the answers yet).
#pragma once

#include <tcl.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cluster/query.hpp"
#include "tcl_util.hpp"

namespace cluster::tclbind {

class ClusterObject;

class QueryObject : public std::enable_shared_from_this<QueryObject> {
 public:
  /// Creates the command; `command` may be null (no callback: the answers are collected).
  static std::shared_ptr<QueryObject> create(ClusterObject& owner, Tcl_Obj* command, bool collect);
  const std::string& name() const noexcept { return name_; }
  /// The callback for QueryOptions::command.
  QueryCallback callback();
  void started(QueryPtr q) { query_ = std::move(q); }
  void orphan() noexcept { owner_ = nullptr; }
  /// Deletes the command.
  void remove();

 private:
  QueryObject(ClusterObject& owner, std::string name, Tcl_Obj* command, bool collect);
  static int command(ClientData data, Tcl_Interp* interp, int objc, Tcl_Obj* const objv[]);
  static void deleted(ClientData data);
  int call(Tcl_Interp* interp, int objc, Tcl_Obj* const objv[]);
  void on_event(QueryEvent e, Query& q);
  void dispatch(QueryEvent e, Query* q);
  const Query* view() const { return current_ != nullptr ? current_ : query_.get(); }

  ClusterObject* owner_;
  Tcl_Interp* interp_;
  std::string name_;
  ObjRef command_;
  bool collect_;
  bool closed_ = false;  ///< done was dispatched (or the callback broke out): ignore the rest
  QueryPtr query_;
  Query* current_ = nullptr;  ///< during a callback
  std::vector<std::pair<std::string, ObjRef>> results_;  ///< service command -> callback result
  Tcl_Command token_ = nullptr;
};

}  // namespace cluster::tclbind
