// The generated cluster.proto classes (cluster::proto::Payload), exported from libcluster.
// Include this, never cluster.pb.h directly: the generated header uses CLUSTER_API without
// defining it.
#pragma once

#include "cluster/export.hpp"
#include "cluster/cluster.pb.h"  // IWYU pragma: export
