// The inspect server (RunOptions::inspect, architecture.md §18), end to end: a child process
// (weft_inspect_child) with 10,000 waiting tasks (4,000 under TSan, which counts fibers as
// threads), read by tools/weft as a user would.
#include <gtest/gtest.h>
#include <weft/weft.hpp>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../support/test_support.hpp"

namespace {

// TSan counts each fiber as a thread and stops at 8128: fewer tasks there.
constexpr int kTasks = weft_test_support::kTsan ? 4000 : 10000;

// A running weft_inspect_child: its stdin is our pipe, so it ends when we close it.
class Child {
 public:
  explicit Child(int tasks) {
    int in[2];
    int out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) std::abort();
    // posix_spawn, not fork: no atfork handlers run (weft's take every pool lock, which TSan's
    // deadlock detector cannot follow), and nothing of this process is copied.
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    const std::string n = std::to_string(tasks);
    char* argv[] = {const_cast<char*>(WEFT_INSPECT_CHILD), const_cast<char*>(n.c_str()),
                    const_cast<char*>("2"), nullptr};
    if (posix_spawn(&pid_, WEFT_INSPECT_CHILD, &actions, nullptr, argv, environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    close(in[0]);
    close(out[1]);
    stdin_ = in[1];
    FILE* from = fdopen(out[0], "r");
    char line[4096];
    if (from && std::fgets(line, sizeof line, from)) {
      std::string text(line);
      if (text.rfind("ready ", 0) == 0) path_ = text.substr(6, text.find('\n') - 6);
    }
    if (from) std::fclose(from);
  }
  ~Child() {
    close(stdin_);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  pid_t pid() const { return pid_; }
  const std::string& path() const { return path_; }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1;
  std::string path_;
};

struct ToolResult {
  int status;
  std::string output;
};

// `python3 tools/weft ARGS`, standard output and error together.
ToolResult run_tool(const std::string& args) {
  const std::string command =
      std::string("python3 ") + WEFT_SOURCE_DIR + "/tools/weft " + args + " 2>&1";
  ToolResult result{-1, {}};
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return result;
  std::array<char, 65536> buf;
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) result.output.append(buf.data(), n);
  int status = pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

int connect_to(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    const int error = errno;
    close(fd);
    errno = error;
    return -1;
  }
  return fd;
}

std::string read_all(int fd) {
  std::string text;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
  return text;
}

// One exchange on a fresh connection: `request` sent as it is, the whole reply back.
std::string ask_server(const std::string& path, const std::string& request) {
  int fd = connect_to(path);
  if (fd < 0) return "connect: " + std::string(std::strerror(errno));
  if (!request.empty() && write(fd, request.data(), request.size()) < 0) return "write failed";
  std::string reply = read_all(fd);
  close(fd);
  return reply;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class InspectProcess : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { child_ = new Child(kTasks); }
  static void TearDownTestSuite() {
    delete child_;
    child_ = nullptr;
  }
  void SetUp() override { ASSERT_FALSE(child_->path().empty()) << "the child did not start"; }
  static Child* child_;
};
Child* InspectProcess::child_ = nullptr;

TEST_F(InspectProcess, PsListsEveryOneOfTenThousandTasksWithItsNameAndState) {
  ToolResult ps = run_tool("ps " + std::to_string(child_->pid()));
  ASSERT_EQ(ps.status, 0) << ps.output.substr(0, 2000);
  auto lines = lines_of(ps.output);
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines[0].find("NAME"), std::string::npos);
  EXPECT_NE(lines[0].find("WAITS AT"), std::string::npos);
  EXPECT_NE(lines[0].find("CPU"), std::string::npos);
  const std::regex sleeper_row(R"(^0x[0-9a-f]+\s+sleeper-(\d+)\s+waiting\s+.*sleeper.*)");
  std::vector<bool> seen(kTasks, false);
  int rows = 0;
  for (const auto& line : lines) {
    std::smatch m;
    if (!std::regex_match(line, m, sleeper_row)) continue;
    const int i = std::stoi(m[1]);
    ASSERT_LT(i, kTasks);
    EXPECT_FALSE(seen[static_cast<std::size_t>(i)]) << "listed twice: " << line;
    seen[static_cast<std::size_t>(i)] = true;
    ++rows;
  }
  EXPECT_EQ(rows, kTasks) << lines[0] << "\n" << (lines.size() > 1 ? lines[1] : "");
  // The main task, the gatherer and its three leaves are there too.
  EXPECT_NE(ps.output.find(" gatherer "), std::string::npos);
  EXPECT_NE(ps.output.find(" leaf-2 "), std::string::npos);
}

TEST_F(InspectProcess, PstreeShowsTheGatherUnderItsTaskAndTheLeavesUnderIt) {
  ToolResult tree = run_tool("pstree " + std::to_string(child_->pid()));
  ASSERT_EQ(tree.status, 0) << tree.output.substr(0, 2000);
  auto lines = lines_of(tree.output);
  std::size_t gatherer = lines.size();
  int gatherer_indent = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    auto at = lines[i].find("(T) gatherer");
    if (at != std::string::npos) {
      gatherer = i;
      gatherer_indent = static_cast<int>(at);
    }
  }
  ASSERT_LT(gatherer, lines.size()) << tree.output.substr(0, 2000);
  // Its own frame, then the three leaves, deeper, before the next task at its level or above.
  int leaves = 0;
  bool frame = false;
  for (std::size_t i = gatherer + 1; i < lines.size(); ++i) {
    auto task = lines[i].find("(T) ");
    if (task != std::string::npos && static_cast<int>(task) <= gatherer_indent) break;
    if (lines[i].find("gatherer ") != std::string::npos && task == std::string::npos) frame = true;
    if (lines[i].find("(T) leaf-") != std::string::npos) ++leaves;
  }
  EXPECT_TRUE(frame) << "the gatherer's coroutine frame is shown";
  EXPECT_EQ(leaves, 3) << tree.output.substr(tree.output.find("gatherer") - 200, 800);
}

