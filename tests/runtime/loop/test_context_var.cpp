// ContextVar: each task runs in a copy of its creator's context taken at creation, so a set()
// is seen by the tasks created after it and by nobody else; reset(token); to_thread carries the
// task's values to the pool thread.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "../runtime_test_support.hpp"

namespace {

using weft_rt_test::deterministic;

TEST(ContextVar, GetReturnsTheDefaultWhenNothingWasSet) {
  weft::ContextVar<std::string> var("var", "default");
  EXPECT_EQ(var.name(), "var");
  weft::run([&] { EXPECT_EQ(var.get(), "default"); }, deterministic());
}

TEST(ContextVar, GetWithoutValueOrDefaultIsALookupError) {
  weft::ContextVar<int> var("no_default");
  weft::run(
      [&] {
        try {
          var.get();
          ADD_FAILURE();
        } catch (const weft::RuntimeError& e) {
          EXPECT_NE(std::string(e.what()).find("LookupError"), std::string::npos) << e.what();
        }
        EXPECT_EQ(var.get(5), 5);
      },
      deterministic());
}

TEST(ContextVar, ATaskSeesItsCreatorsValueAsOfCreation) {
  weft::ContextVar<std::string> var("var", "default");
  weft::run(
      [&] {
        var.set("before");
        auto t = weft::create_task([&] {
          weft::sleep(1.0);  // runs after the creator has changed its value
          return var.get();
        });
        var.set("after");
        EXPECT_EQ(weft::await(t), "before");
        EXPECT_EQ(var.get(), "after");
      },
      deterministic());
}

TEST(ContextVar, ASetInAChildIsInvisibleToItsParentAndSiblings) {
  weft::ContextVar<int> var("var", 0);
  weft::run(
      [&] {
        var.set(1);
        auto child = weft::create_task([&] {
          var.set(2);
          weft::sleep(1.0);
          return var.get();
        });
        auto sibling = weft::create_task([&] {
          weft::sleep(2.0);  // after the child's set()
          return var.get();
        });
        weft::sleep(0.5);
        EXPECT_EQ(var.get(), 1);
        EXPECT_EQ(weft::await(child), 2);
        EXPECT_EQ(weft::await(sibling), 1);
        EXPECT_EQ(var.get(), 1);
      },
      deterministic());
}

TEST(ContextVar, AGrandchildInheritsFromItsParentTask) {
  weft::ContextVar<std::string> var("var", "root");
  weft::run(
      [&] {
        auto parent = weft::create_task([&] {
          var.set("parent");
          auto grandchild = weft::create_task([&] { return var.get(); });
          return weft::await(grandchild);
        });
        EXPECT_EQ(weft::await(parent), "parent");
        EXPECT_EQ(var.get(), "root");
      },
      deterministic());
}

TEST(ContextVar, AnInlineAwaitedCoroutineSharesTheTasksContext) {
  // `await coro()` runs in the awaiting task's context: its set() is visible afterwards.
  weft::ContextVar<int> var("var", 0);
  weft::run(
      [&] {
        weft::await(weft::coro([&] { var.set(42); }));
        EXPECT_EQ(var.get(), 42);
      },
      deterministic());
}

TEST(ContextVar, ResetRestoresTheValueBeforeTheSet) {
  weft::ContextVar<int> var("var", 0);
  weft::run(
      [&] {
        auto first = var.set(1);
        auto second = var.set(2);
        EXPECT_EQ(var.get(), 2);
        var.reset(second);
        EXPECT_EQ(var.get(), 1);
        var.reset(first);
        EXPECT_EQ(var.get(), 0);  // back to "no value": the default shows
        EXPECT_EQ(var.get(-1), -1);
      },
      deterministic());
}

TEST(ContextVar, ATokenIsUsableOnceAndOnlyWithItsVariable) {
  weft::ContextVar<int> a("a", 0);
  weft::ContextVar<int> b("b", 0);
  weft::run(
      [&] {
        auto token = a.set(1);
        EXPECT_EQ(token.var(), &a);
        EXPECT_THROW(b.reset(token), weft::ValueError);
        a.reset(token);
        try {
          a.reset(token);
          ADD_FAILURE();
        } catch (const weft::RuntimeError& e) {
          EXPECT_NE(std::string(e.what()).find("has already been used once"), std::string::npos)
              << e.what();
        }
      },
      deterministic());
}

TEST(ContextVar, AValueSetBeforeRunIsSeenByMainButMainsSetsStayInside) {
  weft::ContextVar<std::string> var("var", "default");
  auto token = var.set("outside");
  std::string seen = weft::run(
      [&] {
        std::string v = var.get();
        var.set("inside");
        return v;
      },
      deterministic());
  EXPECT_EQ(seen, "outside");
  EXPECT_EQ(var.get(), "outside");
  var.reset(token);
  EXPECT_EQ(var.get(), "default");
}

TEST(ContextVar, ToThreadSeesTheTasksValues) {
  weft::ContextVar<std::string> var("var", "default");
  weft::run(
      [&] {
        var.set("task value");
        auto seen = weft::to_thread([&] { return var.get(); });
        EXPECT_EQ(seen, "task value");
        // The pool thread's own context is not the task's after the job.
        auto later = weft::create_task([&] {
          var.set("other task");
          return weft::to_thread([&] { return var.get(); });
        });
        EXPECT_EQ(weft::await(later), "other task");
        EXPECT_EQ(var.get(), "task value");
      },
      weft::RunOptions{.workers = 2});
}

TEST(ContextVar, ASetInsideToThreadDoesNotLeakIntoTheTask) {
  weft::ContextVar<int> var("var", 0);
  weft::run(
      [&] {
        var.set(1);
        int inside = weft::to_thread([&] {
          var.set(2);
          return var.get();
        });
        EXPECT_EQ(inside, 2);
        EXPECT_EQ(var.get(), 1);
      },
      weft::RunOptions{.workers = 1});
}

TEST(ContextVar, EachTaskKeepsItsOwnValueAcrossWorkers) {
  weft::ContextVar<int> var("var", -1);
  std::atomic<int> wrong{0};
  weft::run(
      [&] {
        std::vector<weft::Task<void>> tasks;
        for (int i = 0; i < 200; ++i) {
          tasks.push_back(weft::create_task([&, i] {
            var.set(i);
            for (int k = 0; k < 20; ++k) {
              weft::sleep(0.0);  // may resume on another worker
              if (var.get() != i) ++wrong;
            }
          }));
        }
        for (auto& t : tasks) weft::await(t);
      },
      weft::RunOptions{.workers = 4});
  EXPECT_EQ(wrong.load(), 0);
}

// ---- Ported from CPython's Lib/test/test_context.py (the token tests) ----

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(ContextVar, test_context_var_repr_1) {
  weft::ContextVar<int> a("a");
  EXPECT_TRUE(has(a.repr(), "name='a'")) << a.repr();
  weft::ContextVar<int> c("a", 123);
  EXPECT_TRUE(has(c.repr(), "123")) << c.repr();
  EXPECT_TRUE(has(c.repr(), "<ContextVar name='a' default=123 at 0x")) << c.repr();
  weft::run(
      [&] {
        auto t = c.set(1);
        EXPECT_TRUE(has(t.repr(), c.repr())) << t.repr();
        EXPECT_FALSE(has(t.repr(), " used ")) << t.repr();
        c.reset(t);
        EXPECT_TRUE(has(t.repr(), " used ")) << t.repr();
      },
      deterministic());
}

TEST(ContextVar, test_context_getset_1) {
  weft::ContextVar<std::string> c("c");
  weft::run(
      [&] {
        EXPECT_THROW(c.get(), weft::RuntimeError);  // LookupError
        EXPECT_EQ(c.get("none"), "none");
        auto t0 = c.set("42");
        EXPECT_EQ(c.get(), "42");
        EXPECT_EQ(t0.var(), &c);
        auto t = c.set("spam");
        EXPECT_EQ(c.get(), "spam");
        c.reset(t);
        EXPECT_EQ(c.get(), "42");
        c.set("spam2");
        try {
          c.reset(t);
          ADD_FAILURE() << "a used token was accepted";
        } catch (const weft::RuntimeError& e) {
          EXPECT_TRUE(has(e.what(), "has already been used")) << e.what();
          EXPECT_TRUE(has(e.what(), "<Token used var=<ContextVar name='c' at 0x")) << e.what();
        }
        EXPECT_EQ(c.get(), "spam2");
        c.reset(t0);
        EXPECT_THROW(c.reset(t0), weft::RuntimeError);
        EXPECT_EQ(c.get("none"), "none");
      },
      deterministic());
}

TEST(ContextVar, test_context_getset_2) {
  weft::ContextVar<int> v1("v1");
  weft::ContextVar<int> v2("v2");
  weft::run(
      [&] {
        auto t1 = v1.set(42);
        try {
          v2.reset(t1);
          ADD_FAILURE() << "a token of another variable was accepted";
        } catch (const weft::ValueError& e) {
          EXPECT_TRUE(has(e.what(), "by a different")) << e.what();
          EXPECT_TRUE(has(e.what(), "<Token var=<ContextVar name='v1' at 0x")) << e.what();
        }
        EXPECT_EQ(v2.get(-1), -1);
        EXPECT_EQ(v1.get(), 42);  // the refused reset changed nothing
      },
      deterministic());
}

// CPython: a token made by ctx.run(c.set, 1) in another Context. Here: one made in another task.
TEST(ContextVar, test_context_getset_4) {
  weft::ContextVar<int> c("c", 42);
  weft::run(
      [&] {
        auto tok = weft::await(weft::create_task([&] { return c.set(1); }));
        try {
          c.reset(tok);
          ADD_FAILURE() << "a token of another task's context was accepted";
        } catch (const weft::ValueError& e) {
          EXPECT_TRUE(has(e.what(), "different Context")) << e.what();
        }
        EXPECT_EQ(c.get(), 42);
      },
      deterministic());
}

// A to_thread job runs in a copy of the task's context (copy_context().run): a Context of its
// own, where the task's tokens are refused and its own work.
TEST(ContextVar, ATokenIsRefusedAcrossTheToThreadBoundaryBothWays) {
  weft::ContextVar<int> c("c", 0);
  weft::run(
      [&] {
        auto in_task = c.set(1);
        bool refused_in_job = weft::to_thread([&] {
          try {
            c.reset(in_task);
            return false;
          } catch (const weft::ValueError&) {
          }
          auto own = c.set(2);
          c.reset(own);  // its own token works there
          return c.get() == 1;
        });
        EXPECT_TRUE(refused_in_job);
        auto in_job = weft::to_thread([&] { return c.set(3); });
        EXPECT_THROW(c.reset(in_job), weft::ValueError);
        EXPECT_EQ(c.get(), 1);
        c.reset(in_task);
        EXPECT_EQ(c.get(), 0);
      },
      weft::RunOptions{.workers = 1});
}

}  // namespace
