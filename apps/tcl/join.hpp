// `cluster join ?options?`: the seed's options (or -config FILE) turned into a NodeConfig, and a
// join from it onto a loop the caller runs (Cluster::join(NodeConfig) would run its own thread,
// and hooks must run on the interpreter's thread).
#pragma once

#include <tcl.h>

#include <functional>
#include <memory>

#include "cluster/cluster.hpp"

namespace cluster::tclbind {

/// Parses objv[from..]. Without -config the node loads the plugin of each protocol (c
/// udp-multicast, t tcp, u unix, d udp, s tls) and -<proto> {key value ...} becomes that plugin's
/// ini section; with -config FILE the file says everything and the other options override its
/// [cluster] values. Throws TclError (CLUSTER ARGS ...) or ConfigError.
NodeConfig parse_join(Tcl_Interp* interp, int objc, Tcl_Obj* const objv[], int from);

/// Loads the node's plugins into `plugins`, then joins on `loop` with the node's hook sets
/// attached before the first packet (then `prepare`). Throws ConfigError / PluginError /
/// std::runtime_error, as Cluster::join(NodeConfig) does.
std::unique_ptr<Cluster> join_on_loop(const NodeConfig& node, const std::shared_ptr<PluginManager>& plugins,
                                      EventLoop& loop, const std::function<void(Cluster&)>& prepare);

}  // namespace cluster::tclbind