TEST_F(InspectProcess, MetricsAreValidPrometheusTextWithTheKnownFigures) {
  ToolResult metrics = run_tool("metrics " + std::to_string(child_->pid()));
  ASSERT_EQ(metrics.status, 0) << metrics.output;
  const std::regex sample(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_]+="[^"]*"\})? (\S+)$)");
  const std::regex comment(R"(^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$)");
  std::map<std::string, double> values;
  std::map<std::string, std::string> types;
  for (const auto& line : lines_of(metrics.output)) {
    std::smatch m;
    if (std::regex_match(line, m, comment)) {
      if (m[1] == "TYPE") {
        std::istringstream in(line);
        std::string hash, type_word, name, type;
        in >> hash >> type_word >> name >> type;
        types[name] = type;
      }
      continue;
    }
    ASSERT_TRUE(std::regex_match(line, m, sample)) << "not Prometheus text: " << line;
    ASSERT_TRUE(types.count(m[1])) << "no TYPE before " << line;
    values[std::string(m[1]) + std::string(m[2])] = std::stod(m[3]);
  }
  EXPECT_EQ(values["weft_workers"], 2);
  EXPECT_EQ(values["weft_alive_tasks"], kTasks + 1 + 1 + 3);  // sleepers, main, gatherer, leaves
  EXPECT_EQ(types["weft_worker_steps_total"], "counter");
  EXPECT_GT(values["weft_worker_steps_total{worker=\"0\"}"] +
                values["weft_worker_steps_total{worker=\"1\"}"],
            kTasks);
}

