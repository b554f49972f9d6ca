// Everything in weft's core: coroutines, generators, futures, errors and inspection.
#pragma once

#include "weft/coroutine.hpp"
#include "weft/errors.hpp"
#include "weft/future.hpp"
#include "weft/generator.hpp"
#include "weft/locals.hpp"
#include "weft/stack.hpp"
#include "weft/states.hpp"
#include "weft/warnings.hpp"
