// Must not compile: core/ is the lowest layer and cannot see the runtime's headers.
#include "weft/task.hpp"
