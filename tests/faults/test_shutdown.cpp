#include "faults_test_support.hpp"
