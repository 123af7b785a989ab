#pragma once
// How long the interactive client waits before each attempt to reconnect.

#include <chrono>

namespace chat {

/// The wait before reconnection attempt `attempt` (0 is the first): 1 s,
/// doubling each time to at most 30 s, then shortened by up to 20% of
/// itself as `random01` (in [0, 1)) says, so that clients cut off together
/// do not all come back in the same instant. Never more than 30 s.
std::chrono::milliseconds reconnectDelay(unsigned attempt, double random01);

}  // namespace chat
