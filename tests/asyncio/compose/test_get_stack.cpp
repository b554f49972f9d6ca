// Task::get_stack / print_stack: a suspended task has one frame -- this file, the line of its
// await or sleep, the function around it; a task not started yet, the place its coroutine was
// defined; a failed task, the frame it last left (C++ exceptions carry no traceback); a finished
// or cancelled task, none; limit <= 0 gives none. print_stack prints them as Python's traceback
// module does ("Stack for ...", "Traceback for ...", "No stack for ...").
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "compose_test_support.hpp"

namespace {

using weft_compose_test::deterministic;

// Where a lambda's body is: set from inside it (the same builtins weft's SourceLocation uses).
struct Site {
  unsigned line = 0;
  std::string function;
};

std::string frame_text(const weft::FrameSummary& f) {
  return f.filename + ":" + std::to_string(f.lineno) + " in " + f.name;
}
std::string site_text(const Site& s) {
  return std::string(__FILE__) + ":" + std::to_string(s.line) + " in " + s.function;
}

TEST(GetStack, ASuspendedTaskHasOneFrameAtTheLineOfItsSleep) {
  Site site;
  std::vector<weft::FrameSummary> frames;
  weft::run(
      [&] {
        auto t = weft::create_task([&] {
          site.function = __builtin_FUNCTION();
          site.line = __LINE__ + 1;
          weft::sleep(10.0);
        });
        weft::sleep(1.0);
        frames = t.get_stack();
        t.cancel();
      },
      deterministic());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frame_text(frames[0]), site_text(site));
}

TEST(GetStack, ATaskAwaitingAnotherHasTheLineOfItsAwait) {
  Site site;
  std::vector<weft::FrameSummary> frames;
  weft::run(
      [&] {
        auto other = weft::create_task([] { weft::sleep(10.0); });
        auto t = weft::create_task([&, other] {
          site.function = __builtin_FUNCTION();
          site.line = __LINE__ + 1;
          weft::await(other);
        });
        weft::sleep(1.0);
        frames = weft::TaskRef(t.state()).get_stack();  // through the type-erased view too
        other.cancel();
      },
      deterministic());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frame_text(frames[0]), site_text(site));
}

TEST(GetStack, ATaskAwaitingAFutureHasTheLineOfItsAwait) {
  Site site;
  std::vector<weft::FrameSummary> frames;
  weft::run(
      [&] {
        weft::Future<int> f;
        auto t = weft::create_task([&, f] {
          site.function = __builtin_FUNCTION();
          site.line = __LINE__ + 1;
          return weft::await(f);
        });
        weft::sleep(0);
        frames = t.get_stack();
        f.set_result(1);
        weft::await(t);
      },
      deterministic());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frame_text(frames[0]), site_text(site));
}

TEST(GetStack, ATaskInWaitForHasTheLineOfTheCall) {
  Site site;
  std::vector<weft::FrameSummary> frames;
  weft::run(
      [&] {
        auto other = weft::create_task([] { weft::sleep(10.0); });
        auto t = weft::create_task([&, other] {
          site.function = __builtin_FUNCTION();
          site.line = __LINE__ + 1;
          weft::wait_for(other, 100.0);
        });
        weft::sleep(1.0);
        frames = t.get_stack();
        other.cancel();
      },
      deterministic());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frame_text(frames[0]), site_text(site));
}

TEST(GetStack, ATaskInWaitHasTheLineOfTheCall) {
  Site site;
  std::vector<weft::FrameSummary> frames;
  weft::run(
      [&] {
        auto other = weft::create_task([] { weft::sleep(10.0); });
        auto t = weft::create_task([&, other] {
          site.function = __builtin_FUNCTION();
          site.line = __LINE__ + 1;
          weft::wait(std::vector{other});
        });
        weft::sleep(1.0);
        frames = t.get_stack();
        other.cancel();
      },
      deterministic());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frame_text(frames[0]), site_text(site));
}

TEST(GetStack, ATaskWaitingAtTheEndOfATaskGroupHasTheLineOfTheScope) {
  Site site;
  std::vector<weft::FrameSummary> frames;
  weft::run(
      [&] {
        auto t = weft::create_task([&] {
          site.function = __builtin_FUNCTION();
          site.line = __LINE__ + 1;
          weft::task_group([](weft::TaskGroup& tg) {
            tg.create_task([] { weft::sleep(10.0); });
            weft::sleep(0.5);  // the body's last await: no longer where the task waits
          });
        });
        weft::sleep(1.0);
        frames = t.get_stack();
        t.cancel();
      },
      deterministic());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frame_text(frames[0]), site_text(site));
}

inline const weft::CoroutineFunction not_started{"not_started", [] { weft::sleep(1.0); }};
constexpr unsigned kNotStartedLine = __LINE__ - 1;

TEST(GetStack, ATaskNotStartedYetHasTheFrameWhereItsCoroutineFunctionIsDefined) {
  std::vector<weft::FrameSummary> frames;
  weft::run(
      [&] {
        auto t = weft::create_task(not_started());
        frames = t.get_stack();  // before its first step
        weft::await(t);
      },
      deterministic());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].filename, __FILE__);
  EXPECT_EQ(frames[0].lineno, kNotStartedLine);
}

