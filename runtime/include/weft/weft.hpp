// weft: Python asyncio's Coroutines and Tasks for C++. Include this for everything.
#pragma once

#include "weft/core.hpp"
