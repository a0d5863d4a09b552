// A payload as the Tcl dict the seed's hooks see ($payload: type channel hid sid ... data), and
// back: a hook that rewrites the dict rewrites the packet.
#pragma once

#include <tcl.h>

#include "cluster/payload.hpp"

namespace cluster::tclbind {

/// The present fields, named as in the wire format (PROTOCOL.md section 2), in field-id order.
Tcl_Obj* payload_to_dict(const Payload& p);
/// Replaces `p` with the fields of `dict`. Throws TclError (CLUSTER PAYLOAD) for an unknown key,
/// or a value of the wrong kind (integers for type/channel/known/timestamp, a boolean keepalive).
void payload_from_dict(Tcl_Interp* interp, Tcl_Obj* dict, Payload& p);

}  // namespace cluster::tclbind
