#pragma once
// The coordinator: REST setup, connecting, the measured steps of each scenario and their
// reports (one JSON line per step on stdout, a one-line summary per step on stderr).

#include "options.hpp"

namespace parley::loadgen {

/// Runs the scenario named by the options. Returns the process exit code: 0 when every step
/// ran (whatever it measured), 1 when the setup failed. Throws std::invalid_argument for
/// options that make no sense (such as a host outside 127.0.0.0/8).
int run_scenario(const Options& options);

}  // namespace parley::loadgen
