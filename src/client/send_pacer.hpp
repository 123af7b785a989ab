#pragma once
// Pacing a client's `send` requests to the rate limit announced in welcome.

#include <chrono>
#include <cstddef>
#include <optional>

namespace chat {

/// The server keeps one token bucket per user (rate_burst tokens, refilled at
/// rate_per_second) and takes a token when it processes an accepted `send`.
/// A client that only mirrors that bucket, taking a token when it sends, is
/// refused whenever its messages reach the server unevenly (a burst delayed,
/// the next ones not): the server's bucket was full during the delay and
/// gained nothing. A refused message is sent again after later ones that were
/// already on their way were accepted, and the messages arrive out of order.
///
/// So the pacer never assumes more tokens than the server must have. It
/// charges a message only when its `ok` arrives (the server took the token
/// earlier, so its bucket has refilled at least as much since), and counts
/// every message still on its way as already charged now (at worst the
/// server processes all of them at once). A message goes only when that
/// estimate holds a token for it, which the server's bucket then does too:
/// as long as no other session of the same user sends, no send is refused,
/// and messages reach the room in the order they were sent.
///
/// Sustained throughput is still rate_per_second and a burst still rate_burst;
/// what one message waits for is at most an answer (one round trip) longer.
/// Not thread-safe.
class SendPacer {
public:
    using Clock = std::chrono::steady_clock;

    /// `ratePerSecond` and `burst` as announced in welcome (>0 and >=1).
    SendPacer(double ratePerSecond, double burst, Clock::time_point now);

    /// If a send may go now, counts it as on its way and returns true.
    bool take(Clock::time_point now);
    /// When take() will next succeed if nothing is answered meanwhile, or
    /// nullopt when only an answer (accepted() or answered()) can make room.
    std::optional<Clock::time_point> nextChance(Clock::time_point now) const;

    /// A send on its way was answered `ok`, or `storage_unavailable` (delivered
    /// but not stored): the server took a token for it.
    void accepted(Clock::time_point now);
    /// A send on its way was answered with an error (rate_limited or any
    /// other but storage_unavailable): the server took no token for it.
    void answered();
    /// Sends on their way whose answers will never come (the connection is gone).
    void forgetInFlight() { inFlight_ = 0; }

    std::size_t inFlight() const { return inFlight_; }

private:
    void refill(Clock::time_point now);

    double rate_;
    double burst_;
    double tokens_;  ///< what the server's bucket holds at least, counting answered sends only
    Clock::time_point last_;
    std::size_t inFlight_ = 0;
};

}  // namespace chat
