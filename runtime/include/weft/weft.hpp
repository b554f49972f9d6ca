// weft: Python asyncio's Coroutines and Tasks for C++. Include this for everything.
#pragma once

#include "weft/async_generator.hpp"
#include "weft/context_var.hpp"
#include "weft/core.hpp"
#include "weft/run.hpp"
#include "weft/runtime.hpp"
#include "weft/sleep.hpp"
#include "weft/task.hpp"
#include "weft/threadsafe.hpp"
#include "weft/to_thread.hpp"
