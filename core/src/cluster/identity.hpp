// Who we are: host id and service id (PROTOCOL.md section 5), and which addresses are ours.
#pragma once

#include <random>
#include <string>

namespace cluster::identity {

/// MAC address of eth0 in lowercase xx:xx:..., else of the first non-loopback interface (by
/// name), else 00:00:00:00:00:00.
std::string default_hid();
/// 8 random alphanumeric characters, as the reference.
std::string make_sid(std::mt19937_64& rng);

}  // namespace cluster::identity