TEST_F(InspectProcess, TopOnceShowsTheMetricsAndTheTasks) {
  ToolResult top = run_tool("top --once " + std::to_string(child_->pid()));
  ASSERT_EQ(top.status, 0) << top.output;
  EXPECT_NE(top.output.find(std::to_string(kTasks + 5) + " tasks alive"), std::string::npos)
      << top.output;
  EXPECT_NE(top.output.find("sleeper-"), std::string::npos) << top.output;
}

TEST_F(InspectProcess, AMalformedRequestGetsAnErrorAndTheServerGoesOn) {
  EXPECT_EQ(ask_server(child_->path(), "bogus\n").rfind("error: unknown request 'bogus'", 0), 0u);
  EXPECT_EQ(ask_server(child_->path(), std::string(5000, 'x')).rfind("error: request longer", 0),
            0u);
  EXPECT_EQ(ask_server(child_->path(), "\x01\xff\n").rfind("error: unknown request", 0), 0u);
  // A client that sends nothing is let go after a while, with a reason.
  EXPECT_EQ(ask_server(child_->path(), "").rfind("error: no request within", 0), 0u);
  const std::string ps = ask_server(child_->path(), "ps\n");
  EXPECT_EQ(ps.rfind("{\"pid\":" + std::to_string(child_->pid()), 0), 0u) << ps.substr(0, 200);
  ToolResult again = run_tool("ps " + std::to_string(child_->pid()));
  EXPECT_EQ(again.status, 0);
}

TEST_F(InspectProcess, AnotherUserCannotConnect) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root, to become another user (nobody, 65534)";
  const std::string path = child_->path();
  const std::string dir = path.substr(0, path.rfind('/'));
  struct stat st {};
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  // As nobody (weft_inspect_child --connect-as, spawned: this process does not fork): 0 if the
  // connection was refused as it should be, 1 if it got in, 2 on a failure. `open_up`: the
  // directory and socket are opened to all first, so the server's own check of the peer
  // (SO_PEERCRED) is what refuses.
  auto as_nobody = [&path](bool open_up) {
    const std::string mode = open_up ? "server" : "directory";
    char* argv[] = {const_cast<char*>(WEFT_INSPECT_CHILD),
                    const_cast<char*>("--connect-as"),
                    const_cast<char*>("65534"),
                    const_cast<char*>(path.c_str()),
                    const_cast<char*>(mode.c_str()),
                    nullptr};
    pid_t pid = -1;
    if (posix_spawn(&pid, WEFT_INSPECT_CHILD, nullptr, nullptr, argv, environ) != 0) return 4;
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 3;
  };
  EXPECT_EQ(as_nobody(false), 0) << "the 0700 directory keeps others out";
  ASSERT_EQ(chmod(dir.c_str(), 0711), 0);
  ASSERT_EQ(chmod(path.c_str(), 0666), 0);
  EXPECT_EQ(as_nobody(true), 0) << "the server refuses another uid";
  chmod(path.c_str(), 0600);
  chmod(dir.c_str(), 0700);
  EXPECT_EQ(ask_server(path, "metrics\n").rfind("# HELP", 0), 0u) << "and still serves us";
}

// In this process: the socket's mode, its end, and no socket without inspect.
TEST(Inspect, TheSocketIsOwnerOnlyAndRemovedAtShutdown) {
  weft::Runtime rt({.workers = 1, .inspect = true});
  const std::string path = rt.inspect_path();
  ASSERT_FALSE(path.empty());
  EXPECT_NE(path.find("/" + std::to_string(getpid()) + ".sock"), std::string::npos) << path;
  struct stat st {};
  ASSERT_EQ(lstat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_uid, geteuid());
  rt.shutdown();
  EXPECT_NE(lstat(path.c_str(), &st), 0) << "removed at shutdown";
  EXPECT_EQ(rt.inspect_path(), "");
}

