#pragma once
// What /proc says about a process (the server under test) and what
// getrusage says about this one (the load generator).

#include <cstdint>
#include <sys/types.h>

namespace bench {

struct ProcSample {
    bool ok = false;            ///< false when the process is gone or pid is 0
    double cpuSeconds = 0;      ///< utime + stime
    std::uint64_t rssKiB = 0;   ///< VmRSS
    std::uint64_t hwmKiB = 0;   ///< VmHWM: peak RSS over the process's life
    int threads = 0;
};

/// Reads /proc/PID/stat and /proc/PID/status; ok == false when pid <= 0
/// or either file cannot be read.
ProcSample sampleProcess(pid_t pid);

/// CPU seconds (user + system) this process has used so far.
double selfCpuSeconds();

/// Monotonic clock in nanoseconds.
std::int64_t nowNs();

/// Raises RLIMIT_NOFILE to its hard limit; returns the new soft limit.
std::uint64_t raiseFileLimit();

}  // namespace bench