TEST(GetStack, AFailedTaskHasTheFrameItLastLeft) {
  Site site;
  std::vector<weft::FrameSummary> frames;
  weft::run(
      [&] {
        auto t = weft::create_task([&] {
          site.function = __builtin_FUNCTION();
          site.line = __LINE__ + 1;
          weft::sleep(1.0);
          throw weft::ValueError("boom");
        });
        try {
          weft::await(t);
        } catch (const weft::ValueError&) {
        }
        frames = t.get_stack();
      },
      deterministic());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frame_text(frames[0]), site_text(site));
}

TEST(GetStack, AFinishedTaskHasNoStack) {
  std::size_t frames = 99;
  weft::run(
      [&] {
        auto t = weft::create_task([] {
          weft::sleep(1.0);
          return 1;
        });
        weft::await(t);
        frames = t.get_stack().size();
      },
      deterministic());
  EXPECT_EQ(frames, 0u);
}

TEST(GetStack, ACancelledTaskHasNoStack) {
  std::size_t frames = 99;
  weft::run(
      [&] {
        auto t = weft::create_task([] { weft::sleep(10.0); });
        weft::sleep(1.0);
        t.cancel();
        try {
          weft::await(t);
        } catch (const weft::CancelledError&) {
        }
        frames = t.get_stack().size();
      },
      deterministic());
  EXPECT_EQ(frames, 0u);
}

TEST(GetStack, ALimitOfZeroOrLessGivesNoFrames) {
  std::vector<std::size_t> sizes;
  weft::run(
      [&] {
        auto t = weft::create_task([] { weft::sleep(10.0); });
        weft::sleep(1.0);
        for (int limit : {0, -1, 1, 5}) sizes.push_back(t.get_stack(limit).size());
        t.cancel();
      },
      deterministic());
  EXPECT_EQ(sizes, (std::vector<std::size_t>{0, 0, 1, 1}));
}

TEST(PrintStack, ASuspendedTaskPrintsStackForItsFrameAndSourceLine) {
  Site site;
  std::string printed, repr;
  weft::run(
      [&] {
        auto t = weft::create_task(
            [&] {
              site.function = __builtin_FUNCTION();
              site.line = __LINE__ + 1;
              weft::sleep(10.0);  // print_stack shows this line
            },
            "sleeper");
        weft::sleep(1.0);
        std::ostringstream out;
        t.print_stack(std::nullopt, &out);
        printed = out.str();
        repr = t.repr();
        t.cancel();
      },
      deterministic());
  EXPECT_EQ(repr.rfind("<Task pending name='sleeper' ", 0), 0u) << repr;
  EXPECT_EQ(printed, "Stack for " + repr + " (most recent call last):\n  File \"" + __FILE__ +
                         "\", line " + std::to_string(site.line) + ", in " + site.function +
                         "\n    weft::sleep(10.0);  // print_stack shows this line\n");
}

TEST(PrintStack, AFailedTaskPrintsTracebackForAndItsException) {
  Site site;
  std::string printed, repr;
  weft::run(
      [&] {
        auto t = weft::create_task(
            [&] {
              site.function = __builtin_FUNCTION();
              site.line = __LINE__ + 1;
              weft::sleep(1.0);  // the last suspension before the raise
              throw weft::ValueError("boom");
            },
            "failing");
        try {
          weft::await(t);
        } catch (const weft::ValueError&) {
        }
        std::ostringstream out;
        t.print_stack(std::nullopt, &out);
        printed = out.str();
        repr = t.repr();
      },
      deterministic());
  EXPECT_EQ(repr.rfind("<Task finished name='failing' ", 0), 0u) << repr;
  EXPECT_EQ(printed, "Traceback for " + repr + " (most recent call last):\n  File \"" + __FILE__ +
                         "\", line " + std::to_string(site.line) + ", in " + site.function +
                         "\n    weft::sleep(1.0);  // the last suspension before the raise\n" +
                         "weft::ValueError: boom\n");
}

TEST(PrintStack, AFinishedTaskPrintsNoStackFor) {
  std::string printed, repr;
  weft::run(
      [&] {
        auto t = weft::create_task([] { return 1; }, "quick");
        weft::await(t);
        std::ostringstream out;
        t.print_stack(std::nullopt, &out);
        printed = out.str();
        repr = t.repr();
      },
      deterministic());
  EXPECT_EQ(repr.rfind("<Task finished name='quick' ", 0), 0u) << repr;
  EXPECT_EQ(printed, "No stack for " + repr + "\n");
}

TEST(PrintStack, ALimitOfZeroPrintsNoStackFor) {
  std::string printed, repr;
  weft::run(
      [&] {
        auto t = weft::create_task([] { weft::sleep(10.0); }, "sleeper");
        weft::sleep(1.0);
        std::ostringstream out;
        t.print_stack(0, &out);
        printed = out.str();
        repr = t.repr();
        t.cancel();
      },
      deterministic());
  EXPECT_EQ(printed, "No stack for " + repr + "\n");
}

TEST(PrintStack, ItPrintsToStandardErrorByDefault) {
  std::string printed, repr;
  weft::run(
      [&] {
        auto t = weft::create_task([] { weft::sleep(10.0); }, "sleeper");
        weft::sleep(1.0);
        testing::internal::CaptureStderr();
        t.print_stack();
        printed = testing::internal::GetCapturedStderr();
        repr = t.repr();
        t.cancel();
      },
      deterministic());
  EXPECT_EQ(printed.rfind("Stack for " + repr + " (most recent call last):\n", 0), 0u) << printed;
}

}  // namespace
