#include "cluster/service.hpp"

#include "cluster/cluster.hpp"
#include "cluster/query.hpp"
#include "cluster/tcl.hpp"
#include "impl.hpp"

namespace cluster {

Service::Service(Cluster& cluster, std::string sid, std::string hid)
    : cluster_(&cluster), sid_(std::move(sid)), hid_(std::move(hid)) {}

ServiceInfo Service::info() const {
  auto& im = cluster_->impl();
  return im.on_loop([&] {
    ServiceState* s = im.find(sid_ + "@" + hid_);
    if (s != nullptr) return s->info;
    ServiceInfo gone;
    gone.sid = sid_;
    gone.hid = hid_;
    gone.uuid = uuid();
    return gone;
  });
}

bool Service::alive() const {
  auto& im = cluster_->impl();
  return im.on_loop([&] { return im.find(sid_ + "@" + hid_) != nullptr; });
}

std::string Service::props() const {
  const ServiceInfo i = info();
  tcl::Dict top;
  for (const auto& [proto, d] : i.props) top.emplace_back(proto, tcl::format_dict(d));
  return tcl::format_dict(top);
}

sdk::Result Service::send(const std::string& data, std::uint64_t channel) {
  auto& im = cluster_->impl();
  return im.on_loop([&] {
    ServiceState* s = im.find(sid_ + "@" + hid_);
    if (s == nullptr) return sdk::Result::failure("service " + uuid() + " is gone");
    Payload p = im.base(PayloadType::event, channel);
    p.data = data;
    return im.send_to(*s, p, SendFlags{});
  });
}

QueryPtr Service::query(const std::string& text, QueryOptions options) {
  auto& im = cluster_->impl();
  options.query = text;
  return im.on_loop([&] {
    std::vector<ServiceState*> targets;
    if (ServiceState* s = im.find(sid_ + "@" + hid_)) targets.push_back(s);
    return im.start_query(std::move(options), std::move(targets));
  });
}

}  // namespace cluster
