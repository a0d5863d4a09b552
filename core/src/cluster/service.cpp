#include "cluster/service.hpp"

#include "cluster/cluster.hpp"
#include "cluster/query.hpp"
#include "cluster/tcl.hpp"
#include "cluster/impl.hpp"
#include "cluster/lifeline.hpp"
#include "queries/query_control.hpp"

namespace cluster {

Service::Service(std::shared_ptr<Lifeline> life, std::string sid, std::string hid)
    : life_(std::move(life)), sid_(std::move(sid)), hid_(std::move(hid)), uuid_(sid_ + "@" + hid_) {
  last_.sid = sid_;
  last_.hid = hid_;
  last_.uuid = uuid_;
}

void Service::remember(const ServiceInfo& info) {
  std::lock_guard<std::mutex> lock(last_mu_);
  last_ = info;
}

ServiceInfo Service::last() const {
  std::lock_guard<std::mutex> lock(last_mu_);
  return last_;
}

ServiceInfo Service::info() const {
  std::optional<ServiceInfo> now;
  life_->with([&](Cluster::Impl& im) {
    now = im.on_loop([&]() -> std::optional<ServiceInfo> {
      ServiceState* s = im.find(uuid());
      if (s == nullptr) return std::nullopt;
      // Cached on the loop thread, in order with remember() (at loss): a snapshot written
      // later from the caller's thread could overwrite the final state with an older one.
      std::lock_guard<std::mutex> lock(last_mu_);
      last_ = s->info;
      return s->info;
    });
  });
  if (!now) return last();
  return *now;
}

bool Service::alive() const {
  bool known = false;
  life_->with([&](Cluster::Impl& im) {
    known = im.on_loop([&] { return !im.left && im.find(uuid()) != nullptr; });
  });
  return known;
}

std::string Service::props() const {
  const ServiceInfo i = info();
  tcl::Dict top;
  for (const auto& [proto, d] : i.props) top.emplace_back(proto, tcl::format_dict(d));
  return tcl::format_dict(top);
}

sdk::Result Service::send(const std::string& data, std::uint64_t channel) {
  sdk::Result result = sdk::Result::failure("service " + uuid() + ": the cluster is gone (destroyed)");
  life_->with([&](Cluster::Impl& im) {
    result = im.on_loop([&] {
      if (im.left) return sdk::Result::failure("service " + uuid() + ": the cluster has left");
      ServiceState* s = im.find(uuid());
      if (s == nullptr) return sdk::Result::failure("service " + uuid() + " is gone");
      Payload p = im.base(PayloadType::event, channel);
      p.data = data;
      return im.send_soon(*s, std::move(p), SendFlags{});
    });
  });
  return result;
}

QueryPtr Service::query(const std::string& text, QueryOptions options) {
  options.query = text;
  QueryPtr q;
  life_->with([&](Cluster::Impl& im) {
    q = im.on_loop([&] {
      std::vector<ServiceState*> targets;
      if (ServiceState* s = im.find(uuid())) targets.push_back(s);
      return im.start_query(std::move(options), std::move(targets));
    });
  });
  if (q) return q;
  // The cluster is gone: the query ends at once, with this member's answer an error (as for a
  // member no protocol reaches), so callbacks and wait() see a finished query.
  q = QueryControl::make(options.id.empty() ? uuid() + "-gone" : options.id, options.query, options.channel,
                         options.collect, std::move(options.command), nullptr);
  QueryControl::expect(*q, uuid());
  QueryControl::fire(*q, QueryEvent::start);
  QueryControl::answer(*q, shared_from_this(), QueryAnswer{uuid(), true, "the cluster is gone (destroyed)"});
  QueryControl::finish(*q, false);
  return q;
}

}  // namespace cluster
