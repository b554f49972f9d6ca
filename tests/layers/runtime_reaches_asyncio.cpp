// Must not compile: the runtime cannot see the asyncio layer built on it.
#include "weft/gather.hpp"
