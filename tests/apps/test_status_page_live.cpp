// The status page's live updates (SSE): one page stays open in headless chromium while a member
// joins and leaves. Inside a private network namespace, like the Processes suite (ctest runs it
// through tests/plugins/netns-run).
#include <unistd.h>

#include <csignal>

#include "daemon_fixture.hpp"
#include "devtools_page.hpp"
#include "netns.hpp"

using namespace clusterapp::test;
using namespace std::chrono_literals;

namespace {

class StatusPageLive : public DaemonFixture {
 protected:
  void SetUp() override {
    if (!test_support::in_loopback_only_netns()) GTEST_SKIP() << "needs a private network namespace: run through tests/plugins/netns-run";
    DaemonFixture::SetUp();
  }
};

}  // namespace

// The page is loaded once, before the member exists: its row, then its absence and a "lost"
// event can only come from the stream. A mark left on the page proves it was never reloaded.
TEST_F(StatusPageLive, AnOpenPageFollowsAJoinAndALeave) {
  const char* chromium = "/usr/bin/chromium";
  if (::access(chromium, X_OK) != 0) GTEST_SKIP() << "chromium is not installed (scripts/setup-deps installs it)";
  const int web_port = 19800 + static_cast<int>(::getpid() % 50) * 4;
  const std::string url = "http://127.0.0.1:" + std::to_string(web_port) + "/";
  auto pw = daemon(node("web", "web", "[http]\nlisten = 127.0.0.1:" + std::to_string(web_port) + "\n"));
  ASSERT_FALSE(ready(sock("web")).empty()) << pw->err();

  DevtoolsPage page(chromium, url, dir.path());
  const auto dom = [&] { return page.evaluate("document.body.outerHTML"); };  // for failure messages
  ASSERT_EQ(page.evaluate("String(document.querySelectorAll('#members tr').length)"), "0") << dom();
  page.evaluate("window.neverReloaded = 'yes'");

  auto pj = daemon(node("joiner", "joiner"));
  const std::string uj = ready(sock("joiner"));
  ASSERT_FALSE(uj.empty()) << pj->err();
  const std::string row = "document.querySelector('#members tr[data-uuid=\"" + uj + "\"]') !== null";
  const std::string found = "document.querySelector('#events li.discovered[data-uuid=\"" + uj + "\"]') !== null";
  const std::string lost = "document.querySelector('#events li.lost[data-uuid=\"" + uj + "\"]')?.textContent ?? ''";
  EXPECT_TRUE(eventually([&] { return page.evaluate(row) == "true"; })) << dom();
  EXPECT_EQ(page.evaluate(found), "true") << dom();

  pj->signal(SIGTERM);  // a graceful leave
  ASSERT_EQ(pj->wait(5000ms), 0) << pj->err();
  EXPECT_TRUE(eventually([&] { return page.evaluate(row) == "false"; })) << dom();
  EXPECT_TRUE(eventually([&] { return page.evaluate(lost).find("lost " + uj + " (left)") != std::string::npos; }))
      << dom();
  EXPECT_EQ(page.evaluate("window.neverReloaded"), "yes");
}