TEST(Inspect, OffMeansNoSocketAndTheToolSaysHowToTurnItOn) {
  ASSERT_EQ(std::getenv("WEFT_INSPECT"), nullptr) << "the test needs WEFT_INSPECT unset";
  weft::Runtime rt({.workers = 1});
  EXPECT_EQ(rt.inspect_path(), "");
  ToolResult ps = run_tool("ps " + std::to_string(getpid()));
  EXPECT_EQ(ps.status, 1);
  EXPECT_NE(
      ps.output.find("no weft runtime with inspect on in process " + std::to_string(getpid()) +
                     ": start it with RunOptions::inspect or "
                     "WEFT_INSPECT=1"),
      std::string::npos)
      << ps.output;
}

TEST(Inspect, TheToolReadsATaskThatIsRunningAndItsOwnProcess) {
  // The server answers while the only worker is busy in a step: it is a thread of its own.
  std::atomic<bool> stop{false};
  std::atomic<bool> spinning{false};
  weft::Runtime rt({.workers = 1, .inspect = true});
  auto done = weft::run_coroutine_threadsafe(weft::coro([&] {
                                               spinning = true;
                                               while (!stop.load()) {
                                               }
                                             }),
                                             rt);
  while (!spinning.load()) usleep(1000);
  ToolResult ps = run_tool("ps " + std::to_string(getpid()));
  stop = true;
  done.result();
  ASSERT_EQ(ps.status, 0) << ps.output;
  EXPECT_NE(ps.output.find(" running "), std::string::npos) << ps.output;
}

TEST(Inspect, ADirectoryOfAnotherUserIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root, to give a directory to another user";
  char base[] = "/tmp/weft-inspect-test-XXXXXX";
  ASSERT_NE(mkdtemp(base), nullptr);
  const std::string dir = std::string(base) + "/weft";
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(chown(dir.c_str(), 65534, 65534), 0);
  std::vector<weft::Warning> warnings;
  auto previous =
      weft::set_warning_handler([&warnings](const weft::Warning& w) { warnings.push_back(w); });
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  const std::string saved = xdg ? xdg : "";
  ::setenv("XDG_RUNTIME_DIR", base, 1);
  {
    weft::Runtime rt({.workers = 1, .inspect = true});
    EXPECT_EQ(rt.inspect_path(), "");
  }
  if (xdg) {
    ::setenv("XDG_RUNTIME_DIR", saved.c_str(), 1);
  } else {
    ::unsetenv("XDG_RUNTIME_DIR");
  }
  weft::set_warning_handler(previous);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].message.find("belongs to another user"), std::string::npos)
      << warnings[0].message;
  rmdir(dir.c_str());
  rmdir(base);
}

}  // namespace

namespace {

TEST(Inspect, WeftInspectInTheEnvironmentTurnsItOn) {
  ASSERT_EQ(std::getenv("WEFT_INSPECT"), nullptr) << "the test needs WEFT_INSPECT unset";
  ::setenv("WEFT_INSPECT", "1", 1);
  weft::Runtime on({.workers = 1});
  ::setenv("WEFT_INSPECT", "0", 1);
  weft::Runtime off({.workers = 1});
  ::unsetenv("WEFT_INSPECT");
  EXPECT_NE(on.inspect_path(), "");
  EXPECT_EQ(off.inspect_path(), "");
}

TEST(Inspect, OneRuntimePerProcessServesAndASecondIsToldSo) {
  std::vector<weft::Warning> warnings;
  auto previous =
      weft::set_warning_handler([&warnings](const weft::Warning& w) { warnings.push_back(w); });
  {
    weft::Runtime first({.workers = 1, .inspect = true});
    weft::Runtime second({.workers = 1, .inspect = true});
    EXPECT_NE(first.inspect_path(), "");
    EXPECT_EQ(second.inspect_path(), "");
  }
  weft::set_warning_handler(previous);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].message.find("another runtime in this process"), std::string::npos);
  // Both gone: the next one serves again.
  weft::Runtime third({.workers = 1, .inspect = true});
  EXPECT_NE(third.inspect_path(), "");
}

}  // namespace
