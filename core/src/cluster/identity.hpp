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
/// Whether `ip` is an address of this host (loopback included). Cached, refreshed on a miss at
/// most once per second.
bool is_local_address(const std::string& ip);

}  // namespace cluster::identity
