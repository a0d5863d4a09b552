// Everything a plugin author includes.
#pragma once

#include "cluster/payload.hpp"
#include "cluster/sdk/boundary.hpp"
#include "cluster/sdk/config.hpp"
#include "cluster/sdk/event_loop.hpp"
#include "cluster/sdk/hooks.hpp"
#include "cluster/sdk/plugin.hpp"
#include "cluster/sdk/protocol.hpp"
#include "cluster/sdk/result.hpp"
#include "cluster/sdk/sealer.hpp"
#include "cluster/sdk/service_info.hpp"
#include "cluster/sdk/text.hpp"
#include "cluster/sdk/timers.hpp"
